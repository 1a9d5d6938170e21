/**
 * The harness end to end with stand-in runners (small node programs, no
 * server needed): it sends the scenario with placeholders filled and call
 * fields completed, answers `notify` with an ack, and reports a wrong
 * observation, a missing one and a crashing runner — each as a failure naming
 * the language, scenario and step.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ConformanceEnv, type RunnerCommand, runScenario, workFolder } from "./harness.js";
import type { Scenario } from "./scenarios.js";

const work = workFolder("harness");
const env = new ConformanceEnv(work);
after(async () => {
  await env.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A runner written in a few lines of JavaScript. */
function runner(source: string): RunnerCommand {
  return { command: process.execPath, args: ["--input-type=module", "-e", source] };
}

/** Echoes what it received: the call step's fields, then waits for the notify ack. */
const ECHOING = `
import { createInterface } from "node:readline";
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const { scenario } = JSON.parse((await lines.next()).value);
for (const [i, step] of scenario.steps.entries()) {
  if (step.op === "notify") {
    console.log(JSON.stringify({ step: i, event: step.event }));
    const ack = await lines.next();
    console.log(JSON.stringify({ step: i + 0.5, ack: ack.value }));
  } else {
    console.log(JSON.stringify({ step: i, sent: step }));
  }
}
process.exit(0);
`;

const scenario: Scenario = {
  id: "harness-demo",
  description: "d",
  needs: [],
  steps: [
    { op: "call", service: "{{addr:closed}}", timeout_ms: 5 } as never,
    { op: "notify", event: "nothing-to-do" },
  ],
  expect: [{ sent: { $any: true } }, { event: "nothing-to-do" }],
};

test("the runner receives filled placeholders and complete call fields; notify is acked", async () => {
  const run = await runScenario("demo", runner(ECHOING), scenario, env, path.join(work, "runs"));
  const sent = run.observations[0]!["sent"] as Record<string, unknown>;
  assert.match(String(sent["service"]), /^127\.0\.0\.1:\d+$/);
  assert.deepEqual({ ...sent, service: "x" }, { op: "call", service: "x", text: "", sleep_ms: 0, fail_code: 0, fail_message: "", timeout_ms: 5, retries: 0 });
  assert.deepEqual(run.observations[2], { step: 1.5, ack: "go" });
  // the unknown event is reported; the extra observation line breaks the step order
  assert.deepEqual(
    run.failures.filter((f) => !f.startsWith("(runner folder")),
    [
      '[demo] scenario "harness-demo" step 1: unknown event "nothing-to-do" (known: kill:<id>)',
      '[demo] scenario "harness-demo": observations for steps [0,1,1.5], expected [0,1] in order',
    ],
  );
});

test("a wrong observation, a missing one and a crash are failures naming language, scenario and step", async () => {
  const wrong = runner(`console.log(JSON.stringify({ step: 0, code: -10, message: "timeout" })); process.exit(3);`);
  const s: Scenario = { ...scenario, steps: [scenario.steps[0]!, { op: "sleep", ms: 1 }], expect: [{ code: -13, message: { $any: true } }, {}] };
  const run = await runScenario("demo", wrong, s, env, path.join(work, "runs"));
  assert.equal(run.exitCode, 3);
  const failures = run.failures.filter((f) => !f.startsWith("(runner folder"));
  assert.deepEqual(failures, [
    '[demo] scenario "harness-demo": runner exited with 3; stderr:\n',
    '[demo] scenario "harness-demo" step 0 (call):\n  observation.code: expected -13, observed -10\n  expected: {"code":-13,"message":{"$any":true}}\n  observed: {"code":-10,"message":"timeout"}',
    '[demo] scenario "harness-demo" step 1 (sleep): no observation',
    '[demo] scenario "harness-demo": observations for steps [0], expected [0,1] in order',
  ]);
});
