/**
 * Keeps the benchmarks from rotting: each entry point runs in a very short
 * mode, compiled exactly as `npm run bench:*` runs it, and must print a
 * well-formed table and, as its last line, a JSON summary with the agreed
 * keys holding positive numbers. Speed is never asserted.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BENCH = path.join(ROOT, "dist/bench/bench");
/** Generous bound for one short benchmark run on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 180_000;

async function bench(script: string, args: string[]): Promise<string[]> {
  const { stdout } = await run(process.execPath, [path.join(BENCH, script), ...args], {
    cwd: ROOT,
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trimEnd().split("\n");
}

/** The table: a header naming `columns`, a rule of dashes under it, then `rows` rows starting with the given names. */
function assertTable(lines: string[], columns: string[], rowNames: string[]): void {
  const headerAt = lines.findIndex((l) => columns.every((c) => l.includes(c)));
  assert.ok(headerAt >= 0, `no table header with ${columns.join(", ")} in:\n${lines.join("\n")}`);
  assert.match(lines[headerAt + 1]!, /^-+( +-+)+$/, "rule under the header");
  const body = lines.slice(headerAt + 2, headerAt + 2 + rowNames.length);
  assert.deepEqual(
    body.map((l) => l.split(/\s{2,}/)[0]),
    rowNames,
  );
}

/** Last line is JSON whose first keys are exactly `keys`, in order, each a number > 0. */
function assertSummary(lines: string[], keys: string[]): Record<string, unknown> {
  const summary = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(summary).slice(0, keys.length), keys);
  for (const key of keys) {
    const value = summary[key];
    assert.equal(typeof value, "number", `${key} is a number`);
    assert.ok((value as number) > 0, `${key} > 0 (got ${value})`);
  }
  return summary;
}

describe("benchmarks (smoke)", () => {
  before(async () => {
    // Compile bench/ + runtime the way `npm run bench:*` does; the generator
    // benchmark also needs the built CLI (scripts/test.sh builds it; build it
    // here when the test file runs alone).
    await run("npx", ["tsc", "-p", "bench/tsconfig.json"], { cwd: ROOT, timeout: RUN_TIMEOUT_MS });
    if (!existsSync(path.join(ROOT, "dist/cli/main.js"))) {
      await run("npm", ["run", "--silent", "build"], { cwd: ROOT, timeout: RUN_TIMEOUT_MS });
    }
  });

  test("echo benchmark measures every peer and ends with the agreed JSON summary", async () => {
    const lines = await bench("echo/run.js", ["--duration", "0.5", "--warmup", "0.2"]);
    assertTable(lines, ["peer", "req/s", "p50 ms", "p99 ms"], ["msec", "grpc-js", "connect", "connect-grpc", "ceiling", "msec-workers1", "msec-workers2", "python"]);
    assert.ok(!lines.some((l) => l.includes("NOT MEASURED")), "every peer measured");
    const summary = assertSummary(lines, ["msec_rps", "grpc_js_rps", "connect_rps", "ceiling_rps", "msec_p99_ms"]);
    assert.equal(summary.concurrency, 64);
    assert.equal(summary.payload_bytes, 100);
    assert.ok((summary.python_rps as number) > 0, "python peer measured");
    assert.equal(summary.msec_published_python_rps, 32000);
    // workers=2 beside workers=1, measured in the same run.
    assert.ok((summary.msec_workers1_rps as number) > 0 && (summary.msec_workers2_rps as number) > 0, "workers rows measured");
    // The ratio is of the unrounded rates; the rounded ones give it within a rounding step.
    const ratio = (summary.msec_workers2_rps as number) / (summary.msec_workers1_rps as number);
    assert.ok(Math.abs((summary.msec_workers2_ratio as number) - ratio) <= 0.0015, `ratio ${summary.msec_workers2_ratio} vs ${ratio}`);
    assert.ok(lines.some((l) => /^workers: [\d,]+ req\/s with workers=2 against [\d,]+ with workers=1 \(×\d+\.\d\d\)/.test(l)));
    assert.ok(lines.some((l) => /^python: [\d,]+ req\/s on this machine, beside MSEC's published 32,000 req\/s/.test(l)));
  });

  test("frame codec benchmark reports rates and proves the 1 MiB body is not copied", async () => {
    const lines = await bench("frame-codec.js", ["--duration", "0.2", "--warmup", "0.05"]);
    assertTable(lines, ["case", "ops/s best", "ops/s median"], ["encode+decode", "encode+decode (minimal head)", "encode", "encode (head bytes)", "decode", "stream split"]);
    assert.ok(lines.some((l) => l.startsWith("zero-copy: ")));
    const summary = assertSummary(lines, ["encode_decode_per_s", "encode_decode_minimal_head_per_s", "encode_per_s", "encode_head_bytes_per_s", "decode_per_s", "stream_split_per_s"]);
    assert.equal(summary.zero_copy_1mib, true);
    assert.equal(summary.body_bytes, 100);
  });

  test("generator benchmark times msec-gen and buf + protoc-gen-es on VOA and a corpus", async () => {
    const lines = await bench("generate/run.js", ["--reps", "1", "--files", "12"]);
    assertTable(
      lines,
      ["case", "tool", "median s"],
      ["voa", "voa", "voa", "voa", "corpus", "corpus", "corpus", "corpus"],
    );
    const summary = assertSummary(lines, [
      "voa_server_s",
      "voa_caller_ts_s",
      "voa_buf_es_s",
      "corpus_server_s",
      "corpus_caller_ts_s",
      "corpus_buf_es_s",
    ]);
    assert.equal(summary.corpus_files, 12);
  });
});
