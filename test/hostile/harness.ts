/**
 * The hostile suite's harness: starts the TypeScript or the Python target
 * server (servers/) as its own process from a config the test writes, reads
 * its resident memory from /proc, scrapes `/metrics`, and runs a probe — a
 * normal client that must keep being served while an attack runs (issue 11).
 *
 * Everything is loopback and bounded: each helper has a timeout, each attack a
 * byte or connection count.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { promises as fs, readFileSync } from "node:fs";
import { type Socket, connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FrameDecoder, decodeFrame, encodeFrame, newSequence } from "@msec-gen/runtime";
import { EchoRequestSchema, EchoResponseSchema } from "../../examples/echo/gen/echo_pb.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "../..");

/** The two servers every attack runs against. */
export const LANGS = ["ts", "python"] as const;
export type Lang = (typeof LANGS)[number];

export const ECHO_METHOD = "echo.EchoService.Echo";
export const SLEEP_METHOD = "hostile.HostileService.Sleep";

/** Issue 11, done when: memory growth allowed for 1 MiB received in 1-byte segments. */
export const MAX_RSS_GROWTH_BYTES = 48 * 1024 * 1024;
/**
 * Longest a probe call may take while an attack runs. Wide: the machine is
 * shared and slow; the failures it catches are lock-outs and multi-second stalls.
 */
export const PROBE_MAX_MS = 3000;
/** How soon "closed at once" must happen (wide for a loaded machine; the bad behaviour holds 60 s). */
export const CLOSE_AT_ONCE_MS = 3000;
/** Keep at most this much of a server's stderr for messages; the byte count is kept whole. */
const STDERR_KEEP_BYTES = 64 * 1024;

export interface Target {
  readonly lang: Lang;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Bytes the server wrote to stderr so far. */
  stderrBytes(): number;
  /** The first 64 KiB of its stderr. */
  stderrText(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Kills the process (SIGKILL) if it still runs, and removes its directory. */
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** Extra `[SRPC]` keys, e.g. `{ request_timeout_ms: "60000" }`. */
  srpc?: Record<string, string>;
  /** Run under `ulimit -n <files>` (soft and hard). */
  fileLimit?: number;
  /** Extra `[LOG]` keys, e.g. `{ access_log: "1" }`. */
  log?: Record<string, string>;
}

/** Starts one target server in a fresh directory and waits for its JSON startup line (`"msg":"listening on 127.0.0.1:<port> …"`). */
export async function startTarget(lang: Lang, options: TargetOptions = {}): Promise<Target> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), `hostile-${lang}-`));
  await fs.mkdir(path.join(dir, "etc"));
  const keys = Object.entries(options.srpc ?? {}).map(([k, v]) => `${k}=${v}\n`).join("");
  const ini = path.join(dir, "etc/config.ini");
  const logKeys = Object.entries(options.log ?? {}).map(([k, v]) => `${k}=${v}\n`).join("");
  await fs.writeFile(ini, `[SRPC]\nlisten=127.0.0.1:0/tcp 127.0.0.1:0/udp\n${keys}\n[LOG]\nLevel=ERROR\n${logKeys}`);
  const command =
    lang === "ts"
      ? [process.execPath, "--import", "tsx", path.join(HERE, "servers/hostile-server.ts"), "--config", ini]
      : ["python3", path.join(HERE, "servers/hostile_server.py"), "--config", ini];
  const argv =
    options.fileLimit === undefined
      ? command
      : ["bash", "-c", `ulimit -n ${options.fileLimit} && exec "$@"`, "bash", ...command];
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let stderrBytes = 0;
  child.stderr!.on("data", (d: Buffer) => {
    stderrBytes += d.length;
    if (stderr.length < STDERR_KEEP_BYTES) stderr += d.toString("utf8").slice(0, STDERR_KEEP_BYTES - stderr.length);
  });
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${lang} server did not start in 30 s: ${stdout}${stderr}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${lang} server exited (${code}) before listening: ${stdout}${stderr}`));
    });
  });
  return {
    lang,
    port,
    pid: child.pid!,
    child,
    exited,
    stderrBytes: () => stderrBytes,
    stderrText: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `body` against a fresh target of `lang`; the target is always stopped afterwards. */
export async function withTarget(lang: Lang, options: TargetOptions, body: (t: Target) => Promise<void>): Promise<void> {
  const target = await startTarget(lang, options);
  try {
    await body(target);
  } finally {
    await target.stop();
  }
}

// ------------------------------------------------------------------ memory

/** Resident set size of a process, in bytes (`VmRSS` of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU time a process has used (user + system), in clock ticks (`/proc/<pid>/stat`). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Samples a process's RSS every 50 ms; `stop()` gives the growth over the first sample (peak − start). */
export function sampleRss(pid: number): { stop(): { startBytes: number; peakBytes: number; growthBytes: number } } {
  const startBytes = rssBytes(pid);
  let peakBytes = startBytes;
  const sample = () => {
    try {
      peakBytes = Math.max(peakBytes, rssBytes(pid));
    } catch {
      // the process is gone; the test sees that elsewhere
    }
  };
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { startBytes, peakBytes, growthBytes: peakBytes - startBytes };
    },
  };
}

export const MiB = 1024 * 1024;

export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

// ------------------------------------------------------------------ sockets

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Opens a TCP connection to 127.0.0.1:port (half-open allowed, so a client can `end()` and still read). */
export function dial(port: number, timeoutMs = 10_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${port} timed out`));
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      s.off("error", onError);
      s.setNoDelay(true);
      resolve(s);
    });
    const onError = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    s.once("error", onError);
  });
}

