/**
 * The C++ conformance runner's `load` step (the one `npm run bench:callers`
 * measures), which keeps `concurrency` calls in flight through the runtime's
 * asynchronous API, issuing each next call from the completion callback.
 * Run against a live TypeScript conformance server: echo calls all succeed
 * and every completed call is counted once; calls the server fails (its
 * CRpcHead.err), calls to an unknown method (the raw path) and calls to a
 * closed port (refused, completed on the runtime's timer thread) all count
 * as errors, and the step still ends on time with the same output fields.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ConformanceEnv, type RunnerCommand, runScenario, workFolder } from "../conformance/harness.js";
import { language } from "../conformance/langs/cpp.js";
import type { CallFields, Scenario } from "../conformance/scenarios.js";

describe("C++ runner load step (asynchronous calls)", () => {
  const work = workFolder("cpp-load");
  const env = new ConformanceEnv(work);
  let runner: RunnerCommand;

  before(async () => {
    await env.prepare(["instances:1"]);
    runner = await language.build(path.join(work, "lang"));
  });

  after(async () => {
    await env.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Runs load steps and returns their observations (fields checked by the tests). */
  async function load(steps: Array<{ seconds: number; concurrency: number; call: CallFields }>): Promise<Array<Record<string, unknown>>> {
    const any = { $any: true };
    const scenario: Scenario = {
      id: "cpp-load",
      description: "load steps of the C++ runner",
      needs: ["instances:1"],
      steps: steps.map((s) => ({ op: "load" as const, ...s })),
      expect: steps.map(() => ({ calls: any, errors: any, seconds: any, p50_ms: any, p99_ms: any })),
    };
    const run = await runScenario("cpp", runner, scenario, env, path.join(work, "runs"));
    assert.deepEqual(run.failures, [], run.stderr);
    assert.equal(run.exitCode, 0, run.stderr);
    return run.observations;
  }

  const base = { timeout_ms: 5000, sleep_ms: 0, fail_code: 0, fail_message: "", retries: 0 };

  test("echo calls with 16 in flight all succeed; the step lasts its seconds and reports the same fields", async () => {
    const [o] = await load([{ seconds: 1, concurrency: 16, call: { ...base, service: "{{addr:a}}", text: "load" } }]);
    assert.deepEqual(Object.keys(o!).sort(), ["calls", "errors", "p50_ms", "p99_ms", "seconds", "step"]);
    assert.ok(Number(o!["calls"]) >= 16, `calls: ${String(o!["calls"])}`);
    assert.equal(o!["errors"], 0);
    assert.ok(Number(o!["seconds"]) >= 1, `seconds: ${String(o!["seconds"])}`);
    assert.ok(Number(o!["p50_ms"]) > 0 && Number(o!["p99_ms"]) >= Number(o!["p50_ms"]));
  });

  test("server errors, an unknown method and a closed port are all counted as errors", async () => {
    const observations = await load([
      { seconds: 0.5, concurrency: 4, call: { ...base, service: "{{addr:a}}", text: "x", fail_code: -18, fail_message: "no" } },
      { seconds: 0.5, concurrency: 4, call: { ...base, service: "{{addr:a}}", text: "x", method: "conformance.ConformanceService.Nope" } },
      { seconds: 0.5, concurrency: 4, call: { ...base, service: "{{addr:closed}}", text: "x" } },
    ]);
    for (const o of observations) {
      assert.ok(Number(o["calls"]) >= 4, `calls: ${String(o["calls"])}`);
      assert.equal(o["errors"], o["calls"]);
    }
  });
});
