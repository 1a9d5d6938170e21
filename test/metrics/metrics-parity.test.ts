/**
 * Issue 15, metrics and logs, against both servers as real processes (the
 * hostile suite's targets: examples/echo's Echo plus a Sleep method), with
 * `[LOG] access_log=1`: the same known calls over SRPC TCP, SRPC UDP and JSON
 * go to each server; then
 *
 * * `/metrics` has exact `msec_server_requests_total` values and exact
 *   `msec_server_request_duration_seconds` counts (`_count`, `+Inf`, and every
 *   bucket of a 300 ms call that can be known: 0 below 0.3 s, 1 from 10 s);
 * * the TS and Python expositions hold the same metric families (name and
 *   type) and the same series (name and labels), `nodejs_*` aside;
 * * `process_*` metrics are there and agree with /proc;
 * * `HEAD /metrics` and `HEAD /health` answer the GET head without a body;
 * * every call wrote one access line with the same fields in both runtimes,
 *   exact but for time, latency and the peer's port (and the server-made flow
 *   id of JSON calls).
 *
 * docs/metrics.md lists the names this test pins.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { decodeFrame, encodeFrame } from "@msec-gen/runtime";
import { EchoRequestSchema } from "../../examples/echo/gen/echo_pb.js";
import { ECHO_METHOD, LANGS, type Lang, SLEEP_METHOD, type Target, dial, httpRequest, scrapeMetrics, withTarget } from "../hostile/harness.js";

const SLEEP_MS = 300;
const UNKNOWN_METHOD = "parity.Nope.Missing";
const TIMEOUT_MS = 15_000;

function frame(method: string, message: string, flowId: bigint, caller: string): Buffer {
  const body = toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: Buffer.from(message) }));
  return Buffer.from(encodeFrame({ sequence: flowId, methodName: method, caller, flowId }, body));
}

/** Bytes read from `socket` until `done(bytes)` holds (rejects on close or after TIMEOUT_MS). */
function readUntil(socket: Socket, done: (bytes: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`timed out with ${bytes.length} bytes: ${bytes.toString("latin1")}`)), TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      if (done(bytes)) finish();
    };
    const onClose = () => fail(new Error(`closed after ${bytes.length} bytes: ${bytes.toString("latin1")}`));
    const finish = () => {
      cleanup();
      resolve(bytes);
    };
    const fail = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
    };
    socket.on("data", onData);
    socket.on("close", onClose);
  });
}

/** Length of the SRPC frame at the start of `bytes` (STX, head length, body length, head, body, ETX). */
function frameLength(bytes: Buffer): number {
  return bytes.length < 9 ? Infinity : 10 + bytes.readInt32BE(1) + bytes.readInt32BE(5);
}

/** One SRPC call over TCP on its own connection; resolves with the whole answer frame. */
async function tcpCall(port: number, request: Buffer): Promise<Buffer> {
  const socket = await dial(port);
  try {
    socket.write(request);
    const bytes = await readUntil(socket, (b) => b.length >= frameLength(b));
    return bytes.subarray(0, frameLength(bytes));
  } finally {
    socket.destroy();
  }
}

/** One SRPC call over UDP; resolves with the answer datagram. */
function udpCall(port: number, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("no UDP answer"));
    }, TIMEOUT_MS);
    socket.once("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(request, port, "127.0.0.1");
  });
}

/** One HTTP request on its own connection; resolves with the response head and body. */
async function httpCall(port: number, request: Buffer): Promise<{ head: string; body: Buffer }> {
  const socket = await dial(port);
  try {
    socket.write(request);
    const bytes = await readUntil(socket, (b) => {
      const end = b.indexOf("\r\n\r\n");
      if (end < 0) return false;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(b.subarray(0, end).toString("latin1"))?.[1] ?? "0");
      return b.length >= end + 4 + length;
    });
    const end = bytes.indexOf("\r\n\r\n");
    return { head: bytes.subarray(0, end + 4).toString("latin1"), body: bytes.subarray(end + 4) };
  } finally {
    socket.destroy();
  }
}

/** The `err` of an SRPC answer frame (0 when absent): field 40 of the head, read with the runtime's decoder. */
function errOf(answer: Buffer): number {
  return decodeFrame(answer).head.err ?? 0;
}

interface Observed {
  metrics: string;
  access: Record<string, unknown>[];
  pid: number;
  headMetrics: Buffer;
  codes: number[];
}

