/**
 * Issue 15 in the TS server, over real sockets: the access log (`accessLog`)
 * writes one exact JSON line per answered call (SRPC TCP and UDP, JSON,
 * error codes included) and nothing when off; `/metrics` has exact request
 * counts, latency histograms (every bucket of a 300 ms call that can be
 * known), the in-flight gauge and the process metrics. docs/metrics.md.
 */
import { after, before, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import { Writable } from "node:stream";
import type { JsonValue } from "@bufbuild/protobuf";
import { type MethodDefinition, type RequestBody, type ResponseBody, type Server, SrpcError, createServer, encodeFrame } from "@msec-gen/runtime";
import type { Socket } from "node:net";
import { delay, dial, memoryLogger, readFrames, udpCall } from "./net-helpers.js";

const ACCESS_KEYS = ["time", "msg", "method", "caller", "peer", "transport", "format", "code", "latency_ms", "bytes_in", "bytes_out", "flow_id"];
const BOUNDS = ["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];

function methods(): MethodDefinition[] {
  const echo = (body: RequestBody): ResponseBody =>
    body.format === "binary" ? { format: "binary", bytes: body.bytes } : { format: "json", json: JSON.parse(body.text) as JsonValue };
  return [
    { name: "t.S.Echo", invoke: (body) => echo(body) },
    {
      name: "t.S.Fail",
      invoke() {
        throw new SrpcError(-77, "business says no");
      },
    },
    {
      name: "t.S.Slow",
      async invoke(body) {
        await delay(300);
        return echo(body);
      },
    },
  ];
}

/** A stream keeping the lines written to it. */
function lineSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      cb();
    },
  });
  return { stream, lines };
}

function frame(method: string, body: string, flowId: bigint, caller = "ts.c"): Buffer {
  return Buffer.from(encodeFrame({ sequence: flowId, methodName: method, caller, flowId }, Buffer.from(body)));
}

async function tcpCall(port: number, request: Buffer): Promise<Buffer> {
  const s = await dial(port);
  try {
    s.write(request);
    return (await readFrames(s, 1))[0]!;
  } finally {
    s.destroy();
  }
}

/** Reads one HTTP response (Content-Length body) off `s`; resolves with its body. */
function readResponseBody(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    s.on("data", (c: Buffer) => {
      bytes = Buffer.concat([bytes, c]);
      const end = bytes.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/\r\nContent-Length: (\d+)/i.exec(bytes.subarray(0, end).toString("latin1"))![1]);
      if (bytes.length >= end + 4 + length) resolve(bytes.subarray(end + 4, end + 4 + length));
    });
    s.once("close", () => reject(new Error(`closed: ${bytes.toString("latin1")}`)));
  });
}

/** One HTTP request on its own connection; resolves with the response body. */
async function httpCall(port: number, request: string): Promise<Buffer> {
  const s = await dial(port);
  try {
    const body = readResponseBody(s);
    s.write(request);
    return await body;
  } finally {
    s.destroy();
  }
}

