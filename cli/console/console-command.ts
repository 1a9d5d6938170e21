/**
 * `msec-gen console [--port N] [--host H] [--etcd URLS] [--prefix P]
 * [--protos DIR] [--max-upload BYTES]`: serves the local web console
 * (server.ts) until Ctrl-C / SIGTERM.
 */
import type { Command } from "commander";
import { UserError } from "../../generator/user-error.js";
import { DEFAULT_ETCD_PREFIX, ENDPOINTS_ENV, PREFIX_ENV } from "../route-store.js";
import { DEFAULT_MAX_UPLOAD_BYTES, startConsole } from "./server.js";

interface ConsoleCommandOptions {
  port: string;
  host: string;
  etcd?: string;
  prefix?: string;
  protos?: string;
  maxUpload?: string;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

async function run(opts: ConsoleCommandOptions): Promise<void> {
  if (!/^[0-9]{1,5}$/.test(opts.port) || Number(opts.port) > 65535) throw new UserError(`--port ${JSON.stringify(opts.port)}: expected 0..65535`);
  const maxUpload = opts.maxUpload === undefined ? DEFAULT_MAX_UPLOAD_BYTES : Number(opts.maxUpload);
  if (!Number.isSafeInteger(maxUpload) || maxUpload < 1024) throw new UserError(`--max-upload ${JSON.stringify(opts.maxUpload)}: expected a number of bytes ≥ 1024`);
  const etcd = opts.etcd ?? (process.env[ENDPOINTS_ENV] || undefined);
  if (!LOOPBACK.has(opts.host)) {
    process.stderr.write(
      `msec-gen console: warning: listening on ${opts.host}, not loopback: anyone who can reach this address can generate packages` +
        `${etcd === undefined ? "" : " and change the routes in etcd"}; the console has no login\n`,
    );
  }
  let running;
  try {
    running = await startConsole({
      host: opts.host === "localhost" ? "127.0.0.1" : opts.host,
      port: Number(opts.port),
      etcd,
      prefix: opts.prefix ?? (process.env[PREFIX_ENV] || undefined),
      protos: opts.protos,
      maxUploadBytes: maxUpload,
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") throw new UserError(`cannot listen on ${opts.host}:${opts.port}: ${code}`);
    throw e;
  }
  // the handlers are in place before the address is printed: whoever waits for that line may stop us at once
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void running.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  process.stdout.write(`msec-gen console: listening on ${running.url}${etcd === undefined ? " (no etcd: services view off)" : ""}\n`);
  await stopped;
}

/** Adds `console` to the program. */
export function addConsoleCommand(program: Command): void {
  program
    .command("console")
    .summary("serve the local web console: generate packages from uploaded .proto files, manage routes in etcd")
    .description(
      "Serve the msec-gen console, a local web page (docs/console.md): upload or paste .proto files and download the\n" +
        "server or caller .tgz the CLI would write; with etcd, see every service with its instances, health and metrics,\n" +
        "add instances, scale out / in and change weights. The page's HTTP API is documented for scripts.",
    )
    .option("-p, --port <port>", "port to listen on (0: any free port)", "8080")
    .option("--host <host>", "interface to bind (anything but loopback prints a warning: the console has no login)", "127.0.0.1")
    .option("--etcd <urls>", `comma-separated etcd client URLs for the services view (default: $${ENDPOINTS_ENV})`)
    .option("--prefix <prefix>", `key prefix of the msec instance (default: $${PREFIX_ENV} or ${DEFAULT_ETCD_PREFIX})`)
    .option("--protos <dir>", "folder of .proto files that uploaded files may import")
    .option("--max-upload <bytes>", `upload limit per request (default ${DEFAULT_MAX_UPLOAD_BYTES})`)
    .addHelpText("after", "\nExamples:\n  msec-gen console                       # http://127.0.0.1:8080/\n  msec-gen console --etcd http://127.0.0.1:2379 --protos protos\n")
    .action((opts: ConsoleCommandOptions) => run(opts));
}
