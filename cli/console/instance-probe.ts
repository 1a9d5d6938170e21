/**
 * What the services view shows of one running instance: `GET /health`, a few
 * numbers from `GET /metrics` (Prometheus text, the metric names of the TS and
 * Python servers) and whether it serves `/explorer`. Each request has a short
 * timeout; an instance that does not answer HTTP (MySQL, a UDP-only service,
 * a stopped server) is reported as unreachable with the reason.
 */
import http from "node:http";

/** Per-request timeout of a probe: the page waits for at most about this long. */
export const PROBE_TIMEOUT_MS = 1500;

export interface ProbeResult {
  /** `ok`, `draining` (503), `unreachable` (no HTTP answer) or `http <status>`. */
  readonly health: string;
  /** Why it is unreachable (connection refused, timeout, not HTTP…). */
  readonly reason?: string;
  readonly metrics: {
    /** Sum of `msec_server_requests_total`. */
    readonly requests?: number;
    /** The same, for `code` ≠ 0. */
    readonly errors?: number;
    readonly inFlight?: number;
    readonly connections?: number;
    readonly residentBytes?: number;
  };
  /** URL of the instance's API explorer when `GET /explorer` answers 200. */
  readonly explorer?: string;
}

/** Probes `http://<address>` (`ip:port`, IPv6 bracketed). */
export async function probeInstance(address: string): Promise<ProbeResult> {
  const base = `http://${address}`;
  let health: string;
  try {
    const { status } = await get(`${base}/health`);
    health = status === 200 ? "ok" : status === 503 ? "draining" : `http ${status}`;
  } catch (e) {
    return { health: "unreachable", reason: reasonOf(e), metrics: {} };
  }
  const [metrics, explorer] = await Promise.all([get(`${base}/metrics`).catch(() => undefined), get(`${base}/explorer`).catch(() => undefined)]);
  return {
    health,
    metrics: metrics?.status === 200 ? summarizeMetrics(metrics.body) : {},
    ...(explorer?.status === 200 ? { explorer: `${base}/explorer` } : {}),
  };
}

/** Largest answer read from an instance (metrics of a big server are a few hundred KiB). */
const MAX_PROBE_BODY_BYTES = 4 * 1024 * 1024;

/**
 * One GET with node:http (fetch refuses ports browsers block, such as 1 or
 * 6000, and a heterogeneous service may listen on any of them).
 */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: PROBE_TIMEOUT_MS, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_PROBE_BODY_BYTES) req.destroy(new Error(`answer larger than ${MAX_PROBE_BODY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new ProbeTimeout()));
    req.on("error", reject);
  });
}

class ProbeTimeout extends Error {
  constructor() {
    super(`no answer within ${PROBE_TIMEOUT_MS} ms`);
  }
}

function reasonOf(e: unknown): string {
  if (e instanceof ProbeTimeout) return e.message;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "HPE_INVALID_CONSTANT" || code?.startsWith("HPE_") === true) return "not HTTP";
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** The numbers the page shows, from Prometheus text format 0.0.4. */
export function summarizeMetrics(text: string): ProbeResult["metrics"] {
  let requests: number | undefined;
  let errors: number | undefined;
  const single = new Map<string, number>();
  for (const line of text.split("\n")) {
    // a declared family with no samples yet counts as 0 requests
    if (line.startsWith("# TYPE msec_server_requests_total ")) {
      requests ??= 0;
      errors ??= 0;
    }
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    if (m[1] === "msec_server_requests_total") {
      requests = (requests ?? 0) + value;
      const code = /code="([^"]*)"/.exec(m[2] ?? "")?.[1];
      errors = (errors ?? 0) + (code !== undefined && code !== "0" ? value : 0);
    } else if (m[2] === undefined) single.set(m[1]!, value);
  }
  const out: Record<string, number> = {};
  if (requests !== undefined) out.requests = requests;
  if (errors !== undefined) out.errors = errors;
  const pick = (key: string, ...names: string[]) => {
    for (const n of names) if (single.has(n)) return void (out[key] = single.get(n)!);
  };
  pick("inFlight", "msec_server_in_flight");
  pick("connections", "msec_server_connections");
  pick("residentBytes", "process_resident_memory_bytes");
  return out;
}