function jsonCall(port: number, method: string, body: string, caller: string): Promise<Buffer> {
  return httpCall(port, `POST /?methodName=${method} HTTP/1.1\r\ncaller: ${caller}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

describe("access log and latency metrics", () => {
  let server: Server;
  let port: number;
  const access = lineSink();

  before(async () => {
    server = createServer({ port: 0, host: "127.0.0.1", logger: memoryLogger().logger, accessLog: access.stream });
    for (const m of methods()) server.register(m);
    port = (await server.listen()).port;
  });
  after(() => server.close({ drainTimeoutMs: 100 }));

  test("one exact access line per SRPC (TCP, UDP) and JSON call, error codes included; exact counters and buckets in /metrics", async () => {
    const expected: Record<string, unknown>[] = [];
    const srpc = async (transport: "tcp" | "udp", method: string, body: string, flowId: bigint, code: number) => {
      const request = frame(method, body, flowId);
      const answer = transport === "tcp" ? await tcpCall(port, request) : (await udpCall(port, request, 10_000))!;
      expected.push({ msg: "access", method, caller: "ts.c", transport, format: "binary", code, bytes_in: request.length, bytes_out: answer.length, flow_id: String(flowId) });
    };
    const json = async (method: string, body: string, code: number) => {
      const answer = await jsonCall(port, method, body, "ts.json");
      assert.equal((JSON.parse(answer.toString()) as { ret: number }).ret, code);
      expected.push({ msg: "access", method, caller: "ts.json", transport: "http", format: "json", code, bytes_in: Buffer.byteLength(body), bytes_out: answer.length, flow_id: code === -6 ? "0" : "(server)" });
    };
    await srpc("tcp", "t.S.Echo", "abc", 11n, 0);
    await srpc("tcp", "t.S.Fail", "", 12n, -77);
    await srpc("udp", "t.S.Echo", "de", 13n, 0);
    await srpc("tcp", "t.S.Nope", "", 14n, -6);
    await srpc("tcp", "t.S.Slow", "300", 15n, 0);
    await json("t.S.Echo", `{"x":1}`, 0);
    await json("t.S.Fail", "{}", -77);
    await json("t.S.Nope", "{}", -6);

    assert.equal(access.lines.length, expected.length, access.lines.join("\n"));
    access.lines.forEach((text, i) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(line), ACCESS_KEYS);
      assert.match(line["time"] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.match(line["peer"] as string, /^127\.0\.0\.1:\d+$/);
      const latency = line["latency_ms"] as number;
      assert.ok(latency >= 0 && latency < 15_000, `latency_ms ${latency}`);
      if (line["method"] === "t.S.Slow") assert.ok(latency >= 299, `Slow took ${latency} ms`);
      const want = expected[i]!;
      if (want["flow_id"] === "(server)") assert.match(line["flow_id"] as string, /^[1-9]\d*$/);
      const { time: _t, peer: _p, latency_ms: _l, ...rest } = line;
      assert.deepEqual({ ...rest, flow_id: want["flow_id"] === "(server)" ? "(server)" : rest["flow_id"] }, want, `line ${i}`);
    });

    const metrics = (await httpCall(port, "GET /metrics HTTP/1.1\r\n\r\n")).toString("utf8");
    const requests = metrics.split("\n").filter((l) => l.startsWith("msec_server_requests_total{"));
    assert.deepEqual(requests.sort(), [
      `msec_server_requests_total{method="(unknown)",transport="http",code="-6"} 1`,
      `msec_server_requests_total{method="(unknown)",transport="tcp",code="-6"} 1`,
      `msec_server_requests_total{method="t.S.Echo",transport="http",code="0"} 1`,
      `msec_server_requests_total{method="t.S.Echo",transport="tcp",code="0"} 1`,
      `msec_server_requests_total{method="t.S.Echo",transport="udp",code="0"} 1`,
      `msec_server_requests_total{method="t.S.Fail",transport="http",code="-77"} 1`,
      `msec_server_requests_total{method="t.S.Fail",transport="tcp",code="-77"} 1`,
      `msec_server_requests_total{method="t.S.Slow",transport="tcp",code="0"} 1`,
    ]);
    const bucket = (le: string) => {
      const m = new RegExp(`^msec_server_request_duration_seconds_bucket\\{method="t\\.S\\.Slow",transport="tcp",le="${le.replace(/[.+]/g, "\\$&")}"\\} (\\d+)$`, "m").exec(metrics);
      return m ? Number(m[1]) : undefined;
    };
    // 300 ms: nothing up to 0.25 s, one from 10 s up (the buckets between depend on the machine).
    assert.deepEqual(BOUNDS.slice(0, 11).map(bucket), Array(11).fill(0));
    assert.deepEqual(BOUNDS.slice(15).map(bucket), [1, 1]);
    assert.match(metrics, /^msec_server_request_duration_seconds_count\{method="t\.S\.Slow",transport="tcp"\} 1$/m);
    const sum = Number(/^msec_server_request_duration_seconds_sum\{method="t\.S\.Slow",transport="tcp"\} (\S+)$/m.exec(metrics)![1]);
    assert.ok(sum >= 0.299 && sum < 10, `sum ${sum}`);
    assert.match(metrics, /^msec_server_request_duration_seconds_count\{method="\(unknown\)",transport="tcp"\} 1$/m);
    assert.match(metrics, /^msec_server_request_duration_seconds_bucket\{method="t\.S\.Echo",transport="udp",le="\+Inf"\} 1$/m);
    assert.match(metrics, /^msec_server_in_flight 0$/m);
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds", "nodejs_eventloop_lag_p99_seconds"]) {
      assert.match(metrics, new RegExp(`^# TYPE ${name} (gauge|counter)\\n${name} [0-9.e+-]+$`, "m"), name);
    }
  });

  test("no access line when accessLog is off (nothing on stderr), one on stderr with accessLog: true", async () => {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
      typeof chunk === "string" && chunk.includes(`"msg":"access"`) ? (written.push(chunk), true) : write(chunk, ...rest)) as typeof process.stderr.write;
    try {
      for (const accessLog of [false, true]) {
        const other = createServer({ port: 0, host: "127.0.0.1", logger: memoryLogger().logger, udp: false, accessLog });
        for (const m of methods()) other.register(m);
        const p = (await other.listen()).port;
        try {
          await tcpCall(p, frame("t.S.Echo", "x", 7n));
        } finally {
          await other.close({ drainTimeoutMs: 100 });
        }
      }
    } finally {
      process.stderr.write = write;
    }
    assert.equal(written.length, 1, "only the server with accessLog: true wrote a line");
    // An echo answer with a flow id is the request frame byte for byte.
    const size = frame("t.S.Echo", "x", 7n).length;
    assert.deepEqual(
      { ...(JSON.parse(written[0]!) as object), time: "", peer: "", latency_ms: 0 },
      { time: "", msg: "access", method: "t.S.Echo", caller: "ts.c", peer: "", transport: "tcp", format: "binary", code: 0, latency_ms: 0, bytes_in: size, bytes_out: size, flow_id: "7" },
    );
  });
});
