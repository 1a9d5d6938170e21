/**
 * The Python peer: the Python runtime's echo server
 * (`examples/echo/python/echo_server.py`, asyncio, serving
 * `echo.EchoService.Echo` through `decode_request`/`encode_response` as a
 * generated dispatch module does), TCP only, started as a child process.
 * This wrapper announces the child's port and pid (so the table's server CPU
 * is the Python process's) and forwards SIGTERM/SIGINT to it.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseListenArgs } from "./listen-args.js";

/** The Python interpreter (`$PYTHON`, default `python3`). */
const PYTHON = process.env.PYTHON ?? "python3";
const ECHO_SERVER = "examples/echo/python/echo_server.py";

/** The checkout root: the first folder above this file that holds the echo server (from source or from dist/). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, ECHO_SERVER))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${ECHO_SERVER} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

const { host, port } = parseListenArgs();
const child = spawn(PYTHON, [path.join(repoRoot(), ECHO_SERVER), "--host", host, "--port", String(port), "--no-udp"], {
  stdio: ["ignore", "pipe", "inherit"],
});
createInterface({ input: child.stdout! }).on("line", (line) => {
  // The server's startup line is a JSON log line: {"time":…,"msg":"listening on H:P (tcp)","host":…,"port":P,…}.
  if (!line.startsWith("{") || !line.includes(`"msg":"listening on `)) return;
  const { port: bound } = JSON.parse(line) as { port: number };
  process.stdout.write(`${JSON.stringify({ listening: bound, pid: child.pid })}\n`);
});
child.once("exit", (code) => process.exit(code ?? 1));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => child.kill(signal));
