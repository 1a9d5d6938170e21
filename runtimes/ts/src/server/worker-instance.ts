/**
 * The main process of `[SRPC] workers=N` seen as one service instance: it
 * prints the `listening on …` line, registers the instance in etcd once,
 * and on SIGTERM/SIGINT deregisters, drains every worker and exits.
 */
import type { EtcdSettings } from "../route/etcd/etcd-config.js";
import type { EtcdRegistration } from "../route/etcd/registration.js";
import { registerInstance } from "./instance-registration.js";
import type { Server, ServerOptions } from "./server.js";
import type { WorkerGroup } from "./workers.js";
import { startupLogger } from "./startup-log.js";

/**
 * Serves `group` as this process's instance; resolves with a `Server` whose
 * `close()` drains the workers (its `register`/`listen` belong to the workers).
 */
export async function serveAsInstance(
  group: WorkerGroup,
  serverOptions: ServerOptions,
  etcd: EtcdSettings | undefined,
  transports: string,
): Promise<Server> {
  const logger = serverOptions.logger!;
  const { host, port } = group.address;
  const announce = startupLogger(serverOptions.serviceName);
  announce.info(`listening on ${host}:${port} (${transports})`, { host, port, transports });
  let registration: EtcdRegistration | undefined;
  if (etcd !== undefined && serverOptions.serviceName !== undefined) {
    try {
      registration = await registerInstance(etcd, serverOptions.serviceName, host, port, logger, announce);
    } catch (err) {
      await group.drain();
      throw err;
    }
  }
  let closing: Promise<void> | undefined;
  let allClean = true;
  const instance: Server = {
    port,
    register() {
      throw new Error("the main process of a worker group serves no methods; register them in startServer's register");
    },
    listen() {
      return Promise.reject(new Error("the worker group is already listening"));
    },
    metricsText() {
      return "";
    },
    close() {
      // Deregister before draining, so callers stop picking this instance while it finishes.
      closing ??= (async () => {
        await registration?.close().catch((err: Error) => logger.error("etcd deregistration failed", { error: err.message }));
        allClean = await group.drain();
      })();
      return closing;
    },
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (closing !== undefined) return;
    logger.info("draining workers before exit", { signal });
    instance.close().then(
      () => process.exit(allClean ? 0 : 1),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return instance;
}
