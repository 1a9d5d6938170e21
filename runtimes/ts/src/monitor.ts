/**
 * Counters, gauges and histograms, exported in the Prometheus text exposition
 * format (version 0.0.4) on the server's `GET /metrics`.
 *
 * MSEC's attributes (spec §9.1) map onto two metric families whose `name`
 * label keeps the attribute name exactly as MSEC spells it:
 * `attrReport("GetTitles success")` adds to
 * `msec_attr_total{name="usr.GetTitles success"}` (a counter — MSEC "Add"),
 * `attrSet("queue", 3)` sets `msec_attr_gauge{name="usr.queue"} 3` (a gauge —
 * MSEC "Set"); `monitorAdd`/`monitorSet` do the same under `frm.rpc <name>`.
 */

/** Label names and values of one series. */
export type MetricLabels = Readonly<Record<string, string>>;

/** Default histogram buckets, in the unit observed (the server uses seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

type MetricType = "counter" | "gauge" | "histogram";

/**
 * Buckets of request latency in seconds: 100 µs to 10 s, so an echo call on
 * loopback (a few hundred µs) and a slow backend call (seconds) both land in
 * a bucket of their own.
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * One histogram series. `counts[i]` holds the observations that fell in
 * bucket `i` alone (not cumulated): an observation costs one short scan and
 * one increment; `render()` cumulates them into Prometheus `le` buckets.
 */
export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  /** Records one observation (finite; not checked here: this is the hot path of the server's latency). */
  observe(value: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly buckets: readonly number[];
  /** Series by their rendered label text (`{a="1",b="2"}` or ``). */
  readonly values: Map<string, number | HistogramSeries>;
}

/** A metric name valid in Prometheus: invalid characters become `_`, a leading digit gets a `_` prefix. */
export function metricName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[0-9]/.test(cleaned) || cleaned === "" ? `_${cleaned}` : cleaned;
}

/** A label value escaped for the exposition format: backslash, double quote and newline. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Most one-label series texts remembered (MSEC attributes, counted per call, are one-label series; the memo stops growing when full). */
const LABEL_TEXT_MEMO_MAX = 4096;
/** `{name="value"}` texts by label name and value (joined by a NUL), so a hot counter renders them once. */
const oneLabelTexts = new Map<string, string>();

/** Texts of the label objects `monitorAdd` keeps (never changed once made), by object. */
const keptLabelTexts = new WeakMap<MetricLabels, string>();

function labelText(labels: MetricLabels | undefined): string {
  if (labels === undefined) return "";
  const kept = keptLabelTexts.get(labels);
  if (kept !== undefined) return kept;
  const keys = Object.keys(labels);
  if (keys.length === 1) {
    const memoKey = `${keys[0]!}\0${labels[keys[0]!]!}`;
    let text = oneLabelTexts.get(memoKey);
    if (text === undefined) {
      text = `{${metricName(keys[0]!)}="${escapeLabelValue(labels[keys[0]!]!)}"}`;
      if (oneLabelTexts.size < LABEL_TEXT_MEMO_MAX) oneLabelTexts.set(memoKey, text);
    }
    return text;
  }
  keys.sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${metricName(k)}="${escapeLabelValue(labels[k]!)}"`).join(",")}}`;
}

