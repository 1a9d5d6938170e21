/**
 * Latency recording for the benchmarks: a fixed histogram with 1 µs buckets,
 * so recording a sample is one array increment (no allocation on the load
 * generator's hot path) and percentiles are exact to the microsecond.
 */

/** Latencies up to this many microseconds (100 ms) get their own bucket; longer ones share the last. */
export const LATENCY_BUCKETS_US = 100_000;

export interface LatencyHistogram {
  /** counts[i] = samples that took i µs (rounded down); the last bucket holds everything ≥ LATENCY_BUCKETS_US - 1. */
  readonly counts: Uint32Array;
  total: number;
  /** Largest sample, in milliseconds. */
  maxMs: number;
}

export function createLatencyHistogram(): LatencyHistogram {
  return { counts: new Uint32Array(LATENCY_BUCKETS_US), total: 0, maxMs: 0 };
}

/** Records one sample given in milliseconds (as `performance.now()` differences are). */
export function recordLatency(h: LatencyHistogram, ms: number): void {
  let us = Math.floor(ms * 1000);
  if (us >= LATENCY_BUCKETS_US) us = LATENCY_BUCKETS_US - 1;
  else if (us < 0) us = 0;
  h.counts[us]!++;
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
 * which at least q of the samples fall, reported at the bucket's upper edge.
 * NaN when there are no samples.
 */
export function latencyQuantile(h: LatencyHistogram, q: number): number {
  if (h.total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * h.total));
  let seen = 0;
  for (let us = 0; us < h.counts.length; us++) {
    seen += h.counts[us]!;
    if (seen >= rank) return (us + 1) / 1000;
  }
  return h.maxMs;
}
