/**
 * The server's own counters and latency histograms, rendered in the
 * Prometheus text exposition format next to the application's metrics on
 * `GET /metrics`. Names, labels and meanings are shared with the Python
 * server and listed in docs/metrics.md.
 */
import { DURATION_BUCKETS, type HistogramSeries, Metrics } from "../monitor.js";

/** Label used for requests whose method is not registered, so clients cannot grow the label set. */
export const UNKNOWN_METHOD_LABEL = "(unknown)";

export type Transport = "tcp" | "udp" | "http";

/** Why a TCP connection was refused: `maxConnections` (after the fd cap) was reached, or accept failed for lack of file descriptors. */
export type RejectReason = "max_connections" | "fd_limit";

/** Histogram of the time from a request's first byte to its answer. */
export const REQUEST_DURATION_METRIC = "msec_server_request_duration_seconds";
const REQUEST_DURATION_HELP =
  "Time from a request's first byte to its answer being handed to the socket, by method and transport (every code).";

/** A method's successful calls and latency histograms by transport: what one answered call touches. */
class MethodCounters {
  readonly ok: Record<Transport, number> = { tcp: 0, udp: 0, http: 0 };
  readonly duration: Record<Transport, HistogramSeries | undefined> = { tcp: undefined, udp: undefined, http: undefined };
}

/** Per-method, per-code, per-transport request counts. Mutated directly by the server. */
export class ServerStats {
  /** The latency histograms (one series per method and transport, made on first use). */
  readonly histograms = new Metrics();
  /** method → `transport code` → count. */
  readonly requests = new Map<string, Map<string, number>>();
  inFlight = 0;
  openConnections = 0;
  acceptedConnections = 0;
  /** Connections refused, by reason. */
  readonly rejectedConnections: Record<RejectReason, number> = { max_connections: 0, fd_limit: 0 };
  /** Connections closed for being idle longer than `idleTimeoutMs`. */
  idleClosed = 0;
  /** Connections closed because a frame or HTTP request was not complete within `requestTimeoutMs` of its first byte. */
  readonly timeouts: Record<"tcp" | "http", number> = { tcp: 0, http: 0 };
  /** UDP datagrams dropped because `maxUdpInFlight` calls were running. */
  udpDroppedOverload = 0;
  /** Malformed input by transport: bad frames, bad HTTP, undeliverable datagrams. */
  readonly malformed: Record<Transport, number> = { tcp: 0, udp: 0, http: 0 };

  /** Calls answered -10 because the caller's deadline passed, by method (registered methods only). */
  readonly deadlineExceeded = new Map<string, number>();

  countDeadlineExceeded(method: string): void {
    this.deadlineExceeded.set(method, (this.deadlineExceeded.get(method) ?? 0) + 1);
  }

  /** Successful calls and latencies by method: the hot path, one map lookup and no string building. */
  readonly byMethod = new Map<string, MethodCounters>();

  private methodCounters(method: string): MethodCounters {
    let counters = this.byMethod.get(method);
    if (counters === undefined) {
      counters = new MethodCounters();
      this.byMethod.set(method, counters);
    }
    return counters;
  }

  /** The latency histogram of a method and transport, made on first use. */
  private latency(counters: MethodCounters, method: string, transport: Transport): HistogramSeries {
    let series = counters.duration[transport];
    if (series === undefined) {
      series = this.histograms.histogram(REQUEST_DURATION_METRIC, REQUEST_DURATION_HELP, { method, transport }, DURATION_BUCKETS);
      counters.duration[transport] = series;
    }
    return series;
  }

  /**
   * Counts a call answered with code 0; returns the histogram its latency
   * (seconds) goes into — the caller observes it, so a TCP connection can
   * read the clock once for every answer of one write.
   */
  countSuccess(method: string, transport: Transport): HistogramSeries {
    const counters = this.methodCounters(method);
    counters.ok[transport]++;
    return this.latency(counters, method, transport);
  }

