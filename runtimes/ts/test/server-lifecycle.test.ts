import { after, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Server,
  createServer,
  decodeFrame,
  encodeFrame,
  parseConfig,
  createRoutesFileResolver,
  getRoute,
  parseListen,
  serverOptionsFromConfig,
  setRoutesFileResolver,
  startServer,
  callMethodRaw,
  setDefaultCaller,
} from "@msec-gen/runtime";
import { ECHO_METHOD, echoMethods } from "../../../examples/echo/echo-service.js";
import { type FrameVector, hex, loadVector } from "./vectors.js";
import { delay, dial, memoryLogger, readBytes, readFrames, readUntilClosed, udpCall } from "./net-helpers.js";

const v1 = loadVector<FrameVector>("v1-python-client-request.json");
const repo = fileURLToPath(new URL("../../../", import.meta.url));

async function echoServer(options: Parameters<typeof createServer>[0] = {}): Promise<Server> {
  const server = createServer({ port: 0, host: "127.0.0.1", logger: memoryLogger().logger, ...options });
  for (const m of echoMethods()) server.register(m);
  await server.listen();
  return server;
}

async function metricsOf(port: number): Promise<string> {
  const s = await dial(port);
  s.write("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  return (await readUntilClosed(s)).toString("utf8");
}

describe("UDP on the same port number", () => {
  let server: Server;
  after(() => server.close({ drainTimeoutMs: 100 }));

  test("answers V1 in one datagram, byte-identical, and drops malformed datagrams (counted)", async () => {
    server = await echoServer();
    const answer = await udpCall(server.port, hex(v1.frame_hex!));
    assert.equal(answer?.toString("hex"), v1.echo_response_hex);
    for (const bad of [Buffer.from("hello"), hex(v1.frame_hex!).subarray(0, 50), Buffer.concat([hex(v1.frame_hex!), Buffer.from([0])])]) {
      assert.equal(await udpCall(server.port, bad, 300), undefined);
    }
    assert.match(await metricsOf(server.port), /^msec_server_malformed_total\{transport="udp"\} 3$/m);
    assert.match(await metricsOf(server.port), /^msec_server_requests_total\{method="echo\.EchoService\.Echo",transport="udp",code="0"\} 1$/m);
  });
});

describe("connection limits", () => {
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await s.close({ drainTimeoutMs: 100 });
  });

  test("connections beyond maxConnections are closed at once; the others keep working", async () => {
    const server = await echoServer({ maxConnections: 2, udp: false });
    servers.push(server);
    const a = await dial(server.port);
    const b = await dial(server.port);
    const c = await dial(server.port);
    const cClosed = await readUntilClosed(c);
    assert.equal(cClosed.length, 0);
    for (const s of [a, b]) {
      s.write(hex(v1.frame_hex!));
      assert.equal((await readFrames(s, 1))[0]!.toString("hex"), v1.echo_response_hex);
    }
    a.destroy();
    await delay(50);
    const d = await dial(server.port);
    d.write(hex(v1.frame_hex!));
    assert.equal((await readFrames(d, 1))[0]!.toString("hex"), v1.echo_response_hex, "a freed slot is usable again");
    b.destroy();
    d.destroy();
    await delay(50);
    assert.match(await metricsOf(server.port), /^msec_server_rejected_connections_total\{reason="max_connections"\} 1$/m);
  });

  test("a connection idle for idleTimeoutMs is closed; an active one is not", async () => {
    const server = await echoServer({ idleTimeoutMs: 200, udp: false });
    servers.push(server);
    const idle = await dial(server.port);
    const active = await dial(server.port);
    const idleClosed = readUntilClosed(idle, 3000);
    let activeClosed = false;
    active.on("close", () => (activeClosed = true));
    for (let i = 0; i < 6; i++) {
      active.write(hex(v1.frame_hex!));
      await readFrames(active, 1);
      await delay(80);
    }
    await idleClosed;
    assert.equal(activeClosed, false);
    active.destroy();
  });
});

describe("graceful drain", () => {
  test("close() lets an in-flight slow call finish, refuses new connections, then resolves", async () => {
    const server = createServer({ port: 0, host: "127.0.0.1", logger: memoryLogger().logger });
    server.register({
      name: "test.Svc.Slow",
      async invoke(body) {
        await delay(300);
        return { format: "binary", bytes: body.format === "binary" ? body.bytes : new Uint8Array() };
      },
    });
    const { port } = await server.listen();
    const s = await dial(port);
    s.write(encodeFrame({ sequence: 42n, methodName: "test.Svc.Slow", flowId: 1n }, Buffer.from("0a0178", "hex")));
    const answer = readFrames(s, 1, 5000);
    const closedAfter = readUntilClosed(s, 5000);
    await delay(50);
    let closeDone = false;
    const closing = server.close({ drainTimeoutMs: 5000 }).then(() => (closeDone = true));
    await delay(20);
    await assert.rejects(dial(port), /ECONNREFUSED/);
    const [frame] = await answer;
    const { head, body } = decodeFrame(frame!);
    assert.equal(head.sequence, 42n);
    assert.equal(head.err, undefined);
    assert.equal(Buffer.from(body).toString("hex"), "0a0178");
    await closedAfter;
    await closing;
    assert.equal(closeDone, true);
  });

  test("a call still running when drainTimeoutMs passes is aborted and close() resolves", async () => {
    const server = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: memoryLogger().logger });
    let aborted = false;
    server.register({
      name: "test.Svc.Hang",
      invoke(_body, ctx) {
        return new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("aborted"));
          });
        });
      },
    });
    const { port } = await server.listen();
    const s = await dial(port);
    s.write(encodeFrame({ sequence: 1n, methodName: "test.Svc.Hang" }, new Uint8Array()));
    await delay(50);
    const closed = readUntilClosed(s);
    await server.close({ drainTimeoutMs: 100 });
    await closed;
    assert.equal(aborted, true);
  });
});

