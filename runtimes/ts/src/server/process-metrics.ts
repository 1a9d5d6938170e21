/**
 * Process metrics with the names Prometheus client libraries use
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `process_open_fds`, `process_max_fds`, `process_start_time_seconds`),
 * read when `/metrics` is scraped, plus the Node event loop's delay
 * (`nodejs_eventloop_lag_*_seconds`) sampled by `perf_hooks`.
 * The Python server exports the same `process_*` families (docs/metrics.md).
 */
import { readdirSync } from "node:fs";
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { openFileSoftLimit } from "./fd-limit.js";

/** Sampling interval of the event-loop delay monitor, in ms (a libuv timer; 20 ms costs nothing measurable). */
const EVENT_LOOP_RESOLUTION_MS = 20;

/** Process start, in Unix seconds (now minus uptime, read once). */
const startTimeSeconds = Date.now() / 1000 - process.uptime();

let loopDelay: IntervalHistogram | undefined;

/** Starts sampling the event loop's delay (idempotent; called when a server listens). */
export function startEventLoopMonitor(): void {
  if (loopDelay !== undefined) return;
  loopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  loopDelay.enable();
}

/** Open file descriptors of this process: the entries of `/proc/self/fd` (Linux), minus the one reading it. */
function openFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return undefined; // not Linux: the family is left out
  }
}

function gauge(lines: string[], name: string, help: string, value: number, type = "gauge"): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
}

/** Prometheus text of the process metrics, read now. */
export function renderProcessMetrics(): string {
  const lines: string[] = [];
  const cpu = process.cpuUsage();
  gauge(lines, "process_cpu_seconds_total", "User and system CPU time spent, in seconds.", (cpu.user + cpu.system) / 1e6, "counter");
  gauge(lines, "process_resident_memory_bytes", "Resident memory size, in bytes.", process.memoryUsage.rss());
  const fds = openFds();
  if (fds !== undefined) gauge(lines, "process_open_fds", "Open file descriptors.", fds);
  const maxFds = openFileSoftLimit();
  if (maxFds !== undefined) gauge(lines, "process_max_fds", "Most open file descriptors allowed (RLIMIT_NOFILE soft limit).", maxFds);
  gauge(lines, "process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", startTimeSeconds);
  if (loopDelay !== undefined) {
    // The histogram is in nanoseconds and reset after each scrape, so the values cover the time since the
    // last one (0 when no sample was taken since: two scrapes closer than the sampling interval).
    const sampled = loopDelay.count > 0;
    const seconds = (ns: number) => (sampled ? ns / 1e9 : 0);
    gauge(lines, "nodejs_eventloop_lag_mean_seconds", "Mean event-loop delay since the previous scrape, in seconds.", seconds(loopDelay.mean));
    gauge(lines, "nodejs_eventloop_lag_p99_seconds", "99th percentile of the event-loop delay since the previous scrape, in seconds.", seconds(loopDelay.percentile(99)));
    gauge(lines, "nodejs_eventloop_lag_max_seconds", "Longest event-loop delay since the previous scrape, in seconds.", seconds(loopDelay.max));
    loopDelay.reset();
  }
  return lines.join("\n") + "\n";
}