function formatNumber(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

function checkFinite(value: number, what: string): void {
  if (!Number.isFinite(value)) throw new RangeError(`${what}: value must be a finite number, got ${value}`);
}

/** A registry of metric families; `render()` writes them all, sorted by name. */
export class Metrics {
  private readonly families = new Map<string, Family>();

  /** Adds `value` (≥ 0, default 1) to a counter series. */
  counterAdd(name: string, help: string, labels?: MetricLabels, value = 1): void {
    checkFinite(value, name);
    if (value < 0) throw new RangeError(`${name}: a counter cannot decrease (got ${value})`);
    const family = this.family(name, help, "counter");
    const key = labelText(labels);
    family.values.set(key, ((family.values.get(key) as number | undefined) ?? 0) + value);
  }

  /** Sets a gauge series to `value`. */
  gaugeSet(name: string, help: string, labels: MetricLabels | undefined, value: number): void {
    checkFinite(value, name);
    this.family(name, help, "gauge").values.set(labelText(labels), value);
  }

  /** Records one observation in a histogram series (buckets fixed by the first call for `name`). */
  histogramObserve(
    name: string,
    help: string,
    labels: MetricLabels | undefined,
    value: number,
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): void {
    checkFinite(value, name);
    this.histogram(name, help, labels, buckets).observe(value);
  }

  /**
   * The series of a histogram, created on first use, to keep and observe
   * directly: a hot path looks its labels up once, not per observation.
   */
  histogram(
    name: string,
    help: string,
    labels: MetricLabels | undefined,
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): HistogramSeries {
    const family = this.family(name, help, "histogram", buckets);
    const key = labelText(labels);
    let series = family.values.get(key) as HistogramSeries | undefined;
    if (series === undefined) {
      series = new HistogramSeries(family.buckets);
      family.values.set(key, series);
    }
    return series;
  }

  /** Forgets every series (tests, or a process that re-initialises). */
  clear(): void {
    this.families.clear();
  }

  /** All families in the Prometheus text format, sorted by metric name, series by label text. */
  render(): string {
    const lines: string[] = [];
    for (const family of [...this.families.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      lines.push(`# TYPE ${family.name} ${family.type}`);
      for (const key of [...family.values.keys()].sort()) {
        const value = family.values.get(key)!;
        if (!(value instanceof HistogramSeries)) {
          lines.push(`${family.name}${key} ${formatNumber(value)}`);
          continue;
        }
        const inner = key === "" ? "" : key.slice(1, -1) + ",";
        let cumulative = 0;
        family.buckets.forEach((bound, i) => {
          cumulative += value.counts[i]!;
          lines.push(`${family.name}_bucket{${inner}le="${formatNumber(bound)}"} ${cumulative}`);
        });
        lines.push(`${family.name}_bucket{${inner}le="+Inf"} ${value.count}`);
        lines.push(`${family.name}_sum${key} ${formatNumber(value.sum)}`);
        lines.push(`${family.name}_count${key} ${value.count}`);
      }
    }
    return lines.length === 0 ? "" : lines.join("\n") + "\n";
  }

  private family(name: string, help: string, type: MetricType, buckets: readonly number[] = []): Family {
    let family = this.families.get(name);
    if (family !== undefined && family.type === type && family.name === name) return family; // a clean name: no renaming to look up
    const clean = metricName(name);
    family = this.families.get(clean);
    if (family === undefined) {
      const sorted = [...buckets].sort((a, b) => a - b);
      family = { name: clean, help, type, buckets: sorted, values: new Map() };
      this.families.set(clean, family);
    } else if (family.type !== type) {
      throw new TypeError(`metric ${clean} is a ${family.type}, not a ${type}`);
    }
    return family;
  }
}

/** The process-wide registry that `/metrics` renders. */
export const metrics = new Metrics();

/** Counter family of accumulated MSEC attributes. */
export const ATTR_COUNTER = "msec_attr_total";
/** Gauge family of instant MSEC attributes. */
export const ATTR_GAUGE = "msec_attr_gauge";

const ATTR_COUNTER_HELP = "MSEC attributes accumulated with attrReport/monitorAdd, by attribute name.";
const ATTR_GAUGE_HELP = "MSEC attributes set with attrSet/monitorSet, by attribute name.";

/** MSEC `attr_report`: accumulates `usr.<name>` (default +1). */
export function attrReport(name: string, value = 1): void {
  metrics.counterAdd(ATTR_COUNTER, ATTR_COUNTER_HELP, { name: `usr.${name}` }, value);
}

/** MSEC `attr_set`: sets the gauge `usr.<name>`. */
export function attrSet(name: string, value: number): void {
  metrics.gaugeSet(ATTR_GAUGE, ATTR_GAUGE_HELP, { name: `usr.${name}` }, value);
}

/** `{ name: "frm.rpc <name>" }` by name, with their texts in `keptLabelTexts` (every client call adds to one; the memo stops growing when full). */
const monitorLabels = new Map<string, MetricLabels>();

/** MSEC `monitor_add`: accumulates the framework attribute `frm.rpc <name>` (default +1). */
export function monitorAdd(name: string, value = 1): void {
  let labels = monitorLabels.get(name);
  if (labels === undefined) {
    labels = { name: `frm.rpc ${name}` };
    if (monitorLabels.size < LABEL_TEXT_MEMO_MAX) {
      keptLabelTexts.set(labels, labelText(labels));
      monitorLabels.set(name, labels);
    }
  }
  metrics.counterAdd(ATTR_COUNTER, ATTR_COUNTER_HELP, labels, value);
}

/** MSEC `monitor_set`: sets the framework gauge `frm.rpc <name>`. */
export function monitorSet(name: string, value: number): void {
  metrics.gaugeSet(ATTR_GAUGE, ATTR_GAUGE_HELP, { name: `frm.rpc ${name}` }, value);
}

/** The process-wide registry in the Prometheus text format (what `GET /metrics` serves). */
export function renderMetrics(): string {
  return metrics.render();
}
