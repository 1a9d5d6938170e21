/**
 * The echo server: `npm run echo-server -- --port N`.
 *
 *   --port N        TCP and UDP port (default 7963; 0 picks a free one)
 *   --host ADDR     listen address (default 0.0.0.0)
 *   --no-udp        TCP only
 *   --config PATH   INI config (default etc/config.ini; a missing file means defaults)
 *   --workers N     worker processes on the port: a whole number or `auto` (one per core);
 *                   wins over `[SRPC] workers` (default 1)
 *   --lang ts|python  implementation to start: `ts` (this runtime, default) or `python`
 *                   (examples/echo/python/echo_server.py on the Python runtime, run with
 *                   `python3` from PATH; the same options are passed on)
 *
 * Prints its JSON startup line (`"msg":"listening on <host>:<port> (tcp+udp)"`, `"port":N`) once bound; SIGTERM/SIGINT drain and exit.
 * Serves examples/echo/openapi.json at `GET /openapi.json` and the API explorer,
 * which reads it, at `GET /explorer` (both languages; docs/explorer.md).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ServerOptions, startServer } from "@msec-gen/runtime";
import { echoMethods } from "./echo-service.js";

/** Implementations the CLI can start. */
const LANGUAGES = ["ts", "python"] as const;

/** Runs the Python twin in the foreground, forwarding SIGTERM/SIGINT and its exit code. */
function runPython(args: string[]): void {
  const script = fileURLToPath(new URL("./python/echo_server.py", import.meta.url));
  const child = spawn("python3", [script, ...args], { stdio: "inherit" });
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** `--workers`: `auto` or a whole number; startServer checks the range. */
function workerCount(value: string): number | "auto" {
  if (value === "auto") return "auto";
  if (!/^\d+$/.test(value)) throw new Error(`--workers ${value}: want a whole number or auto`);
  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "no-udp": { type: "boolean", default: false },
      config: { type: "string" },
      workers: { type: "string" },
      lang: { type: "string", default: "ts" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write("usage: npm run echo-server -- [--port N] [--host ADDR] [--no-udp] [--config PATH] [--workers N|auto] [--lang ts|python]\n");
    return;
  }
  if (!(LANGUAGES as readonly string[]).includes(values.lang)) {
    throw new Error(`--lang ${values.lang}: not available; choose one of ${LANGUAGES.join(", ")}`);
  }
  if (values.lang === "python") {
    const args: string[] = [];
    if (values.port !== undefined) args.push("--port", values.port);
    if (values.host !== undefined) args.push("--host", values.host);
    if (values["no-udp"]) args.push("--no-udp");
    if (values.config !== undefined) args.push("--config", values.config);
    if (values.workers !== undefined) args.push("--workers", values.workers);
    runPython(args);
    return;
  }
  // The JSON mode's OpenAPI document (msec-gen openapi fixtures/echo/echo.proto), served at GET /openapi.json.
  const overrides: Partial<ServerOptions> = { openapi: readFileSync(new URL("./openapi.json", import.meta.url), "utf8") };
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: not a port number`);
    overrides.port = port;
  }
  if (values.host !== undefined) overrides.host = values.host;
  if (values["no-udp"]) overrides.udp = false;
  await startServer({
    ...(values.config !== undefined ? { configPath: values.config } : {}),
    ...(values.workers !== undefined ? { workers: workerCount(values.workers) } : {}),
    serviceName: "echo.EchoService",
    overrides,
    register(server) {
      for (const method of echoMethods()) server.register(method);
    },
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`echo-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
