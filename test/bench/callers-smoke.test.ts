/**
 * Keeps `npm run bench:callers` from rotting: a ~1 s run with the TypeScript
 * caller only, started as the npm script starts it (compiled raw client,
 * orchestrator from source), must print the table and, as its last line, the
 * agreed JSON summary: raw and ts measured (> 0), the raw client run twice
 * (before and after the one caller, the ts share taken against their mean),
 * every other caller `null` with its reason on stderr. Speed is never asserted.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Generous bound: builds the TS server and the TS runner (npm install) on a busy machine. */
const RUN_TIMEOUT_MS = 300_000;

before(async () => {
  await run("npx", ["tsc", "-p", "bench/tsconfig.json"], { cwd: ROOT, timeout: RUN_TIMEOUT_MS });
});

test("bench:callers measures the raw client and the ts caller and ends with the agreed JSON summary", async () => {
  const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "bench/callers/run.ts", "--seconds", "1", "--warmup", "0.2", "--langs", "ts"], {
    cwd: ROOT,
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = stdout.trimEnd().split("\n");
  const headerAt = lines.findIndex((l) => /^caller\s+req\/s\s+raw around\s+of raw\s+p50 ms\s+p99 ms\s+errors$/.test(l));
  assert.ok(headerAt >= 0, `no table header in:\n${stdout}`);
  assert.match(lines[headerAt + 1]!, /^-+( +-+)+$/);
  assert.deepEqual(
    lines.slice(headerAt + 2, headerAt + 10).map((l) => l.split(/\s+/)[0]),
    ["raw", "ts", "python", "go", "java", "cpp", "php", "python-async"],
  );
  const summary = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(summary).slice(0, 7), ["raw_rps", "ts_rps", "python_rps", "go_rps", "java_rps", "cpp_rps", "php_rps"]);
  for (const k of ["raw_rps", "ts_rps", "raw_p99_ms", "ts_p99_ms"]) {
    assert.equal(typeof summary[k], "number", k);
    assert.ok((summary[k] as number) > 0, `${k} > 0 (got ${String(summary[k])})`);
  }
  const rawRuns = summary["raw_runs_rps"] as number[];
  assert.equal(rawRuns.length, 2, "one raw run before the ts caller, one after");
  assert.ok(rawRuns.every((r) => r > 0));
  assert.equal(summary["raw_rps"], Math.min(...rawRuns), "median of two runs = the lower middle one");
  const around = (rawRuns[0]! + rawRuns[1]!) / 2;
  assert.ok(Math.abs((summary["ts_of_raw"] as number) - (summary["ts_rps"] as number) / around) < 0.001, `ts_of_raw against the mean of ${rawRuns.join(", ")}`);
  assert.ok(stdout.includes(`raw runs (before the first caller, then after each): ${rawRuns.map((r) => r.toLocaleString("en-US")).join(", ")} req/s`), stdout);
  for (const lang of ["python", "go", "java", "cpp", "php", "python-async"]) {
    const k = lang.replace("-", "_");
    assert.equal(summary[`${k}_rps`], null, `${k}_rps`);
    assert.equal(summary[`${k}_of_raw`], null, `${k}_of_raw`);
    assert.equal(summary[`${k}_p99_ms`], null, `${k}_p99_ms`);
    assert.ok(stderr.includes(`${lang}: null — not requested (--langs)`), `reason for ${lang} on stderr:\n${stderr}`);
  }
  assert.equal(summary["concurrency"], 64);
});