/** Resolves when the peer has closed (FIN or reset): the bytes received and how long it took. */
export function whenClosed(socket: Socket, timeoutMs: number): Promise<{ closed: boolean; bytes: Buffer; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ closed, bytes: Buffer.concat(parts), ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (c: Buffer) => parts.push(c));
    socket.on("error", () => finish(true));
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
  });
}

// ------------------------------------------------------------------ SRPC

export interface FrameOptions {
  method?: string;
  caller?: string;
  sequence?: bigint;
}

/** An SRPC request frame for `echo.EchoService.Echo` (or another method) with `message`. */
export function echoFrame(message: Uint8Array, options: FrameOptions = {}): Uint8Array {
  const body = toBinary(EchoRequestSchema, create(EchoRequestSchema, { message }));
  return encodeFrame(
    {
      sequence: options.sequence ?? newSequence(),
      methodName: options.method ?? ECHO_METHOD,
      caller: options.caller ?? "hostile.probe",
    },
    body,
  );
}

/** An SRPC request frame for the slow method: sleeps `ms`, answers the peak of concurrent Sleep calls. */
export function sleepFrame(ms: number, options: Omit<FrameOptions, "method"> = {}): Uint8Array {
  return echoFrame(Buffer.from(String(ms)), { ...options, method: SLEEP_METHOD });
}

export interface Answer {
  sequence: bigint;
  err: number;
  message: Buffer;
}

/** Decodes an SRPC answer frame: its sequence, `err` and the EchoResponse message. */
export function decodeAnswer(frame: Uint8Array): Answer {
  const { head, body } = decodeFrame(frame);
  const err = head.err ?? 0;
  return {
    sequence: head.sequence,
    err,
    message: err === 0 ? Buffer.from(fromBinary(EchoResponseSchema, body).message) : Buffer.alloc(0),
  };
}

/**
 * Reads `count` items off a socket, `parse` turning each chunk into the items it completes
 * (rejects if parsing throws, the socket closes first, or after `timeoutMs`).
 */
