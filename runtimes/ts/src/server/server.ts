/**
 * The one-port server: SRPC frames and HTTP/JSON on one TCP port (told apart
 * by the first byte), SRPC over UDP on the same port number, dispatch by full
 * method name, limits, and graceful drain.
 */
import { type Socket as UdpSocket, createSocket } from "node:dgram";
import { type Server as NetServer, type Socket, createServer as createNetServer, isIPv6 } from "node:net";
import type { MethodDefinition, MethodRegistry } from "../handler.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../frame.js";
import { type Logger, createLogger } from "../log.js";
import { renderMetrics } from "../monitor.js";
import { AccessLog } from "./access-log.js";
import { CANONICAL_JSON_WRITE_OPTIONS, MSEC_JSON_WRITE_OPTIONS } from "./call-context.js";
import { Connection } from "./connection.js";
import type { ServerCore, ServerLimits } from "./core.js";
import { DEFAULT_MAX_HTTP_HEADER_BYTES } from "./http-request.js";
import { describeError } from "./outcome.js";
import { type RejectReason, ServerStats, renderServerStats } from "./stats.js";
import { openFileSoftLimit } from "./fd-limit.js";
import { renderProcessMetrics, startEventLoopMonitor } from "./process-metrics.js";
import { handleDatagram } from "./udp.js";
import { allowManyCallListeners } from "./call-deadline.js";

/** MSEC's standard service port (spec §1.9). */
export const DEFAULT_PORT = 7963;
/** Default listen address: every IPv4 interface, as MSEC servers. */
export const DEFAULT_HOST = "0.0.0.0";
/** Default cap on open TCP connections; connections beyond it are closed at once. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** Default cap on calls running at once per connection; beyond it the connection is paused, not dropped. */
export const DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION = 1024;
/** Default idle time after which a connection with nothing running is closed (MSEC's proxy: 60 s). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Default bound on `close()` waiting for running calls before it cuts connections. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** Default time an SRPC frame or HTTP request has to arrive complete, from its first byte. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Default bytes of answers waiting for a peer to read them, per connection, above which reading stops. */
export const DEFAULT_MAX_PENDING_OUTPUT_BYTES = 4 * 1024 * 1024;
/** Default cap on UDP calls running at once (whole server); datagrams beyond it are dropped. */
export const DEFAULT_MAX_UDP_IN_FLIGHT = 1024;
/** File descriptors kept free below the open-file limit when capping `maxConnections` (logs, files, outgoing calls). */
export const FD_RESERVE = 64;
/** Refused connections are logged at most once per this interval. */
const REJECT_LOG_INTERVAL_MS = 10_000;
/** Attempts to find a port free for both TCP and UDP when listening on port 0. */
const EPHEMERAL_PORT_ATTEMPTS = 10;

export interface ServerOptions {
  /** TCP (and UDP) port; default 7963; 0 picks a free port. */
  port?: number;
  /** Listen address; default `0.0.0.0`. */
  host?: string;
  /** Also answer SRPC over UDP on the same port number; default true. */
  udp?: boolean;
  /** Largest SRPC frame or HTTP body accepted; default 16 MiB. */
  maxFrameBytes?: number;
  /**
   * Open TCP connections allowed; default 10,000. Capped by the process's
   * open-file soft limit (`RLIMIT_NOFILE`) minus `FD_RESERVE` (logged once when it caps).
   */
  maxConnections?: number;
  /** Calls running at once per connection; default 1,024. */
  maxInFlightPerConnection?: number;
  /** Close connections idle this long; default 60,000 ms; 0 disables. */
  idleTimeoutMs?: number;
  /** Largest HTTP request line + headers; default 16 KiB. */
  maxHttpHeaderBytes?: number;
  /**
   * An SRPC frame or HTTP request (request line, headers and body) must be
   * complete within this long of its first byte, else the connection is
   * closed; bytes arriving do not extend it. Default 10,000 ms; 0 disables.
   */
  requestTimeoutMs?: number;
  /** Answers waiting for the peer to read them, per connection, above which the server stops reading it; default 4 MiB. */
  maxPendingOutputBytes?: number;
  /** UDP calls running at once (whole server); datagrams beyond it are dropped and counted; default 1,024. */
  maxUdpInFlight?: number;
  /** Write JSON responses as canonical ProtoJSON (lowerCamel names, enum names) instead of MSEC's proto names. */
  canonicalJson?: boolean;
  /**
   * The OpenAPI document (JSON text) served at `GET /openapi.json`; generated
   * packages pass their `openapi.json` (docs/openapi.md). Absent: that path is 404.
   */
  openapi?: string;
  /**
   * Where `GET /metrics` gets its text instead of this server's own metrics;
   * a worker of `[SRPC] workers=N` passes the instance's aggregate (workers.ts).
   */
  metricsSource?: () => Promise<string>;
  /** This service's two-level name `Group.Service`, used in logs. */
  serviceName?: string;
  /** Where the server and `ctx.log` write; default `createLogger()`. */
  logger?: Logger;
  /**
   * Writes one JSON line per answered call (docs/metrics.md, "Access log"):
   * `true` to stderr, or to the stream given. Default off (`[LOG] access_log=1`).
   */
  accessLog?: boolean | NodeJS.WritableStream;
}

