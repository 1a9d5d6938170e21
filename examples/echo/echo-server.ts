/**
 * The echo server: `npm run echo-server -- --port N`.
 *
 *   --port N        TCP and UDP port (default 7963; 0 picks a free one)
 *   --host ADDR     listen address (default 0.0.0.0)
 *   --no-udp        TCP only
 *   --config PATH   INI config (default etc/config.ini; a missing file means defaults)
 *   --lang ts       implementation to start; `ts` (this runtime) is the only one so far —
 *                   the option is there so a Python twin can be added as `--lang python`
 *
 * Prints `listening on <host>:<port> (tcp+udp)` once bound; SIGTERM/SIGINT drain and exit.
 */
import { parseArgs } from "node:util";
import { type ServerOptions, startServer } from "../../runtime/index.js";
import { echoMethods } from "./echo-service.js";

/** Implementations the CLI can start. */
const LANGUAGES = ["ts"] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "no-udp": { type: "boolean", default: false },
      config: { type: "string" },
      lang: { type: "string", default: "ts" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write("usage: npm run echo-server -- [--port N] [--host ADDR] [--no-udp] [--config PATH] [--lang ts]\n");
    return;
  }
  if (!(LANGUAGES as readonly string[]).includes(values.lang)) {
    throw new Error(`--lang ${values.lang}: not available; choose one of ${LANGUAGES.join(", ")}`);
  }
  const overrides: Partial<ServerOptions> = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: not a port number`);
    overrides.port = port;
  }
  if (values.host !== undefined) overrides.host = values.host;
  if (values["no-udp"]) overrides.udp = false;
  await startServer({
    ...(values.config !== undefined ? { configPath: values.config } : {}),
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
