/**
 * Command line shared by the benchmark's echo servers: `--port N` (0 =
 * ephemeral, the default) and `--host` (default 127.0.0.1). Once a server
 * accepts connections it prints one line `{"listening":PORT}` on stdout, which
 * the orchestrator waits for.
 */
import { parseArgs } from "node:util";

export interface ListenArgs {
  host: string;
  port: number;
}

export function parseListenArgs(argv: string[] = process.argv.slice(2)): ListenArgs {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string", default: "0" }, host: { type: "string", default: "127.0.0.1" } },
  });
  return { host: values.host, port: Number(values.port) };
}

/** Announces the bound port to the orchestrator. */
export function announceListening(port: number): void {
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
}

/** How long a server may take to close before it exits anyway. */
const CLOSE_GRACE_MS = 2000;

/** Exits cleanly on SIGTERM/SIGINT after `close` finishes (so `--cpu-prof` writes its profile). */
export function exitOnSignal(close: () => Promise<void> | void): void {
  const stop = () => {
    setTimeout(() => process.exit(0), CLOSE_GRACE_MS).unref();
    Promise.resolve(close()).finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
