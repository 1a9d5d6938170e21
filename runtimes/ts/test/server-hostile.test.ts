/**
 * Hostile peers against the server, over real sockets (issue 11): 1-byte
 * segments, slow drip, garbage first bytes, garbage after a valid request,
 * half-close, UDP floods, label floods and peers that never read. Each test
 * also checks that a normal client is served.
 */
import { after, before, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import type { Socket } from "node:net";
import { createSocket } from "node:dgram";
import { type MethodDefinition, type Server, createServer, decodeFrame, encodeFrame } from "@msec-gen/runtime";
import { ECHO_METHOD, echoMethods } from "../../../examples/echo/echo-service.js";
import { memoryInUse } from "./memory.js";
import { type FrameVector, hex, loadVector } from "./vectors.js";
import { delay, dial, memoryLogger, readBytes, readFrames, readUntilClosed } from "./net-helpers.js";

const v1 = loadVector<FrameVector>("v1-python-client-request.json");
const v1Frame = hex(v1.frame_hex!);


/** A method that waits `ms` before echoing: an async handler. */
function slowEcho(ms: number): MethodDefinition {
  return {
    name: "test.Svc.Slow",
    async invoke(body) {
      await delay(ms);
      return body.format === "binary" ? { format: "binary", bytes: body.bytes } : { format: "json", json: {} };
    },
  };
}

async function startServer(options: Parameters<typeof createServer>[0] = {}, methods: MethodDefinition[] = []) {
  const log = memoryLogger();
  const server = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: log.logger, ...options });
  for (const m of [...echoMethods(), ...methods]) server.register(m);
  await server.listen();
  return { server, lines: log.lines };
}

