/**
 * Sums the Prometheus text expositions of several worker processes into the
 * one exposition of their instance (`[SRPC] workers=N`).
 *
 * Generic over metric names: each text is parsed line by line; samples with
 * the same name and labels (the series key, as written) are added, whatever
 * the type — counters, gauges, histogram buckets, `_sum` and `_count` alike —
 * except the gauges that describe one process (`NOT_SUMMED`: start time,
 * fd limit, event-loop lag), and each family's `# HELP` / `# TYPE` lines are
 * kept once. Families keep the
 * order in which they first appear, and a series that only some workers have
 * is placed after the series that precedes it in that worker's text, so
 * histogram buckets stay grouped and in order.
 */

/** One metric family being merged: its comment lines and its series, in order. */
interface Family {
  comments: string[];
  /** Series keys (`name{labels}`) in output order. */
  keys: string[];
  values: Map<string, number>;
}

/**
 * Gauges of one process that a sum would make meaningless, and how they
 * combine instead: the oldest worker's start, the largest fd limit, the worst
 * event-loop lag.
 */
const NOT_SUMMED: ReadonlyArray<readonly [RegExp, (a: number, b: number) => number]> = [
  [/^process_start_time_seconds$/, Math.min],
  [/^process_max_fds$/, Math.max],
  [/^nodejs_eventloop_lag_/, Math.max],
];

/** How two workers' values of the series `name` combine. */
function combiner(name: string): (a: number, b: number) => number {
  for (const [pattern, combine] of NOT_SUMMED) if (pattern.test(name)) return combine;
  return (a, b) => a + b;
}

/** `name{labels} value [timestamp]` → [series key, value]; `undefined` for a line that is not a sample. */
function parseSample(line: string): [string, number] | undefined {
  // Label values may hold spaces, so the key ends at the closing brace when there is one.
  const brace = line.indexOf("{");
  const close = brace >= 0 ? line.lastIndexOf("}") : -1;
  const keyEnd = close >= 0 ? close + 1 : line.indexOf(" ");
  if (keyEnd <= 0) return undefined;
  const rest = line.slice(keyEnd).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? "");
  return value === undefined ? undefined : [line.slice(0, keyEnd), value];
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (text === "") return undefined;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}

function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** The family a sample belongs to: the family named by the last `# HELP`/`# TYPE` when the sample's name extends it. */
function familyOf(sampleName: string, current: string | undefined): string {
  return current !== undefined && sampleName.startsWith(current) ? current : sampleName;
}

/** The aggregate exposition of `texts` (one per worker); ends with a newline unless empty. */
export function aggregateMetrics(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const familyFor = (name: string): Family => {
    let family = families.get(name);
    if (family === undefined) {
      family = { comments: [], keys: [], values: new Map() };
      families.set(name, family);
    }
    return family;
  };
  for (const text of texts) {
    let current: string | undefined;
    /** Per family, the key of the last series this text gave (where its next new series goes). */
    const lastKey = new Map<string, string>();
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line === "") continue;
      if (line.startsWith("#")) {
        const m = /^#\s+(HELP|TYPE)\s+(\S+)/.exec(line);
        if (m === null) continue; // other comments carry nothing to aggregate
        current = m[2]!;
        const family = familyFor(current);
        if (!family.comments.includes(line)) family.comments.push(line);
        continue;
      }
      const sample = parseSample(line);
      if (sample === undefined) continue;
      const [key, value] = sample;
      const name = key.split("{", 1)[0]!;
      const familyName = familyOf(name, current);
      const family = familyFor(familyName);
      const previous = family.values.get(key);
      if (previous === undefined) {
        const after = lastKey.get(familyName);
        const at = after === undefined ? 0 : family.keys.indexOf(after) + 1;
        family.keys.splice(at, 0, key);
        family.values.set(key, value);
      } else {
        family.values.set(key, combiner(name)(previous, value));
      }
      lastKey.set(familyName, key);
    }
  }
  const lines: string[] = [];
  for (const family of families.values()) {
    lines.push(...family.comments);
    for (const key of family.keys) lines.push(`${key} ${formatValue(family.values.get(key)!)}`);
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

/** The `msec_workers` gauge appended to an instance's aggregate. */
export function workersGauge(workers: number): string {
  return (
    "# HELP msec_workers Worker processes serving this instance ([SRPC] workers).\n" +
    "# TYPE msec_workers gauge\n" +
    `msec_workers ${workers}\n`
  );
}