  /** Counts a call answered with `code` (method: the registered name or `UNKNOWN_METHOD_LABEL`); returns its latency histogram. */
  countRequest(method: string, transport: Transport, code: number): HistogramSeries {
    if (code === 0) return this.countSuccess(method, transport);
    const series = this.latency(this.methodCounters(method), method, transport);
    let byKey = this.requests.get(method);
    if (byKey === undefined) {
      byKey = new Map();
      this.requests.set(method, byKey);
    }
    const key = `${transport} ${code}`;
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
    return series;
  }
}

function labelValue(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Prometheus text for the server's counters. */
export function renderServerStats(stats: ServerStats): string {
  const lines: string[] = [];
  lines.push("# HELP msec_server_requests_total Requests answered, by method, transport and SRPC code.");
  lines.push("# TYPE msec_server_requests_total counter");
  const all = new Map<string, Map<string, number>>();
  for (const [method, byKey] of stats.requests) all.set(method, new Map(byKey));
  for (const [method, counters] of stats.byMethod) {
    let byKey = all.get(method);
    if (byKey === undefined) all.set(method, (byKey = new Map()));
    for (const t of ["tcp", "udp", "http"] as const) if (counters.ok[t] > 0) byKey.set(`${t} 0`, counters.ok[t]);
  }
  for (const [method, byKey] of [...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const [key, count] of [...byKey].sort()) {
      const [transport, code] = key.split(" ");
      lines.push(
        `msec_server_requests_total{method="${labelValue(method)}",transport="${transport}",code="${code}"} ${count}`,
      );
    }
  }
  const gauge = (name: string, help: string, value: number) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
  const counter = (name: string, help: string, value: number) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
  gauge("msec_server_in_flight", "Calls being processed.", stats.inFlight);
  gauge("msec_server_connections", "Open TCP connections.", stats.openConnections);
  counter("msec_server_connections_accepted_total", "TCP connections accepted.", stats.acceptedConnections);
  lines.push(
    "# HELP msec_server_rejected_connections_total TCP connections refused: maxConnections reached (max_connections) or no file descriptor left (fd_limit).",
    "# TYPE msec_server_rejected_connections_total counter",
  );
  for (const r of ["max_connections", "fd_limit"] as const) {
    lines.push(`msec_server_rejected_connections_total{reason="${r}"} ${stats.rejectedConnections[r]}`);
  }
  counter("msec_server_connections_idle_closed_total", "TCP connections closed after idleTimeoutMs.", stats.idleClosed);
  lines.push(
    "# HELP msec_server_timeouts_total Connections closed because a frame (tcp) or HTTP request (http) was not complete within requestTimeoutMs of its first byte.",
    "# TYPE msec_server_timeouts_total counter",
  );
  for (const t of ["tcp", "http"] as const) lines.push(`msec_server_timeouts_total{transport="${t}"} ${stats.timeouts[t]}`);
  lines.push(
    "# HELP msec_server_dropped_total Requests dropped unanswered, by transport and reason.",
    "# TYPE msec_server_dropped_total counter",
    `msec_server_dropped_total{transport="udp",reason="overload"} ${stats.udpDroppedOverload}`,
  );
  lines.push(
    "# HELP msec_server_deadline_exceeded_total Calls answered -10 because the caller's deadline (timeout_ms, X-Msec-Timeout-Ms) passed, by method.",
    "# TYPE msec_server_deadline_exceeded_total counter",
  );
  for (const [method, count] of [...stats.deadlineExceeded].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(`msec_server_deadline_exceeded_total{method="${labelValue(method)}"} ${count}`);
  }
  lines.push("# HELP msec_server_malformed_total Malformed frames, datagrams and HTTP requests, by transport.");
  lines.push("# TYPE msec_server_malformed_total counter");
  for (const t of ["tcp", "udp", "http"] as const) {
    lines.push(`msec_server_malformed_total{transport="${t}"} ${stats.malformed[t]}`);
  }
  return lines.join("\n") + "\n" + stats.histograms.render();
}
