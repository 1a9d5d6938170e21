/**
 * Startup lines (`listening on …`, `registered … in etcd`): JSON log lines
 * on stdout whatever `[LOG] Level` says, because tools and scripts wait for
 * them. Used by a single server and by the main process of a worker group.
 */
import { type Logger, createLogger } from "../log.js";

/** The logger startup lines go through, with the service name as a field when there is one. */
export function startupLogger(serviceName?: string): Logger {
  const stdoutLog = createLogger({ level: "INFO", destination: process.stdout });
  return serviceName === undefined ? stdoutLog : stdoutLog.child({ service: serviceName });
}
