/**
 * The example's long-running processes (Jsoup, MariaDB, the services): each
 * started in its own process group, so stopping it also stops anything it
 * started, and all of them stopped together on the way out — after success,
 * failure or a signal.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";

/** How long a process may take to become ready (MariaDB's first start is the slowest). */
export const READY_TIMEOUT_MS = 60_000;
/** How long a process may take to exit after SIGTERM before it gets SIGKILL. */
export const STOP_TIMEOUT_MS = 10_000;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Everything it wrote so far (stdout and stderr), for failure messages. */
  output(): string;
}

const running: Child[] = [];
/** Set by stopAll: nothing starts any more (a start racing a Ctrl-C would otherwise outlive it). */
let closed = false;

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Ready when its output matches this… */
  readyLine?: RegExp;
  /** …or when this loopback TCP port accepts connections. */
  readyPort?: number;
}

/** Starts `command` in a new process group and waits until it is ready; rejects if it exits first. */
export async function startChild(name: string, command: string, args: readonly string[], options: StartOptions): Promise<{ child: Child; match?: RegExpExecArray }> {
  if (closed) throw new Error(`not starting ${name}: shutting down`);
  const proc = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const child: Child = { name, process: proc, output: () => output };
  running.push(child);
  const exited = new Promise<never>((_, reject) =>
    proc.once("exit", (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output}`))),
  );
  exited.catch(() => {});
  const lineMatch = new Promise<RegExpExecArray | undefined>((resolve) => {
    const onData = (d: Buffer): void => {
      output += d.toString("utf8");
      const m = options.readyLine?.exec(output);
      if (m) resolve(m);
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    if (options.readyLine === undefined) resolve(undefined);
  });
  const ready = (async () => {
    const match = await lineMatch;
    if (options.readyPort !== undefined) await waitForPort(options.readyPort, proc);
    return match;
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} not ready within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
  });
  try {
    const match = await Promise.race([ready, exited, timeout]);
    return match === undefined ? { child } : { child, match };
  } finally {
    clearTimeout(timer);
  }
}

async function waitForPort(port: number, proc: ChildProcess): Promise<void> {
  while (proc.exitCode === null && proc.signalCode === null) {
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** SIGTERM to each process group (newest first), SIGKILL after STOP_TIMEOUT_MS; waits for every exit. */
export async function stopAll(): Promise<void> {
  closed = true;
  const children = running.splice(0).reverse();
  for (const child of children) {
    const proc = child.process;
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    signalGroup(proc, "SIGTERM");
    const timer = setTimeout(() => signalGroup(proc, "SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    // Already gone.
  }
}

/**
 * A port for a child started later, taken below the kernel's ephemeral range so that no
 * outgoing connection made meanwhile can take it (shared with the tests: test/free-port.ts).
 */
import { freePort } from "../../test/free-port.js";
export { freePort };
