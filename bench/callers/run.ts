/**
 * The caller benchmark (`npm run bench:callers`): one TypeScript conformance
 * server (instance `a` of test/conformance/server.ts), then, one after the
 * other, the raw pipelined client (raw-client.ts) and each language's
 * conformance runner doing its `load` step — echo calls with `--concurrency`
 * in flight from one process, through the generated caller — for the same
 * duration. The raw client runs again after every caller, so each caller's
 * share ("of raw") is taken against the mean of the two raw runs around it:
 * on a shared 2-core machine the server's pace drifts by ±15 % over a minute,
 * and one raw run at the start would turn that drift into the callers'
 * ratios. Prints a table and, last, one JSON line
 * `{"raw_rps":…, "ts_rps":…, "python_rps":…, "go_rps":…, "java_rps":…, "cpp_rps":…, "php_rps":…, "python_async_rps":…, "<lang>_p99_ms":…, …}`;
 * `raw_rps` is the median of the raw runs (all listed in `raw_runs_rps`), and
 * `<lang>_of_raw` each caller's share against its neighbouring raw runs;
 * a caller that could not be measured is `null` there, with the reason on stderr.
 *
 * Run from source with tsx after `npm run bench:build` (the npm script does
 * both): the raw client runs compiled on plain node; the runners are compiled
 * programs in their own languages. Runners are built the way the conformance tests build them
 * (test/conformance/langs/<lang>.ts); a language without a plug-in file yet
 * is reported as not available.
 *
 * Flags: `--seconds S` (measured, default 10), `--warmup S` (default 2, per
 * caller, discarded), `--concurrency N` (default 64), `--payload BYTES`
 * (echoed text, default 100), `--langs a,b` (default all).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { runCommand } from "../process.js";
import { formatNumber, renderTable } from "../table.js";
import { ConformanceEnv, type Language, runScenario, workFolder } from "../../test/conformance/harness.js";
import type { Scenario } from "../../test/conformance/scenarios.js";

/** Callers in the order of the summary; the first six are the keys. */
const CALLERS = ["ts", "python", "go", "java", "cpp", "php", "python-async"] as const;
/** This script runs from source (tsx): the harness locates the repository from its own path. */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The raw client runs compiled (`npm run bench:build`), on plain node, like bench/echo's load clients. */
const RAW_CLIENT = path.join(REPO, "dist/bench/bench/callers/raw-client.js");

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  calls: number;
  errors: number;
}

const key = (name: string): string => name.replace(/-/g, "_");

function loadObservation(o: Record<string, unknown>): Measured {
  const calls = Number(o["calls"]);
  const seconds = Number(o["seconds"]);
  return { rps: seconds > 0 ? calls / seconds : 0, p50: Number(o["p50_ms"]), p99: Number(o["p99_ms"]), calls, errors: Number(o["errors"]) };
}

