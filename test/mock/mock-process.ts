/**
 * `msec-gen mock` as a user runs it: the built CLI (`node dist/cli/main.js`,
 * built by `npm run build`) in a child process. `startMock` resolves once the
 * mock has printed its ready line (a JSON line on stdout), never after a
 * blind sleep; `runMock` runs a command that is expected to end by itself.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary, toJsonString } from "@bufbuild/protobuf";
import { callMethodRaw } from "@msec-gen/runtime";
import { loadModel } from "../../generator/generate.js";
import { REPO_ROOT } from "../generator/golden-cases.js";

export const CLI = path.join(REPO_ROOT, "dist/cli/main.js");
/** Generous bound for a start on a loaded machine (buf compiles the .proto first). */
export const START_TIMEOUT_MS = 60_000;
/** Bound for one call in the tests. */
export const CALL_TIMEOUT_MS = 10_000;

export interface ReadyLine {
  level: string;
  msg: string;
  service: string;
  host: string;
  port: number;
  transports: string;
  methods: number;
  etcdKey?: string;
}

export interface RunningMock {
  readonly child: ChildProcess;
  readonly ready: ReadyLine;
  readonly port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once standard error contains `text` (the summary is written beside the ready line, on another pipe). */
  untilStderr(text: string): Promise<void>;
  /** Sends `signal` and resolves with the exit code once the process has ended. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `msec-gen mock <args>` and waits for its ready line. */
export function startMock(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunningMock> {
  const child = spawn(process.execPath, [CLI, "mock", ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  // "close": the process has ended and both pipes are read to their end.
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`msec-gen mock not ready after ${START_TIMEOUT_MS} ms\nstdout: ${out}\nstderr: ${err}`));
    }, START_TIMEOUT_MS);
    child.stderr!.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      const newline = out.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      let ready: ReadyLine;
      try {
        ready = JSON.parse(out.slice(0, newline)) as ReadyLine;
      } catch {
        child.kill("SIGKILL");
        reject(new Error(`the first stdout line is not JSON: ${out}`));
        return;
      }
      resolve({
        child,
        ready,
        port: ready.port,
        stdout: () => out,
        stderr: () => err,
        untilStderr: (text) =>
          new Promise<void>((found, notFound) => {
            const check = () => {
              if (!err.includes(text)) return;
              child.stderr!.off("data", check);
              found();
            };
            child.stderr!.on("data", check);
            exited.then(() => (err.includes(text) ? found() : notFound(new Error(`stderr never had ${JSON.stringify(text)}: ${err}`))));
            check();
          }),
        stop: async (signal = "SIGTERM") => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`msec-gen mock exited (${code}) before it was ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

export interface MockResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `msec-gen mock <args>` to its end (it is expected to fail at start). */
export function runMock(args: readonly string[], options: { cwd?: string } = {}): Promise<MockResult> {
  return runMsecGen(["mock", ...args], options);
}

/** Runs `msec-gen <args>` (the built CLI) to its end. */
export function runMsecGen(args: readonly string[], options: { cwd?: string } = {}): Promise<MockResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The MSEC envelope of a JSON call. */
export interface Envelope {
  ret: number;
  errmsg: string;
  resultObj?: unknown;
}

/** `POST /?methodName=<method>` with `body`; the envelope parsed (and its text, to check the exact bytes). */
export async function jsonCall(port: number, method: string, body: string): Promise<{ envelope: Envelope; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/?methodName=${encodeURIComponent(method)}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text}`);
  return { envelope: JSON.parse(text) as Envelope, text };
}

/**
 * An SRPC call over TCP or UDP with the runtime's client; the reply decoded as
 * `output` and written as the server writes JSON (proto names, enums as numbers),
 * so it compares with the JSON call's `resultObj`.
 */
export async function srpcCall<I extends DescMessage>(
  port: number,
  transport: "tcp" | "udp",
  method: string,
  input: I,
  request: MessageInitShape<I>,
  output: DescMessage,
): Promise<unknown> {
  const bytes = await callMethodRaw(`127.0.0.1:${port}@${transport}`, method, toBinary(input, create(input, request)), { timeoutMs: CALL_TIMEOUT_MS });
  return JSON.parse(toJsonString(output, fromBinary(output, bytes), { useProtoFieldName: true, enumAsInteger: true }));
}

/** The message descriptors of a `.proto` (compiled with the generator's front end, as the mock does). */
export async function messagesOf(proto: string): Promise<(typeName: string) => DescMessage> {
  const model = await loadModel({ kind: "server", protos: [proto], cwd: REPO_ROOT });
  return (typeName) => {
    const desc = model.registry.getMessage(typeName);
    if (desc === undefined) throw new Error(`no message ${typeName} in ${proto}`);
    return desc;
  };
}

/** How long a poll (of etcd, of the mock's metrics) may take to see a change, on a loaded machine. */
export const POLL_LIMIT_MS = 20_000;

/** Polls `check` until it holds; no fixed sleep decides the outcome, the limit only ends a broken run. */
export async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${POLL_LIMIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves once the mock on `port` is running `n` calls (its `/metrics` in-flight gauge). */
export function untilInFlight(port: number, n: number): Promise<void> {
  return eventually(`${n} call(s) running`, async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    // The in-flight gauge, whatever its exact name and labels (msec_server_in_flight today).
    return new RegExp(`^msec_\\w*in_flight\\w*(\\{[^}]*\\})? ${n}$`, "m").test(metrics);
  });
}