function readItems<T>(socket: Socket, count: number, timeoutMs: number, what: string, parse: (chunk: Buffer) => T[]): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    const timer = setTimeout(() => finish(new Error(`timed out with ${items.length}/${count} ${what}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      try {
        items.push(...parse(chunk));
      } catch (e) {
        finish(e as Error);
        return;
      }
      if (items.length >= count) finish();
    };
    const onClose = () => finish(new Error(`closed after ${items.length}/${count} ${what}`));
    function finish(err?: Error) {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("end", onClose);
      if (err) reject(err);
      else resolve(items);
    }
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("end", onClose);
    socket.resume();
  });
}

/** Reads `count` SRPC frames (rejects if the socket closes first or after `timeoutMs`). */
export function readFrames(socket: Socket, count: number, timeoutMs: number): Promise<Answer[]> {
  const decoder = new FrameDecoder();
  return readItems(socket, count, timeoutMs, "frames", (chunk) => decoder.push(chunk).map(decodeAnswer));
}

/** One SRPC call on its own connection; resolves with the answer. */
export async function callSrpc(port: number, frame: Uint8Array, timeoutMs = 10_000): Promise<Answer> {
  const socket = await dial(port, timeoutMs);
  try {
    socket.write(frame);
    return (await readFrames(socket, 1, timeoutMs))[0]!;
  } finally {
    socket.destroy();
  }
}

// ------------------------------------------------------------------ HTTP

/** An HTTP/1.1 request's bytes. */
export function httpRequest(method: string, target: string, headers: Record<string, string> = {}, body: Uint8Array | string = ""): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (method === "POST") lines.push(`Content-Length: ${bytes.length}`);
  return Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), bytes]);
}

/** A JSON call of echo.EchoService.Echo (or `method`) over HTTP, echoing `text`. */
export function httpEcho(text: string, headers: Record<string, string> = {}, method = ECHO_METHOD): Buffer {
  return httpRequest("POST", `/?methodName=${method}`, headers, JSON.stringify({ message: Buffer.from(text).toString("base64") }));
}

export interface HttpResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Splits HTTP responses (with Content-Length bodies) off a byte stream. */
export class HttpResponseReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): HttpResponse[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: HttpResponse[] = [];
    for (;;) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) break;
      const lines = this.buf.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1]);
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const length = Number(headers.get("content-length") ?? "0");
      if (this.buf.length < end + 4 + length) break;
      out.push({ status, headers, body: Buffer.from(this.buf.subarray(end + 4, end + 4 + length)) });
      this.buf = this.buf.subarray(end + 4 + length);
    }
    return out;
  }
}

/** Reads `count` HTTP responses off a socket. */
export function readHttpResponses(socket: Socket, count: number, timeoutMs: number): Promise<HttpResponse[]> {
  const reader = new HttpResponseReader();
  return readItems(socket, count, timeoutMs, "HTTP responses", (chunk) => reader.push(chunk));
}

/** `GET /metrics` on a connection of its own. */
export async function scrapeMetrics(port: number, timeoutMs = 15_000): Promise<string> {
  const socket = await dial(port, timeoutMs);
  try {
    socket.write(httpRequest("GET", "/metrics"));
    const [res] = await readHttpResponses(socket, 1, timeoutMs);
    assert.equal(res!.status, 200, "GET /metrics");
    return res!.body.toString("utf8");
  } finally {
    socket.destroy();
  }
}

/**
 * The value of a Prometheus sample: the sum over the lines of `name` whose
 * labels include every label given (`undefined` when there is none).
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(l[1]!, l[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

// ------------------------------------------------------------------ probe

export interface ProbeReport {
  calls: number;
  failures: string[];
  maxMs: number;
}

/**
 * A normal client during an attack: one SRPC Echo call on a fresh connection
 * every `intervalMs` (the next starts when the last has ended), each bounded by
 * `timeoutMs`; or, with `socket`, every call on that one connection.
 */
export function startProbe(port: number, options: { intervalMs?: number; timeoutMs?: number; socket?: Socket } = {}): { stop(): Promise<ProbeReport> } {
  const intervalMs = options.intervalMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const report: ProbeReport = { calls: 0, failures: [], maxMs: 0 };
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const text = `probe ${n++}`;
      const started = Date.now();
      try {
        const frame = echoFrame(Buffer.from(text));
        let answer: Answer;
        if (options.socket) {
          options.socket.write(frame);
          answer = (await readFrames(options.socket, 1, timeoutMs))[0]!;
        } else {
          answer = await callSrpc(port, frame, timeoutMs);
        }
        if (answer.err !== 0 || answer.message.toString() !== text) {
          report.failures.push(`${text}: err ${answer.err}, message ${JSON.stringify(answer.message.toString())}`);
        }
      } catch (e) {
        report.failures.push(`${text}: ${(e as Error).message}`);
      }
      const ms = Date.now() - started;
      report.calls++;
      report.maxMs = Math.max(report.maxMs, ms);
      if (running) await delay(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return report;
    },
  };
}

/** Asserts the probe was served throughout: at least one call, none failed, none slower than `maxMs`. */
export function assertServed(report: ProbeReport, what: string, maxMs = PROBE_MAX_MS): void {
  assert.ok(report.calls >= 1, `${what}: the probe made no call`);
  assert.deepEqual(report.failures, [], `${what}: probe calls failed`);
  assert.ok(report.maxMs <= maxMs, `${what}: slowest probe call took ${report.maxMs} ms (limit ${maxMs} ms)`);
}

// ------------------------------------------------------------------ attackers

/** Runs an attacker script of attackers/ to its end; resolves with the JSON line it printed. */
export function runAttacker<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [path.join(HERE, "attackers", script), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as T);
      else reject(new Error(`${script} exited with ${code ?? "a signal (timed out?)"}: ${out}${err}`));
    });
  });
}

/** Output of attackers/byte_segments.py. */
export interface SegmentAttack {
  sent: number;
  seconds: number;
  unread: number;
  closed: number;
  /** Closes the attacker's connections and waits for it to exit. */
  release(): Promise<void>;
}

/**
 * Runs attackers/byte_segments.py: on each of `connections` connections,
 * `prefix` then filler up to `bytesPerConnection`, one byte per TCP segment;
 * resolves once the server has read it all (the connections stay open until
 * `release()`).
 */
export function sendByteSegments(
  port: number,
  prefix: Buffer,
  connections: number,
  bytesPerConnection: number,
  timeoutMs = 60_000,
): Promise<SegmentAttack> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "python3",
      [path.join(HERE, "attackers/byte_segments.py"), "--port", String(port), "--prefix-hex", prefix.toString("hex"),
        "--bytes", String(bytesPerConnection), "--connections", String(connections)],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`byte_segments.py did not finish in ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!out.includes("\n")) return;
      clearTimeout(timer);
      const result = JSON.parse(out) as Omit<SegmentAttack, "release">;
      resolve({
        ...result,
        async release() {
          child.stdin.end();
          await exited;
        },
      });
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`byte_segments.py exited early: ${out}${err}`));
    });
  });
}
