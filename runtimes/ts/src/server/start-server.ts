/**
 * `startServer`: the entry point of a service process. Reads the MSEC INI
 * config, creates and listens the server, prints the bound address, and
 * drains gracefully on SIGTERM / SIGINT.
 *
 * Config keys read (spec §8.1, plus msec-gen's limit keys):
 *
 * | key | meaning |
 * |---|---|
 * | `[SRPC] listen` | `[iface:]port/tcp` and `[iface:]port/udp` entries, space-separated; one port for both. `iface` is `all`, an IP address or an interface name. Default `7963/tcp 7963/udp`. |
 * | `[SRPC] max_frame_bytes`, `max_connections`, `max_in_flight_per_connection`, `idle_timeout_ms`, `max_http_header_bytes`, `request_timeout_ms`, `max_pending_output_bytes`, `max_udp_in_flight` | limits (`ServerOptions`) |
 * | `[SRPC] drain_timeout_ms` | how long SIGTERM waits for running calls (default 10 s) |
 * | `[SRPC] workers` | worker processes serving the port: a whole number (default 1) or `auto` (one per core); see `workers.ts` |
 * | `[SRPC] canonical_json` | `1`/`true`: JSON responses in canonical ProtoJSON |
 * | `[LOG] Level` | TRACE, DEBUG, INFO, ERROR, FATAL or NONE (default ERROR) |
 * | `[LOG] access_log` | `1`/`true`: one JSON line per call on stderr (`ServerOptions.accessLog`, docs/metrics.md) |
 * | `[COLOR] FieldName<i>` / `FieldValue<i>` | log colouring conditions |
 * | `[ROUTE] File` | routes file for outgoing calls (unless `$MSEC_ROUTES` is set; default `etc/routes.conf`) |
 * | `[ROUTE] etcd` (or `$MSEC_ETCD_ENDPOINTS`), `etcd_prefix`, `etcd_ttl`, `etcd_weight`, `etcd_advertise` | route through etcd: outgoing calls resolve through a watch-fed cache, and the service registers itself under a lease (see `route/etcd/etcd-config.ts`) |
 */
import { networkInterfaces } from "node:os";
import { type Config, DEFAULT_CONFIG_PATH, loadConfig } from "../config.js";
import { createLogger, logOptionsFromConfig } from "../log.js";
import { createRoutesFileResolver, registerResolver, setRoutesFileResolver, unregisterResolver } from "../route/index.js";
import { etcdSettingsFromConfig } from "../route/etcd/etcd-config.js";
import { createEtcdResolver } from "../route/etcd/etcd-resolver.js";
import type { EtcdRegistration } from "../route/etcd/registration.js";
import { setDefaultCaller } from "../client/call-options.js";
import { configureClient } from "../client/connection-pool.js";
import { startupLogger } from "./startup-log.js";
import { serveAsInstance } from "./worker-instance.js";
import { registerInstance } from "./instance-registration.js";
import { type WorkerLink, connectWorker, isWorkerProcess, parseWorkers, startWorkers } from "./workers.js";
import { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_PORT, type Server, type ServerOptions, createServer } from "./server.js";

export interface StartServerOptions {
  /** INI config; default `etc/config.ini` (relative to the working directory); a missing file means defaults. */
  configPath?: string;
  /** This service's two-level name `Group.Service`. */
  serviceName?: string;
  /** Registers the service's methods. */
  register: (server: Server) => void;
  /** Options that win over the config file. */
  overrides?: Partial<ServerOptions>;
  /** Worker processes (wins over `[SRPC] workers`): a whole number, or `"auto"` for one per core. */
  workers?: number | "auto";
}

/** What `[SRPC] listen` selects. */
export interface ListenSpec {
  host: string;
  port: number;
  udp: boolean;
}

/** Resolves the `iface` part of a listen entry: `all`/empty → every interface, an IP as is, else an interface name. */
function hostOf(iface: string): string {
  if (iface === "" || iface === "all") return "0.0.0.0";
  if (/^[0-9.]+$/.test(iface) || iface.includes(":")) return iface;
  const addrs = networkInterfaces()[iface];
  const v4 = addrs?.find((a) => a.family === "IPv4");
  if (!v4) throw new Error(`[SRPC] listen: no IPv4 address on interface ${iface}`);
  return v4.address;
}

/** Parses `[SRPC] listen` (e.g. `7963/tcp 7963/udp`, `eth0:7963/tcp`). */
export function parseListen(value: string | undefined): ListenSpec {
  if (value === undefined) return { host: "0.0.0.0", port: DEFAULT_PORT, udp: true };
  let host: string | undefined;
  let port: number | undefined;
  let udp = false;
  for (const entry of value.split(/\s+/).filter((e) => e !== "")) {
    const m = /^(?:(.*):)?(\d+)\/(tcp|udp)$/.exec(entry);
    if (!m) throw new Error(`[SRPC] listen: bad entry "${entry}" (want [iface:]port/tcp|udp)`);
    const entryPort = Number(m[2]);
    const entryHost = hostOf(m[1] ?? "");
    if (entryPort > 65535) throw new Error(`[SRPC] listen: bad port in "${entry}"`);
    if (port !== undefined && (port !== entryPort || host !== entryHost)) {
      throw new Error(`[SRPC] listen: all entries must share one address and port (TCP and UDP use the same port)`);
    }
    port = entryPort;
    host = entryHost;
    if (m[3] === "udp") udp = true;
  }
  if (port === undefined || host === undefined) throw new Error("[SRPC] listen: no entries");
  return { host, port, udp };
}

