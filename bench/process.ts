/**
 * Child processes for the benchmarks: servers that announce their port on
 * stdout, and one-shot commands whose output is collected. Every child is
 * killed if the benchmark itself exits early, so a run never leaves strays.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** How long a server may take to announce `{"listening":PORT}`. */
export const SERVER_START_TIMEOUT_MS = 30_000;

const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(130));
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export interface RunningServer {
  port: number;
  /** Process id, e.g. to read its CPU time. */
  pid: number;
  /** Sends SIGTERM and waits for the process to exit. */
  stop(): Promise<void>;
}

/**
 * Node arguments that run `script`: compiled JavaScript runs on plain `node`;
 * TypeScript source needs the tsx loader (fine for a smoke run, but tsx's
 * `__name` wrappers slow hot code, so real measurements use the compiled form).
 */
export function nodeScript(script: string, nodeArgs: string[] = []): string[] {
  return script.endsWith(".ts") ? [...nodeArgs, "--import", "tsx", script] : [...nodeArgs, script];
}

/** Path of a sibling module of `base` (an `import.meta.url`), in the same form (`.ts` or `.js`) as `base`. */
export function siblingScript(base: string, name: string): string {
  const ext = base.endsWith(".ts") ? ".ts" : ".js";
  return fileURLToPath(new URL(`${name}${ext}`, base));
}

/**
 * Starts `node [nodeArgs] script [args]` and resolves once it prints
 * `{"listening":PORT}`; rejects with its stderr if it exits first.
 */
export function startServer(script: string, args: string[], nodeArgs: string[] = []): Promise<RunningServer> {
  const child = track(spawn(process.execPath, [...nodeScript(script, nodeArgs), ...args], { stdio: ["ignore", "pipe", "pipe"] }));
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not start within ${SERVER_START_TIMEOUT_MS} ms\n${stderr}`));
    }, SERVER_START_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before listening: ${stderr.trim()}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      // `"pid"`: a wrapper announcing the process that serves (e.g. the Python peer's interpreter), whose CPU is measured
      const announced = /^\{"listening":(\d+)(?:,"pid":(\d+))?\}$/.exec(line.trim());
      if (announced === null) return;
      clearTimeout(timer);
      resolve({
        port: Number(announced[1]),
        pid: announced[2] === undefined ? child.pid! : Number(announced[2]),
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          await exited;
        },
      });
    });
  });
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion, collecting its output; `onLine` sees each
 * stdout line as it arrives.
 */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; onLine?: (line: string) => void } = {},
): Promise<CommandResult> {
  const child = track(spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...(options.cwd ? { cwd: options.cwd } : {}) }));
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  if (options.onLine) createInterface({ input: child.stdout! }).on("line", options.onLine);
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Clock ticks per second of `/proc/<pid>/stat` times (Linux's USER_HZ, 100 on every mainstream kernel). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) a process has used so far, from
 * `/proc/<pid>/stat`; undefined where that file cannot be read.
 */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}
