/**
 * Latency recording for the benchmarks: a fixed histogram, so recording a
 * sample is one array increment (no allocation on the load generator's hot
 * path). Buckets are 1 µs wide up to 100 ms (percentiles exact to the
 * microsecond where fast servers live) and 100 µs wide from there to 10 s.
 */

/** Samples below this many microseconds (100 ms) get 1 µs buckets. */
export const FINE_LIMIT_US = 100_000;
/** Width of the buckets from FINE_LIMIT_US on. */
export const COARSE_STEP_US = 100;
/** Samples at or above this many microseconds (10 s) share the last bucket. */
export const LATENCY_LIMIT_US = 10_000_000;

const BUCKETS = FINE_LIMIT_US + (LATENCY_LIMIT_US - FINE_LIMIT_US) / COARSE_STEP_US;

export interface LatencyHistogram {
  readonly counts: Uint32Array;
  total: number;
  /** Largest sample, in milliseconds. */
  maxMs: number;
}

export function createLatencyHistogram(): LatencyHistogram {
  return { counts: new Uint32Array(BUCKETS), total: 0, maxMs: 0 };
}

function bucketOf(us: number): number {
  if (us < FINE_LIMIT_US) return us < 0 ? 0 : us;
  if (us >= LATENCY_LIMIT_US) return BUCKETS - 1;
  return FINE_LIMIT_US + Math.floor((us - FINE_LIMIT_US) / COARSE_STEP_US);
}

/** Upper edge of a bucket, in microseconds. */
function bucketTopUs(bucket: number): number {
  return bucket < FINE_LIMIT_US ? bucket + 1 : FINE_LIMIT_US + (bucket - FINE_LIMIT_US + 1) * COARSE_STEP_US;
}

/** Records one sample given in milliseconds (as `performance.now()` differences are). */
export function recordLatency(h: LatencyHistogram, ms: number): void {
  h.counts[bucketOf(Math.floor(ms * 1000))]!++;
  h.total++;
  if (ms > h.maxMs) h.maxMs = ms;
}

/** Forgets every sample (end of the warm-up). */
export function resetLatency(h: LatencyHistogram): void {
  h.counts.fill(0);
  h.total = 0;
  h.maxMs = 0;
}

/**
 * The q-quantile (0 < q ≤ 1) in milliseconds: the smallest bucket below
 * which at least q of the samples fall, reported at the bucket's upper edge
 * (never above the largest sample). NaN when there are no samples.
 */
export function latencyQuantile(h: LatencyHistogram, q: number): number {
  if (h.total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * h.total));
  let seen = 0;
  for (let bucket = 0; bucket < h.counts.length; bucket++) {
    seen += h.counts[bucket]!;
    if (seen >= rank) return Math.min(bucketTopUs(bucket) / 1000, h.maxMs);
  }
  return h.maxMs;
}