describe("config and the echo server process", () => {
  test("[SRPC] listen and limit keys become server options", () => {
    assert.deepEqual(parseListen(undefined), { host: "0.0.0.0", port: 7963, udp: true });
    assert.deepEqual(parseListen("7963/udp 7963/tcp"), { host: "0.0.0.0", port: 7963, udp: true });
    assert.deepEqual(parseListen("127.0.0.1:8000/tcp"), { host: "127.0.0.1", port: 8000, udp: false });
    assert.deepEqual(parseListen("all:8001/tcp"), { host: "0.0.0.0", port: 8001, udp: false });
    assert.deepEqual(parseListen("lo:8002/tcp lo:8002/udp"), { host: "127.0.0.1", port: 8002, udp: true });
    assert.throws(() => parseListen("7963/sctp"), /bad entry/);
    assert.throws(() => parseListen("7963/tcp 7964/udp"), /share one address and port/);
    const options = serverOptionsFromConfig(
      parseConfig(
        "[SRPC]\nlisten=127.0.0.1:9000/tcp\nmax_connections=5\nidle_timeout_ms=0\ndrain_timeout_ms=250\ncanonical_json=1\n" +
          "request_timeout_ms=2500\nmax_pending_output_bytes=65536\nmax_udp_in_flight=8\n",
      ),
    );
    assert.deepEqual(options, {
      host: "127.0.0.1",
      port: 9000,
      udp: false,
      maxConnections: 5,
      idleTimeoutMs: 0,
      drainTimeoutMs: 250,
      canonicalJson: true,
      requestTimeoutMs: 2500,
      maxPendingOutputBytes: 65536,
      maxUdpInFlight: 8,
    });
  });

  test("startServer applies the config: listen address, log level, and the routes file named by [ROUTE] File", async () => {
    const dir = mkdtempSync(join(tmpdir(), "start-"));
    writeFileSync(join(dir, "routes.conf"), "Test.Routed 127.0.0.1:1234@udp\n");
    writeFileSync(
      join(dir, "config.ini"),
      `[SRPC]\nlisten=127.0.0.1:0/tcp\nmax_connections=7\n[LOG]\nLevel=FATAL\n[ROUTE]\nFile=${join(dir, "routes.conf")}\n`,
    );
    const saved = process.env.MSEC_ROUTES;
    delete process.env.MSEC_ROUTES;
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    // Capture only our line: the test runner reports through stdout too.
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
      typeof chunk === "string" && chunk.includes(`"msg":"listening on `)
        ? (printed.push(chunk), true)
        : write(chunk, ...rest)) as typeof process.stdout.write;
    let server: Server | undefined;
    try {
      server = await startServer({
        configPath: join(dir, "config.ini"),
        register: (s) => echoMethods().forEach((m) => s.register(m)),
      });
    } finally {
      process.stdout.write = write;
      if (saved !== undefined) process.env.MSEC_ROUTES = saved;
    }
    try {
      // One JSON line in the logger's shape: its fixed keys first, then host, port and transports.
      assert.equal(printed.length, 1);
      assert.ok(printed[0]!.endsWith("}\n"));
      const line = JSON.parse(printed[0]!) as Record<string, unknown>;
      assert.deepEqual(Object.keys(line), ["time", "level", "flowId", "method", "caller", "msg", "host", "port", "transports"]);
      assert.match(line["time"] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual({ ...line, time: "" }, {
        time: "",
        level: "INFO",
        flowId: "",
        method: "",
        caller: "",
        msg: `listening on 127.0.0.1:${server.port} (tcp)`,
        host: "127.0.0.1",
        port: server.port,
        transports: "tcp",
      });
      assert.deepEqual(await getRoute("Test.Routed"), { ip: "127.0.0.1", port: 1234, type: "udp" });
      const s = await dial(server.port);
      s.write(hex(v1.frame_hex!));
      assert.equal((await readFrames(s, 1))[0]!.toString("hex"), v1.echo_response_hex);
      s.destroy();
      assert.equal(await udpCall(server.port, hex(v1.frame_hex!), 300), undefined, "no /udp entry: UDP is off");
    } finally {
      process.removeAllListeners("SIGTERM");
      process.removeAllListeners("SIGINT");
      setRoutesFileResolver(createRoutesFileResolver());
      await server.close({ drainTimeoutMs: 100 });
    }
  });

  test("startServer makes the service name the caller of outgoing calls made by its handlers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "start-caller-"));
    writeFileSync(join(dir, "config.ini"), "[SRPC]\nlisten=127.0.0.1:0/tcp\n[LOG]\nLevel=FATAL\n");
    // The downstream service answers with the caller name it saw.
    const downstream = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: memoryLogger().logger });
    downstream.register({
      name: "test.Downstream.WhoCalls",
      invoke: (_body, ctx) => ({ format: "binary", bytes: new TextEncoder().encode(ctx.caller) }),
    });
    await downstream.listen();
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
      typeof chunk === "string" && chunk.includes(`"msg":"listening on `) ? true : write(chunk, ...rest)) as typeof process.stdout.write;
    let server: Server | undefined;
    try {
      server = await startServer({
        configPath: join(dir, "config.ini"),
        serviceName: "VOA.Upstream",
        register: (s) =>
          s.register({
            name: "test.Upstream.Forward",
            invoke: async () => ({
              format: "binary",
              bytes: await callMethodRaw(`127.0.0.1:${downstream.port}`, "test.Downstream.WhoCalls", new Uint8Array(0)),
            }),
          }),
      });
    } finally {
      process.stdout.write = write;
    }
    try {
      const reply = await callMethodRaw(`127.0.0.1:${server.port}`, "test.Upstream.Forward", new Uint8Array(0), { caller: "test.client" });
      assert.equal(new TextDecoder().decode(reply), "VOA.Upstream");
    } finally {
      process.removeAllListeners("SIGTERM");
      process.removeAllListeners("SIGINT");
      setDefaultCaller(undefined);
      setRoutesFileResolver(createRoutesFileResolver());
      await server.close({ drainTimeoutMs: 100 });
      await downstream.close({ drainTimeoutMs: 100 });
    }
  });

  let child: ChildProcess | undefined;
  after(() => {
    child?.kill("SIGKILL");
  });

  for (const lang of ["ts", "python"] as const) {
    test(`npm run echo-server -- --lang ${lang} starts on the given port, answers V1 byte-identical (TCP, UDP) and JSON, drains on SIGTERM`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "echo-"));
      writeFileSync(join(dir, "config.ini"), "[SRPC]\nlisten=127.0.0.1:7963/tcp 127.0.0.1:7963/udp\n[LOG]\nLevel=ERROR\n");
      child = spawn(
        process.execPath,
        ["--import", "tsx", "examples/echo/echo-server.ts", "--lang", lang, "--port", "0", "--config", join(dir, "config.ini")],
        { cwd: repo, stdio: ["ignore", "pipe", "pipe"] },
      );
      const proc = child;
      let stderr = "";
      proc.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        proc.stdout!.on("data", (c: Buffer) => {
          out += c.toString();
          if (out.includes("\n")) resolve(out);
        });
        proc.once("exit", (code) => reject(new Error(`echo server exited with ${code}: ${stderr}`)));
      });
      // The startup line is a JSON log line in both runtimes.
      const started = JSON.parse(line.split("\n", 1)[0]!) as Record<string, unknown>;
      assert.equal(started["level"], "INFO");
      assert.equal(started["host"], "127.0.0.1");
      assert.equal(started["transports"], "tcp+udp");
      const port = started["port"] as number;
      assert.equal(started["msg"], `listening on 127.0.0.1:${port} (tcp+udp)`);
      const s = await dial(port);
      s.write(hex(v1.frame_hex!));
      assert.equal((await readFrames(s, 1))[0]!.toString("hex"), v1.echo_response_hex);
      assert.equal((await udpCall(port, hex(v1.frame_hex!)))?.toString("hex"), v1.echo_response_hex);
      const json = `{"message":"aGVsbG8="}`;
      const h = await dial(port);
      h.write(`POST /?methodName=${ECHO_METHOD} HTTP/1.1\r\nContent-Length: ${json.length}\r\n\r\n${json}`);
      const expected =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Encoding: UTF-8\r\n" +
        'Content-Length: 60\r\n\r\n{"ret":0, "errmsg":"", "resultObj": {"message": "aGVsbG8="}}';
      assert.equal((await readBytes(h, expected.length)).toString(), expected);
      s.destroy();
      h.destroy();
      const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
      proc.kill("SIGTERM");
      assert.equal(await exit, 0);
      child = undefined;
    });
  }

  test("an unknown --lang is refused with a clear message", async () => {
    const proc = spawn(process.execPath, ["--import", "tsx", "examples/echo/echo-server.ts", "--lang", "cobol"], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    proc.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve));
    assert.equal(code, 2);
    assert.match(err, /--lang cobol: not available/);
  });
});