/** The raw run of median rate (the lower middle one for an even count). */
function medianRun(runs: Measured[]): Measured {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function loadLanguage(name: string): Promise<Language | string> {
  const file = path.join(REPO, "test/conformance/langs", `${name}.ts`);
  if (!existsSync(file)) return `no conformance runner yet (test/conformance/langs/${name}.ts is missing)`;
  const mod = (await import(path.join(REPO, "test/conformance/langs", `${name}.js`))) as { language: Language };
  return mod.language;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      concurrency: { type: "string", default: "64" },
      payload: { type: "string", default: "100" },
      langs: { type: "string" },
    },
    strict: true,
  });
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const concurrency = Number(values.concurrency);
  const payload = Number(values.payload);
  if (!(seconds > 0) || !(warmup >= 0) || !Number.isInteger(concurrency) || concurrency < 1) throw new Error("--seconds, --warmup, --concurrency: positive numbers");
  const wanted = values.langs === undefined ? [...CALLERS] : values.langs.split(",").map((s) => s.trim());
  for (const name of wanted) {
    if (!(CALLERS as readonly string[]).includes(name)) throw new Error(`--langs: unknown caller "${name}" (known: ${CALLERS.join(", ")})`);
  }

  const work = workFolder("bench");
  const env = new ConformanceEnv(work);
  const results = new Map<string, Measured>();
  /** Every raw run in order: one before the first caller, one after each measured caller. */
  const rawRuns: Measured[] = [];
  /** Per measured caller: the mean raw rate of the raw runs just before and just after it. */
  const rawAround = new Map<string, number>();
  const reasons = new Map<string, string>();
  try {
    await env.prepare(["instances:1"]);
    const address = env.placeholders(work, "")["addr:a"]!;
    const port = address.slice(address.lastIndexOf(":") + 1);

    const measureRaw = async (): Promise<Measured> => {
      const raw = await runCommand(process.execPath, [RAW_CLIENT, "--port", port, "--concurrency", String(concurrency), "--seconds", String(seconds), "--warmup", String(warmup), "--payload", String(payload)]);
      if (raw.code !== 0) throw new Error(`raw client failed (${raw.code}): ${raw.stderr}`);
      const m = loadObservation(JSON.parse(raw.stdout.trim().split("\n").pop()!) as Record<string, unknown>);
      rawRuns.push(m);
      return m;
    };
    let rawBefore = await measureRaw();

    const call = { service: address, text: "a".repeat(payload), timeout_ms: 5000 };
    for (const name of CALLERS) {
      if (!wanted.includes(name)) {
        reasons.set(name, "not requested (--langs)");
        continue;
      }
      const language = await loadLanguage(name);
      if (typeof language === "string") {
        reasons.set(name, language);
        continue;
      }
      const unavailable = await language.unavailable?.();
      if (unavailable !== undefined) {
        reasons.set(name, unavailable);
        continue;
      }
      let runner;
      try {
        runner = await language.build(path.join(work, "lang", name));
      } catch (e) {
        reasons.set(name, `runner build failed: ${(e instanceof Error ? e.message : String(e)).split("\n").slice(0, 3).join(" ")}`);
        continue;
      }
      const any = { $any: true };
      const scenario: Scenario = {
        id: "bench-load",
        description: "caller benchmark",
        needs: ["instances:1"],
        steps: [
          ...(warmup > 0 ? [{ op: "load" as const, seconds: warmup, concurrency, call: { ...call, sleep_ms: 0, fail_code: 0, fail_message: "", retries: 0 } }] : []),
          { op: "load", seconds, concurrency, call: { ...call, sleep_ms: 0, fail_code: 0, fail_message: "", retries: 0 } },
        ],
        expect: [],
      };
      scenario.expect = scenario.steps.map(() => ({ calls: { $ge: 1 }, errors: any, seconds: any, p50_ms: any, p99_ms: any }));
      const run = await runScenario(name, runner, scenario, env, path.join(work, "runs"));
      if (run.failures.length > 0) {
        reasons.set(name, `load run failed: ${run.failures[0]!.split("\n").slice(0, 4).join(" ")}`);
        continue;
      }
      results.set(name, loadObservation(run.observations.at(-1)!));
      const rawAfter = await measureRaw();
      rawAround.set(name, (rawBefore.rps + rawAfter.rps) / 2);
      rawBefore = rawAfter;
    }
    results.set("raw", medianRun(rawRuns));
  } finally {
    await env.stop();
  }

  const share = (name: string): number | undefined => {
    const m = results.get(name);
    const around = rawAround.get(name);
    return m === undefined || around === undefined ? undefined : m.rps / around;
  };
  const rows = ["raw", ...CALLERS].map((name) => {
    const m = results.get(name);
    if (m === undefined) return [name, "-", "-", "-", "-", "-", "-"];
    const around = name === "raw" ? m.rps : rawAround.get(name)!;
    const ratio = name === "raw" ? 1 : share(name)!;
    return [name, formatNumber(m.rps), formatNumber(around), `${formatNumber(100 * ratio, 1)}%`, formatNumber(m.p50, 2), formatNumber(m.p99, 2), formatNumber(m.errors)];
  });
  process.stdout.write(`caller benchmark: ${concurrency} in flight, ${payload}-byte text, ${seconds} s per caller after ${warmup} s warm-up, one TS server\n`);
  process.stdout.write(`raw runs (before the first caller, then after each): ${rawRuns.map((r) => formatNumber(r.rps)).join(", ")} req/s; raw row = their median\n\n`);
  process.stdout.write(renderTable(["caller", "req/s", "raw around", "of raw", "p50 ms", "p99 ms", "errors"], rows) + "\n\n");
  for (const [name, reason] of reasons) process.stderr.write(`${name}: null — ${reason}\n`);
  const summary: Record<string, number | number[] | null> = {};
  for (const name of ["raw", ...CALLERS]) summary[`${key(name)}_rps`] = results.has(name) ? Math.round(results.get(name)!.rps) : null;
  for (const name of ["raw", ...CALLERS]) summary[`${key(name)}_p99_ms`] = results.has(name) ? Number(results.get(name)!.p99.toFixed(3)) : null;
  for (const name of CALLERS) {
    const ratio = share(name);
    summary[`${key(name)}_of_raw`] = ratio === undefined ? null : Number(ratio.toFixed(4));
  }
  summary["raw_runs_rps"] = rawRuns.map((r) => Math.round(r.rps));
  summary["concurrency"] = concurrency;
  summary["seconds"] = seconds;
  summary["payload_bytes"] = payload;
  process.stdout.write(JSON.stringify(summary) + "\n");
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench:callers: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