export interface Server extends MethodRegistry {
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>;
  /**
   * Graceful shutdown: stop accepting, let running calls finish (at most
   * `drainTimeoutMs`, default 10 s, after which they are aborted), close.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
  /** The bound port (after `listen()`), else the configured one. */
  readonly port: number;
  /** This server's own Prometheus text (what `GET /metrics` serves without `metricsSource`). */
  metricsText(): string;
}

/** Creates a server; register methods, then `listen()`. */
export function createServer(options: ServerOptions = {}): Server {
  return new MsecServer(options);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${v}`);
  return v;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number, got ${v}`);
  return v;
}

class MsecServer implements Server, ServerCore {
  readonly methods = new Map<string, MethodDefinition>();
  readonly limits: ServerLimits;
  readonly logger: Logger;
  readonly stats = new ServerStats();
  readonly jsonWriteOptions;
  readonly openapi: string | undefined;
  readonly accessLog: AccessLog | undefined;
  readonly metricsSource: (() => Promise<string>) | undefined;
  draining = false;
  private readonly host: string;
  private boundPort: number;
  private readonly udpEnabled: boolean;
  private net: NetServer | undefined;
  private udp: UdpSocket | undefined;
  private readonly connections = new Set<Connection>();
  private udpInFlight = 0;
  private readonly udpAbort = newCallsAbortController();
  private closing: Promise<void> | undefined;
  /** When a refused connection was last logged (`performance.now()`), and how many were refused since. */
  private rejectLoggedAt = -Infinity;
  private rejectsSinceLog = 0;
  /** Resolves when the last connection and UDP call are gone during a drain. */
  private drained: (() => void) | undefined;

  constructor(options: ServerOptions) {
    this.host = options.host ?? DEFAULT_HOST;
    this.boundPort = options.port ?? DEFAULT_PORT;
    this.udpEnabled = options.udp ?? true;
    this.limits = {
      maxFrameBytes: positive(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, "maxFrameBytes"),
      maxConnections: positive(options.maxConnections, DEFAULT_MAX_CONNECTIONS, "maxConnections"),
      maxInFlightPerConnection: positive(
        options.maxInFlightPerConnection,
        DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION,
        "maxInFlightPerConnection",
      ),
      idleTimeoutMs: nonNegative(options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, "idleTimeoutMs"),
      maxHttpHeaderBytes: positive(options.maxHttpHeaderBytes, DEFAULT_MAX_HTTP_HEADER_BYTES, "maxHttpHeaderBytes"),
      requestTimeoutMs: nonNegative(options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, "requestTimeoutMs"),
      maxPendingOutputBytes: positive(
        options.maxPendingOutputBytes,
        DEFAULT_MAX_PENDING_OUTPUT_BYTES,
        "maxPendingOutputBytes",
      ),
      maxUdpInFlight: positive(options.maxUdpInFlight, DEFAULT_MAX_UDP_IN_FLIGHT, "maxUdpInFlight"),
    };
    const logger = options.logger ?? createLogger();
    this.logger = options.serviceName === undefined ? logger : logger.child({ service: options.serviceName });
    this.jsonWriteOptions = options.canonicalJson ? CANONICAL_JSON_WRITE_OPTIONS : MSEC_JSON_WRITE_OPTIONS;
    this.openapi = options.openapi;
    const access = options.accessLog;
    this.accessLog = access === undefined || access === false ? undefined : new AccessLog(access === true ? process.stderr : access);
    this.metricsSource = options.metricsSource;
  }

  get port(): number {
    return this.boundPort;
  }

  register(method: MethodDefinition): void {
    if (this.methods.has(method.name)) throw new Error(`method ${method.name} is already registered`);
    if (method.name === "") throw new Error("method name must not be empty");
    this.methods.set(method.name, method);
  }

