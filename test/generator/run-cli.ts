/** Runs the msec-gen CLI from source in a child process, as a user would. */
import { spawn } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./golden-cases.js";

export const CLI = path.join(REPO_ROOT, "cli/main.ts");
const TSX = path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Killed at `timeoutMs`. */
  readonly timedOut?: boolean;
}

export interface CliOptions {
  readonly cwd?: string;
  /** Shell prefix run before node, e.g. `umask 077;`. */
  readonly shellPrefix?: string;
  /** Run as this uid/gid (via setpriv), e.g. 65534 for nobody. */
  readonly uid?: number;
  /** Kill the process (SIGKILL) after this long; the result then has `timedOut` set. */
  readonly timeoutMs?: number;
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const node = [process.execPath, "--import", TSX, CLI, ...args];
  let command: string[] = node;
  if (options.uid !== undefined) {
    command = ["setpriv", `--reuid=${options.uid}`, `--regid=${options.uid}`, "--clear-groups", ...node];
  }
  if (options.shellPrefix !== undefined) {
    command = ["sh", "-c", `${options.shellPrefix} exec "$@"`, "sh", ...command];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd ?? REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    });
  });
}