function numberKey(config: Config, key: string): number | undefined {
  const v = config.get("SRPC", key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`[SRPC] ${key}: not a number: ${v}`);
  return n;
}

/** Server options from a parsed config (before overrides). */
export function serverOptionsFromConfig(config: Config): ServerOptions & { drainTimeoutMs: number } {
  const listen = parseListen(config.get("SRPC", "listen"));
  const options: ServerOptions & { drainTimeoutMs: number } = {
    host: listen.host,
    port: listen.port,
    udp: listen.udp,
    drainTimeoutMs: numberKey(config, "drain_timeout_ms") ?? DEFAULT_DRAIN_TIMEOUT_MS,
  };
  const limits = [
    ["max_frame_bytes", "maxFrameBytes"],
    ["max_connections", "maxConnections"],
    ["max_in_flight_per_connection", "maxInFlightPerConnection"],
    ["idle_timeout_ms", "idleTimeoutMs"],
    ["max_http_header_bytes", "maxHttpHeaderBytes"],
    ["request_timeout_ms", "requestTimeoutMs"],
    ["max_pending_output_bytes", "maxPendingOutputBytes"],
    ["max_udp_in_flight", "maxUdpInFlight"],
  ] as const;
  for (const [key, option] of limits) {
    const n = numberKey(config, key);
    if (n !== undefined) options[option] = n;
  }
  const canonical = config.get("SRPC", "canonical_json");
  if (canonical !== undefined) options.canonicalJson = canonical === "1" || canonical.toLowerCase() === "true";
  const accessLog = config.get("LOG", "access_log");
  if (accessLog !== undefined) options.accessLog = accessLog === "1" || accessLog.toLowerCase() === "true";
  return options;
}

/**
 * Loads the config, registers the methods, listens, prints the JSON line
 * `{"time":…,"level":"INFO",…,"msg":"listening on <host>:<port> (tcp+udp)","host":…,"port":…,"transports":"tcp+udp"}`
 * on stdout (the logger's line shape; `msg` keeps the old text) and drains on
 * SIGTERM/SIGINT (then exits the process). Resolves with the listening server.
 */
export async function startServer(options: StartServerOptions): Promise<Server> {
  const configPath = options.configPath ?? DEFAULT_CONFIG_PATH;
  const config = loadConfig(configPath);
  // Outgoing calls resolve names through the routes file this config names.
  setRoutesFileResolver(createRoutesFileResolver({ configFile: configPath }));
  const etcd = etcdSettingsFromConfig(config);
  const { drainTimeoutMs, ...fromConfig } = serverOptionsFromConfig(config);
  const serverOptions: ServerOptions = { ...fromConfig, ...options.overrides };
  if (options.serviceName !== undefined) serverOptions.serviceName = options.serviceName;
  serverOptions.logger ??= createLogger(logOptionsFromConfig(config));
  // Outgoing calls made by handlers name this service as their caller (CRpcHead.caller),
  // and replies the client has to drop are logged where the server logs.
  if (serverOptions.serviceName !== undefined) setDefaultCaller(serverOptions.serviceName);
  configureClient({ logger: serverOptions.logger });
  const transports = serverOptions.udp === false ? "tcp" : "tcp+udp";
  const workers =
    options.workers !== undefined ? parseWorkers(options.workers, "workers") : parseWorkers(config.get("SRPC", "workers"));
  if (workers > 1 && !isWorkerProcess()) {
    // The main process of a worker group: it serves no calls (workers.ts).
    const group = await startWorkers({ workers, drainTimeoutMs, logger: serverOptions.logger });
    return serveAsInstance(group, serverOptions, etcd, transports);
  }
  let stopping = false;
  let worker: WorkerLink | undefined;
  let made: Server | undefined;
  if (isWorkerProcess()) {
    // Before the server exists a worker has no metrics yet, and a drain request just exits.
    worker = connectWorker(
      () => made?.metricsText() ?? "",
      () => (made === undefined ? process.exit(0) : stop("SIGTERM")),
    );
    serverOptions.metricsSource = worker.instanceMetrics;
  }
  const server = createServer(serverOptions);
  made = server;
  options.register(server);
  const { host, port } = await server.listen();
  const announce = startupLogger(serverOptions.serviceName);
  // A worker's line is printed by its main process, once every worker listens.
  if (worker !== undefined) worker.listening(host, port);
  else announce.info(`listening on ${host}:${port} (${transports})`, { host, port, transports });
  let registration: EtcdRegistration | undefined;
  if (etcd !== undefined) {
    // Outgoing calls resolve through etcd first, then the routes file.
    const resolver = createEtcdResolver({ endpoints: etcd.endpoints, prefix: etcd.prefix });
    registerResolver(resolver);
    try {
      // A worker leaves registration to its main process: one entry per instance.
      if (serverOptions.serviceName !== undefined && worker === undefined) {
        registration = await registerInstance(etcd, serverOptions.serviceName, host, port, serverOptions.logger, announce);
      }
    } catch (err) {
      resolver.close();
      unregisterResolver(resolver);
      await server.close({ drainTimeoutMs: 0 });
      throw err;
    }
    // Deregister before draining, so callers stop picking this server while it finishes.
    const closeServer = server.close.bind(server);
    server.close = async (closeOptions) => {
      await registration?.close().catch((err: Error) => serverOptions.logger!.error("etcd deregistration failed", { error: err.message }));
      resolver.close();
      unregisterResolver(resolver);
      return closeServer(closeOptions);
    };
  }
  function stop(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    serverOptions.logger!.info("draining before exit", { signal });
    server.close({ drainTimeoutMs }).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return server;
}