  /** Everything `GET /metrics` serves: application metrics, the server's own, then the process's (docs/metrics.md). */
  metricsText(): string {
    const app = renderMetrics();
    return (app === "" || app.endsWith("\n") ? app : app + "\n") + renderServerStats(this.stats) + renderProcessMetrics();
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (this.net) throw new Error("server is already listening");
    this.capConnectionsByFdLimit();
    startEventLoopMonitor();
    const ephemeral = this.boundPort === 0;
    for (let attempt = 1; ; attempt++) {
      // allowHalfOpen: a peer that sends its request and then FIN still gets the answer.
      const net = createNetServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        net.once("error", reject);
        net.listen({ port: this.boundPort, host: this.host }, () => {
          net.off("error", reject);
          resolve();
        });
      });
      const port = (net.address() as { port: number }).port;
      if (!this.udpEnabled) {
        this.net = net;
        this.boundPort = port;
        break;
      }
      try {
        this.udp = await this.bindUdp(port);
        this.net = net;
        this.boundPort = port;
        break;
      } catch (e) {
        await new Promise<void>((resolve) => net.close(() => resolve()));
        // With port 0 the OS picked a TCP port whose UDP twin is taken; try another.
        if (!ephemeral || attempt >= EPHEMERAL_PORT_ATTEMPTS) throw e;
      }
    }
    this.net.on("error", (e: NodeJS.ErrnoException) => {
      // accept() failing for lack of fds (libuv closes the waiting connection) must neither crash nor flood the log.
      if (e.code === "EMFILE" || e.code === "ENFILE") this.refused("fd_limit");
      else this.logger.error("server socket error", { error: describeError(e) });
    });
    return { host: this.host, port: this.boundPort };
  }

  /** Caps `maxConnections` by the open-file soft limit minus `FD_RESERVE`; logs once when it does. */
  private capConnectionsByFdLimit(): void {
    const soft = openFileSoftLimit();
    if (soft === undefined) return;
    const cap = Math.max(1, soft - FD_RESERVE);
    if (this.limits.maxConnections <= cap) return;
    this.logger.error("max_connections capped by the open-file limit (RLIMIT_NOFILE soft limit minus a reserve)", {
      maxConnections: this.limits.maxConnections,
      openFileLimit: soft,
      reserve: FD_RESERVE,
      effectiveMaxConnections: cap,
    });
    this.limits.maxConnections = cap;
  }

  /** Counts a refused connection; logs at most once per `REJECT_LOG_INTERVAL_MS`, with the count since the last line. */
  private refused(reason: RejectReason): void {
    this.stats.rejectedConnections[reason]++;
    this.rejectsSinceLog++;
    const now = performance.now();
    if (now - this.rejectLoggedAt < REJECT_LOG_INTERVAL_MS) return;
    this.logger.error("refusing connections", {
      reason,
      refusedSinceLastLine: this.rejectsSinceLog,
      maxConnections: this.limits.maxConnections,
      openConnections: this.connections.size,
    });
    this.rejectLoggedAt = now;
    this.rejectsSinceLog = 0;
  }

  private bindUdp(port: number): Promise<UdpSocket> {
    const udp = createSocket({ type: isIPv6(this.host) ? "udp6" : "udp4" });
    return new Promise((resolve, reject) => {
      udp.once("error", reject);
      udp.bind({ port, address: this.host }, () => {
        udp.off("error", reject);
        udp.on("error", (e) => this.logger.error("udp socket error", { error: describeError(e) }));
        udp.on("message", (msg, rinfo) => {
          if (this.udpInFlight >= this.limits.maxUdpInFlight) {
            this.stats.udpDroppedOverload++;
            return;
          }
          handleDatagram(this, udp, msg, rinfo, this.udpAbort.signal, this.udpStarted, this.udpFinished);
        });
        resolve(udp);
      });
    });
  }

  private readonly udpStarted = (): void => {
    this.udpInFlight++;
  };

  private readonly udpFinished = (): void => {
    this.udpInFlight--;
    this.checkDrained();
  };

  private accept(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.limits.maxConnections) {
      this.refused("max_connections");
      socket.destroy();
      return;
    }
    this.stats.acceptedConnections++;
    this.stats.openConnections++;
    const conn = new Connection(this, socket, this.connectionClosed);
    this.connections.add(conn);
  }

  private readonly connectionClosed = (conn: Connection): void => {
    if (this.connections.delete(conn)) this.stats.openConnections--;
    this.checkDrained();
  };

  private checkDrained(): void {
    if (this.drained && this.connections.size === 0 && this.udpInFlight === 0) this.drained();
  }

  close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.drain(options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    return this.closing;
  }

  private async drain(drainTimeoutMs: number): Promise<void> {
    this.draining = true;
    const net = this.net;
    const stopped = net ? new Promise<void>((resolve) => net.close(() => resolve())) : Promise.resolve();
    const allGone = new Promise<void>((resolve) => {
      this.drained = resolve;
    });
    for (const conn of this.connections) conn.beginDrain();
    this.checkDrained();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), drainTimeoutMs);
    });
    const late = await Promise.race([allGone.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      this.logger.error("drain timeout passed; closing connections with calls still running", {
        connections: this.connections.size,
        udpCalls: this.udpInFlight,
      });
      this.udpAbort.abort();
      for (const conn of this.connections) conn.destroy();
    }
    await stopped;
    if (this.udp) {
      const udp = this.udp;
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
  }
}

/** An abort controller whose signal every call with a deadline may listen to. */
function newCallsAbortController(): AbortController {
  const controller = new AbortController();
  allowManyCallListeners(controller.signal);
  return controller;
}