async function metricsOf(port: number): Promise<string> {
  const s = await dial(port);
  s.write("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  return (await readUntilClosed(s)).toString("utf8");
}

async function assertServed(port: number): Promise<void> {
  const s = await dial(port);
  s.write(v1Frame);
  const [answer] = await readFrames(s, 1, 10_000);
  assert.equal(answer!.toString("hex"), v1.echo_response_hex, "a normal client is served");
  s.destroy();
}

function isClosed(s: Socket): boolean {
  return s.destroyed || s.readableEnded;
}

describe("memory under 1-byte TCP segments", () => {
  // 256 KiB in all, one byte per segment: about 3 s of system calls on a loaded machine. At
  // 1 MiB (BYTES_EACH = 16 KiB) the growth measured 0.9 MiB (SRPC) and 1.2 MiB (HTTP).
  const CONNECTIONS = 64;
  const BYTES_EACH = 4 * 1024;

  /**
   * Sends `BYTES_EACH` bytes of `prefix` + filler on each of `CONNECTIONS`
   * connections, one byte per write per connection and one event-loop turn
   * per round, so the server reads one 1-byte segment at a time. Returns the
   * growth of the process's memory with the requests still incomplete.
   */
  async function growthUnderDrip(port: number, prefix: Buffer): Promise<{ growth: number; sockets: Socket[] }> {
    const sockets: Socket[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const s = await dial(port);
      s.setNoDelay(true);
      s.on("error", () => {});
      sockets.push(s);
    }
    const payload = Buffer.alloc(BYTES_EACH, 0x61);
    prefix.copy(payload);
    const baseline = memoryInUse();
    for (let at = 0; at < BYTES_EACH; at++) {
      for (const s of sockets) s.write(payload.subarray(at, at + 1));
      await new Promise(setImmediate);
    }
    await delay(200);
    const growth = memoryInUse() - baseline;
    for (const s of sockets) assert.equal(isClosed(s), false, "the incomplete request is still being received");
    return { growth, sockets };
  }

  test("an incomplete SRPC frame received in 1-byte segments costs memory proportional to the bytes (256 KiB → under 4 MiB)", async () => {
    const { server } = await startServer({ requestTimeoutMs: 0 });
    try {
      // Head of 16 bytes, body announced as 1 MiB: the frame never completes.
      const header = Buffer.from([0x28, 0, 0, 0, 16, 0, 0x10, 0, 0]);
      const { growth, sockets } = await growthUnderDrip(server.port, header);
      console.log(`SRPC: ${(growth / 1048576).toFixed(1)} MiB for ${(CONNECTIONS * BYTES_EACH) / 1024} KiB in 1-byte segments over ${CONNECTIONS} connections`);
      assert.ok(growth < 4 * 1048576, `grew ${growth} bytes for 256 KiB received`);
      await assertServed(server.port);
      for (const s of sockets) s.destroy();
    } finally {
      await server.close({ drainTimeoutMs: 100 });
    }
  });

  test("an incomplete HTTP body received in 1-byte segments costs memory proportional to the bytes (256 KiB → under 4 MiB)", async () => {
    const { server } = await startServer({ requestTimeoutMs: 0 });
    try {
      const head = Buffer.from(`POST /?methodName=${ECHO_METHOD} HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n`);
      const { growth, sockets } = await growthUnderDrip(server.port, head);
      console.log(`HTTP: ${(growth / 1048576).toFixed(1)} MiB for ${(CONNECTIONS * BYTES_EACH) / 1024} KiB in 1-byte segments over ${CONNECTIONS} connections`);
      assert.ok(growth < 4 * 1048576, `grew ${growth} bytes for 256 KiB received`);
      await assertServed(server.port);
      for (const s of sockets) s.destroy();
    } finally {
      await server.close({ drainTimeoutMs: 100 });
    }
  });
});

describe("request deadline (requestTimeoutMs)", () => {
  let server: Server;
  before(async () => {
    ({ server } = await startServer({ requestTimeoutMs: 600, idleTimeoutMs: 60_000 }));
  });
  after(() => server.close({ drainTimeoutMs: 100 }));

  /** Drips `bytes` one every `everyMs` until the socket closes; resolves with ms until closed (or Infinity). */
  async function drip(bytes: Buffer, everyMs: number, giveUpMs: number): Promise<number> {
    const s = await dial(server.port);
    s.on("error", () => {});
    const started = performance.now();
    let closedAt = Infinity;
    s.on("close", () => (closedAt = performance.now() - started));
    for (let i = 0; i < bytes.length && performance.now() - started < giveUpMs && closedAt === Infinity; i++) {
      s.write(bytes.subarray(i, i + 1));
      await delay(everyMs);
    }
    const wait = Math.max(0, giveUpMs - (performance.now() - started));
    if (closedAt === Infinity) await Promise.race([new Promise((r) => s.once("close", r)), delay(wait)]);
    s.destroy();
    return closedAt;
  }

  test("an SRPC frame dripped a byte every 100 ms is cut at the deadline; a normal client is served meanwhile", async () => {
    const dripping = drip(v1Frame, 100, 6000);
    await delay(100);
    await assertServed(server.port);
    const closedAfter = await dripping;
    assert.ok(closedAfter >= 500 && closedAfter < 5000, `closed after ${closedAfter} ms (deadline 600 ms, frame needs 7.7 s)`);
    assert.match(await metricsOf(server.port), /^msec_server_timeouts_total\{transport="tcp"\} 1$/m);
  });

  test("an HTTP head dripped a byte every 100 ms is cut at the deadline", async () => {
    const closedAfter = await drip(Buffer.from("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), 100, 6000);
    assert.ok(closedAfter >= 500 && closedAfter < 5000, `closed after ${closedAfter} ms`);
    assert.match(await metricsOf(server.port), /^msec_server_timeouts_total\{transport="http"\} 1$/m);
  });

  test("the deadline runs from a request's first byte: idle time before it and earlier requests do not count", async () => {
    const s = await dial(server.port);
    await delay(900); // longer than the deadline, before any byte
    for (let i = 0; i < 4; i++) {
      // Each frame in two halves 200 ms apart: 4 frames span 800 ms > 600 ms, each well within it.
      s.write(v1Frame.subarray(0, 40));
      await delay(200);
      s.write(v1Frame.subarray(40));
      const [answer] = await readFrames(s, 1);
      assert.equal(answer!.toString("hex"), v1.echo_response_hex);
    }
    assert.equal(isClosed(s), false);
    s.destroy();
  });
});

describe("first byte, garbage after a request, half-close", () => {
  let server: Server;
  before(async () => {
    ({ server } = await startServer({}, [slowEcho(50)]));
  });
  after(() => server.close({ drainTimeoutMs: 100 }));

  for (const [name, bytes] of [
    ["a NUL byte", Buffer.from([0, 1, 2, 3])],
    ["a lower-case method", Buffer.from("get /health HTTP/1.1\r\n")],
    ["a TLS ClientHello", hex("16030100a5010000a10303")],
    ["a space", Buffer.from(" GET /health")],
  ] as const) {
    test(`a first byte that is neither '(' nor A–Z (${name}) closes the connection at once, unanswered`, async () => {
      const s = await dial(server.port);
      const closed = readUntilClosed(s, 2000);
      s.write(bytes);
      assert.equal((await closed).length, 0);
    });
  }

  test("a valid SRPC frame followed by garbage in the same segment is answered, then the connection closed", async () => {
    const s = await dial(server.port);
    const received = readUntilClosed(s, 3000);
    s.write(Buffer.concat([v1Frame, Buffer.from("garbage that is not srpc")]));
    assert.equal((await received).toString("hex"), v1.echo_response_hex);
  });

  test("an async call before the garbage is answered too, and pipelined frames before it all are", async () => {
    const s = await dial(server.port);
    const received = readUntilClosed(s, 3000);
    const slow = encodeFrame({ sequence: 7n, methodName: "test.Svc.Slow", flowId: 1n }, Buffer.from("x"));
    s.write(Buffer.concat([slow, v1Frame, Buffer.from([0x00, 0xff])]));
    const bytes = await received;
    const frames = [];
    for (let at = 0; at < bytes.length; ) {
      const len = 10 + bytes.readInt32BE(at + 1) + bytes.readInt32BE(at + 5);
      frames.push(decodeFrame(bytes.subarray(at, at + len)));
      at += len;
    }
    assert.deepEqual(frames.map((f) => f.head.sequence).sort(), [7n, decodeFrame(v1Frame).head.sequence].sort());
  });

  test("a valid HTTP request followed by garbage in the same segment is answered, then 400 and close", async () => {
    const s = await dial(server.port);
    const received = readUntilClosed(s, 3000);
    s.write("GET /health HTTP/1.1\r\n\r\n\x00\x01garbage\r\n\r\n");
    const text = (await received).toString("latin1");
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok\nHTTP\/1\.1 400 Bad Request\r\n/);
  });

  test("SRPC half-close: a request then FIN still gets the async answer, then the connection closes", async () => {
    const s = await dial(server.port);
    const received = readUntilClosed(s, 3000);
    s.end(encodeFrame({ sequence: 11n, methodName: "test.Svc.Slow", flowId: 1n }, Buffer.from("half")));
    const answer = decodeFrame(await received);
    assert.equal(answer.head.sequence, 11n);
    assert.equal(Buffer.from(answer.body).toString(), "half");
  });

  test("HTTP half-close: a request then FIN still gets the async answer, then the connection closes", async () => {
    const s = await dial(server.port);
    const received = readUntilClosed(s, 3000);
    s.end("POST /?methodName=test.Svc.Slow HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
    assert.match((await received).toString(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n\{"ret":0, "errmsg":"", "resultObj": \{\}\}$/);
  });

  test("half-close with nothing pending closes the connection", async () => {
    const s = await dial(server.port);
    const received = readUntilClosed(s, 3000);
    s.end();
    assert.equal((await received).length, 0);
  });
});

describe("UDP in-flight cap (maxUdpInFlight)", () => {
  test("datagrams beyond maxUdpInFlight running calls are dropped and counted; the running ones are answered", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    const held: MethodDefinition = {
      name: "test.Svc.Held",
      async invoke(body) {
        started++;
        await gate;
        return { format: "binary", bytes: body.format === "binary" ? body.bytes : new Uint8Array() };
      },
    };
    const { server } = await startServer({ udp: true, maxUdpInFlight: 4 }, [held]);
    const client = createSocket("udp4");
    const answers: Buffer[] = [];
    client.on("message", (m) => answers.push(m));
    try {
      for (let i = 0; i < 20; i++) {
        client.send(encodeFrame({ sequence: BigInt(i), methodName: "test.Svc.Held", flowId: 1n }, Buffer.from([i])), server.port, "127.0.0.1");
      }
      for (let i = 0; i < 100 && !/dropped_total\{transport="udp",reason="overload"\} 16$/m.test(await metricsOf(server.port)); i++) {
        await delay(50);
      }
      assert.equal(started, 4);
      release();
      for (let i = 0; i < 100 && answers.length < 4; i++) await delay(20);
      await delay(100);
      assert.equal(answers.length, 4);
      assert.match(await metricsOf(server.port), /^msec_server_dropped_total\{transport="udp",reason="overload"\} 16$/m);
    } finally {
      release();
      client.close();
      await server.close({ drainTimeoutMs: 100 });
    }
  });
});

describe("metrics cardinality", () => {
  test("20,000 distinct unknown method names and callers keep /metrics under 1 MiB", async () => {
    const { server } = await startServer();
    try {
      const s = await dial(server.port);
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 20_000; i++) {
        frames.push(encodeFrame({ sequence: BigInt(i), methodName: `attack.Svc.M${i}`, caller: `caller${i}`, flowId: 1n }, new Uint8Array(0)));
      }
      s.write(Buffer.concat(frames));
      await readFrames(s, 20_000, 30_000);
      const h = await dial(server.port);
      const requests: string[] = [];
      for (let i = 0; i < 2000; i++) requests.push(`POST /?methodName=attack.Http.M${i} HTTP/1.1\r\ncaller: c${i}\r\nContent-Length: 0\r\n\r\n`);
      h.write(requests.join(""));
      await readBytes(h, 1, 10_000);
      await delay(200);
      const text = await metricsOf(server.port);
      assert.ok(text.length <= 1024 * 1024, `/metrics is ${text.length} bytes`);
      assert.doesNotMatch(text, /attack\./);
      assert.match(text, /^msec_server_requests_total\{method="\(unknown\)",transport="tcp",code="-6"\} 20000$/m);
      s.destroy();
      h.destroy();
    } finally {
      await server.close({ drainTimeoutMs: 100 });
    }
  });
});

describe("output back-pressure (maxPendingOutputBytes)", () => {
  test("a pipelining client that never reads stops being read; every answer comes once it reads", async () => {
    const { server } = await startServer({ maxPendingOutputBytes: 256 * 1024 });
    const s = await dial(server.port);
    try {
      s.pause();
      const body = Buffer.alloc(64 * 1024, 0x62);
      const count = 1000; // 64 MiB of answers: more than every kernel buffer on the way holds
      const echoed = (i: number) => encodeFrame({ sequence: BigInt(i), methodName: ECHO_METHOD, flowId: 1n }, Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x04]), body]));
      for (let i = 0; i < count; i++) s.write(echoed(i));
      const answered = async () => Number(/^msec_server_requests_total\{method="echo\.EchoService\.Echo",transport="tcp",code="0"\} (\d+)$/m.exec(await metricsOf(server.port))?.[1] ?? 0);
      let last = -1;
      let now = await answered();
      for (let i = 0; i < 50 && now !== last; i++) {
        await delay(200);
        last = now;
        now = await answered();
      }
      assert.equal(now, last, "the server stopped answering: it stopped reading");
      console.log(`answered ${now} of ${count} 64 KiB echoes to a client that reads nothing (maxPendingOutputBytes 256 KiB)`);
      assert.ok(now < count / 2, `answered ${now} of ${count} while the client read nothing`);
      await assertServed(server.port);
      s.resume();
      const frames = await readFrames(s, count, 60_000);
      assert.equal(frames.length, count);
      assert.equal(decodeFrame(frames[count - 1]!).head.sequence, BigInt(count - 1));
    } finally {
      s.destroy();
      await server.close({ drainTimeoutMs: 100 });
    }
  });
});