/** What the test sends, in order, and what the access log must say of each call. */
async function exercise(target: Target): Promise<Observed> {
  const port = target.port;
  const codes: number[] = [];
  const expected: Record<string, unknown>[] = [];
  const srpc = async (transport: "tcp" | "udp", method: string, message: string, flowId: bigint) => {
    const request = frame(method, message, flowId, "parity.caller");
    const answer = transport === "tcp" ? await tcpCall(port, request) : await udpCall(port, request);
    const code = errOf(answer);
    codes.push(code);
    expected.push({ method, caller: "parity.caller", transport, format: "binary", code, bytes_in: request.length, bytes_out: answer.length, flow_id: String(flowId) });
  };
  const json = async (method: string, body: string) => {
    const { head, body: answer } = await httpCall(port, httpRequest("POST", `/?methodName=${method}`, { caller: "parity.json" }, body));
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    const code = (JSON.parse(answer.toString("utf8")) as { ret: number }).ret;
    codes.push(code);
    expected.push({ method, caller: "parity.json", transport: "http", format: "json", code, bytes_in: Buffer.byteLength(body), bytes_out: answer.length, flow_id: method === UNKNOWN_METHOD ? "0" : "(made by the server)" });
  };
  await srpc("tcp", ECHO_METHOD, "one", 1001n);
  await srpc("tcp", ECHO_METHOD, "two", 1002n);
  await srpc("udp", ECHO_METHOD, "three", 1003n);
  await srpc("tcp", UNKNOWN_METHOD, "four", 1004n);
  await srpc("tcp", SLEEP_METHOD, String(SLEEP_MS), 1005n);
  await json(ECHO_METHOD, JSON.stringify({ message: Buffer.from("five").toString("base64") }));
  await json(ECHO_METHOD, `{"message":5}`);
  await json(UNKNOWN_METHOD, "{}");

  // HEAD answers the GET head and no body: the next answer on the connection follows it at once.
  const health = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n";
  const socket = await dial(port);
  let headMetrics: Buffer;
  try {
    socket.write(Buffer.concat([httpRequest("HEAD", "/health"), httpRequest("HEAD", "/metrics"), httpRequest("GET", "/health")]));
    const bytes = await readUntil(socket, (b) => b.toString("latin1").endsWith(`${health}ok\n`) && b.indexOf(health, health.length) > 0);
    assert.equal(bytes.subarray(0, health.length).toString("latin1"), health, "HEAD /health");
    headMetrics = bytes.subarray(health.length, bytes.length - health.length - 3);
  } finally {
    socket.destroy();
  }

  const metrics = await scrapeMetrics(port);
  const access = target
    .stderrText()
    .split("\n")
    .filter((line) => line.includes(`"msg":"access"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(access.length, expected.length, `${target.lang}: one access line per call:\n${target.stderrText()}`);
  access.forEach((line, i) => {
    const want = expected[i]!;
    assert.deepEqual(Object.keys(line), ["time", "msg", "method", "caller", "peer", "transport", "format", "code", "latency_ms", "bytes_in", "bytes_out", "flow_id"]);
    assert.match(line["time"] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(line["peer"] as string, /^127\.0\.0\.1:\d+$/);
    const latency = line["latency_ms"] as number;
    assert.ok(typeof latency === "number" && latency >= 0 && latency < TIMEOUT_MS, `latency_ms ${latency}`);
    if (want["method"] === SLEEP_METHOD) assert.ok(latency >= SLEEP_MS, `the Sleep call took ${latency} ms`);
    const flowId = line["flow_id"] as string;
    if (want["flow_id"] === "(made by the server)") assert.match(flowId, /^[1-9]\d*$/);
    const { time: _t, peer: _p, latency_ms: _l, ...rest } = line;
    assert.deepEqual(
      { ...rest, flow_id: want["flow_id"] === "(made by the server)" ? want["flow_id"] : flowId },
      { msg: "access", ...want },
      `${target.lang}: access line ${i}`,
    );
  });
  return { metrics, access, pid: target.pid, headMetrics, codes };
}

/** Series of an exposition: `name{labels}` → value. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** `# TYPE` lines: family name → type. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

const BOUNDS = ["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];

function checkMetrics(lang: Lang, observed: Observed): void {
  const s = series(observed.metrics);
  const req = (method: string, transport: string, code: number) => `msec_server_requests_total{method="${method}",transport="${transport}",code="${code}"}`;
  const requests = new Map([...s].filter(([k]) => k.startsWith("msec_server_requests_total{")));
  assert.deepEqual(
    Object.fromEntries(requests),
    {
      [req(ECHO_METHOD, "tcp", 0)]: 2,
      [req(ECHO_METHOD, "udp", 0)]: 1,
      [req("(unknown)", "tcp", -6)]: 1,
      [req(SLEEP_METHOD, "tcp", 0)]: 1,
      [req(ECHO_METHOD, "http", 0)]: 1,
      [req(ECHO_METHOD, "http", -3)]: 1,
      [req("(unknown)", "http", -6)]: 1,
    },
    `${lang}: requests`,
  );
  const histogram = "msec_server_request_duration_seconds";
  const counts: Record<string, number> = {};
  for (const [key, value] of s) {
    const m = new RegExp(`^${histogram}_count\\{(.*)\\}$`).exec(key);
    if (m) counts[m[1]!] = value;
  }
  assert.deepEqual(
    counts,
    {
      [`method="${ECHO_METHOD}",transport="tcp"`]: 2,
      [`method="${ECHO_METHOD}",transport="udp"`]: 1,
      [`method="${ECHO_METHOD}",transport="http"`]: 2,
      [`method="(unknown)",transport="tcp"`]: 1,
      [`method="(unknown)",transport="http"`]: 1,
      [`method="${SLEEP_METHOD}",transport="tcp"`]: 1,
    },
    `${lang}: histogram counts`,
  );
  for (const [labels, count] of Object.entries(counts)) {
    const buckets = BOUNDS.map((le) => s.get(`${histogram}_bucket{${labels},le="${le}"}`));
    assert.ok(buckets.every((b) => b !== undefined), `${lang}: every bucket of ${labels}`);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]! >= buckets[i - 1]!, `${lang}: buckets of ${labels} are cumulative`);
    assert.equal(buckets.at(-1), count, `${lang}: +Inf of ${labels}`);
    assert.equal(buckets.at(-2), count, `${lang}: le=10 of ${labels} (no call took 10 s)`);
    const sum = s.get(`${histogram}_sum{${labels}}`)!;
    assert.ok(sum > 0 && sum < 10 * count, `${lang}: sum ${sum} of ${labels}`);
  }
  // The Sleep call took at least 300 ms: nothing below 0.3 s, exactly one from 10 s up.
  const sleep = (le: string) => s.get(`${histogram}_bucket{method="${SLEEP_METHOD}",transport="tcp",le="${le}"}`);
  assert.deepEqual(BOUNDS.filter((b) => Number(b) < 0.3).map(sleep), BOUNDS.filter((b) => Number(b) < 0.3).map(() => 0));
  assert.ok(s.get(`${histogram}_sum{method="${SLEEP_METHOD}",transport="tcp"}`)! >= SLEEP_MS / 1000);
  assert.equal(s.get("msec_server_in_flight"), 0, `${lang}: nothing in flight`);
  assert.equal(s.get("msec_server_connections_accepted_total"), 9, `${lang}: 4 SRPC and 3 JSON calls over TCP, 1 HEAD connection, 1 scrape`);

  // Process metrics, checked against /proc.
  const status = readFileSync(`/proc/${observed.pid}/status`, "utf8");
  const vmRss = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
  const rss = s.get("process_resident_memory_bytes")!;
  assert.ok(rss > vmRss / 2 && rss < vmRss * 2, `${lang}: process_resident_memory_bytes ${rss} vs VmRSS ${vmRss}`);
  const cpu = s.get("process_cpu_seconds_total")!;
  assert.ok(cpu > 0 && cpu < 600, `${lang}: process_cpu_seconds_total ${cpu}`);
  const fds = s.get("process_open_fds")!;
  assert.ok(fds >= 4 && fds <= s.get("process_max_fds")!, `${lang}: process_open_fds ${fds} (listening TCP and UDP sockets, stdio)`);
  const start = s.get("process_start_time_seconds")!;
  const now = Date.now() / 1000;
  assert.ok(start <= now && start > now - 600, `${lang}: process_start_time_seconds ${start} (now ${now})`);
  if (lang === "ts") {
    for (const q of ["mean", "p99", "max"]) {
      const lag = s.get(`nodejs_eventloop_lag_${q}_seconds`);
      assert.ok(lag !== undefined && lag >= 0 && lag < 10, `ts: nodejs_eventloop_lag_${q}_seconds ${lag}`);
    }
  }
  // HEAD /metrics: a 200 head with the exposition's Content-Length, no body (the next answer followed it).
  assert.match(observed.headMetrics.toString("latin1"), /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain; version=0\.0\.4; charset=utf-8\r\nContent-Length: \d+\r\n\r\n$/);
}

describe("metrics and access log: the TS and Python servers alike", () => {
  test("known calls → exact counters and histograms, the same families and series in both runtimes, process metrics, HEAD, access lines", async () => {
    const observed = new Map<Lang, Observed>();
    for (const lang of LANGS) {
      await withTarget(lang, { log: { access_log: "1" } }, async (target) => {
        const o = await exercise(target);
        assert.deepEqual(o.codes, [0, 0, 0, -6, 0, 0, -3, -6], `${lang}: answers`);
        checkMetrics(lang, o);
        observed.set(lang, o);
      });
    }
    const ts = observed.get("ts")!;
    const py = observed.get("python")!;
    const shared = (text: string) => [...series(text).keys()].filter((k) => !k.startsWith("nodejs_")).sort();
    assert.deepEqual(shared(py.metrics), shared(ts.metrics), "the same series (names and labels) in TS and Python");
    const families = (text: string) => [...types(text)].filter(([k]) => !k.startsWith("nodejs_")).sort();
    assert.deepEqual(families(py.metrics), families(ts.metrics), "the same families and types in TS and Python");
  });
});
