/**
 * The TS runner's `load` step (what `npm run bench:callers` measures): calls
 * for the step's seconds through one held client, every reply decoded, and
 * every failure counted as an error — exact counts, never speed.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "../free-port.js";
import { ConformanceEnv, type RunnerCommand, runScenario, workFolder } from "./harness.js";
import { language } from "./langs/ts.js";
import type { Scenario } from "./scenarios.js";

const work = workFolder("ts-load");
const env = new ConformanceEnv(work);
let runner: RunnerCommand;

before(async () => {
  runner = await language.build(path.join(work, "lang", "ts"));
});

after(async () => {
  await env.stop();
});

const call = { text: "load", sleep_ms: 0, fail_message: "refused on purpose", timeout_ms: 5000, retries: 0 };
const any = { $any: true };

test("load: good calls count as calls with no error; a server error (fail_code 5) and a refused connection count every call as an error", async () => {
  const dead = `127.0.0.1:${await freePort()}`;
  const scenario: Scenario = {
    id: "ts-load",
    description: "load step counts",
    needs: ["instances:1"],
    steps: [
      { op: "load", seconds: 0.3, concurrency: 8, call: { ...call, service: "{{addr:a}}", fail_code: 0 } },
      { op: "load", seconds: 0.3, concurrency: 8, call: { ...call, service: "{{addr:a}}", fail_code: 5 } },
      { op: "load", seconds: 0.3, concurrency: 2, call: { ...call, service: dead, fail_code: 0 } },
    ],
    expect: [],
  };
  scenario.expect = scenario.steps.map(() => ({ calls: { $ge: 1 }, errors: any, seconds: any, p50_ms: any, p99_ms: any }));
  const run = await runScenario("ts", runner, scenario, env, path.join(work, "runs"));
  assert.deepEqual(run.failures, []);
  const [good, failing, refused] = run.observations as Array<{ calls: number; errors: number; seconds: number; p50_ms: number; p99_ms: number }>;
  assert.equal(good!.errors, 0);
  assert.ok(good!.p50_ms > 0 && good!.p50_ms <= good!.p99_ms, `0 < p50 ≤ p99 (got ${good!.p50_ms}, ${good!.p99_ms})`);
  assert.ok(good!.seconds >= 0.3, `measured for the step's seconds (got ${good!.seconds})`);
  assert.equal(failing!.errors, failing!.calls);
  assert.equal(refused!.errors, refused!.calls);
});
