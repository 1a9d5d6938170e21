/**
 * `msec-gen console` as a user runs it: the built CLI (`node dist/cli/main.js
 * console`, `npm test` builds first) in a child process with its own TMPDIR,
 * so a test can assert the console leaves nothing behind there.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../free-port.js";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const CLI_JS = path.join(REPO, "dist/cli/main.js");

export interface ConsoleProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly base: string;
  readonly port: number;
  /** The console's TMPDIR (empty when it cleaned up after itself). */
  readonly tmp: string;
  stdout: string;
  stderr: string;
  /** Entries left in `tmp`. */
  leftovers(): string[];
  /** SIGTERM, wait for the exit, remove `tmp`; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the console with `args` (a free `--port` is added); resolves once it prints its address. */
export async function startConsoleProcess(args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ConsoleProcess> {
  const tmp = mkdtempSync(path.join(tmpdir(), "console-test-tmp-"));
  const port = await freePort();
  const child = spawn(process.execPath, [CLI_JS, "console", "--port", String(port), ...args], {
    cwd: REPO,
    env: { ...process.env, MSEC_ETCD_ENDPOINTS: "", ...env, TMPDIR: tmp },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: ConsoleProcess = {
    child,
    base: `http://127.0.0.1:${port}`,
    port,
    tmp,
    stdout: "",
    stderr: "",
    leftovers: () => readdirSync(tmp),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(tmp, { recursive: true, force: true });
      return child.exitCode;
    },
  };
  child.stdout!.on("data", (c: Buffer) => (proc.stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (proc.stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (proc.stdout.includes("listening on")) {
        child.stdout!.off("data", onData);
        child.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`console exited with ${code}:\n${proc.stdout}${proc.stderr}`));
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
  return proc;
}

/** Runs the built CLI; resolves with its exit code and output. */
export function runBuiltCli(args: readonly string[], cwd = REPO): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_JS, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Removes a folder made by a test. */
export function removeDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/** A temp folder for a test's own files. */
export function testDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}
