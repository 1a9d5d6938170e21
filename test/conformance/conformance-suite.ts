/**
 * The conformance test of one language (`describeConformance(language)` in
 * test/conformance/<lang>.test.ts): builds the language's runner once, then
 * runs every scenario of fixtures/conformance/scenarios.json, grouped by what
 * they need so servers and etcd start once per group. Scenarios the language
 * declares unsupported are listed with their reasons (one test checks the
 * list and prints it); scenarios it declares expected to fail are run and
 * must fail — one that passes fails the test, so the list is kept honest.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ConformanceEnv, type Language, needsKey, type RunnerCommand, runScenario, workFolder } from "./harness.js";
import { loadScenarios } from "./scenarios.js";

export function describeConformance(language: Language): void {
  const scenarios = loadScenarios();
  const ordered = [...scenarios].sort((a, b) => needsKey(a.needs).localeCompare(needsKey(b.needs)));
  const work = workFolder(language.name);
  const env = new ConformanceEnv(work);
  let runner: RunnerCommand | undefined;
  let buildError: unknown;

  describe(`conformance suite: ${language.name} caller`, () => {
    before(async () => {
      const started = Date.now();
      try {
        await env.build();
        runner = await language.build(path.join(work, "lang"));
      } catch (e) {
        buildError = e;
      }
      process.stderr.write(`[${language.name}] runner and server built in ${Date.now() - started} ms\n`);
    });

    after(async () => {
      await env.stop();
      rmSync(work, { recursive: true, force: true });
    });

    test("the runner builds against the generated caller", () => {
      if (buildError !== undefined) throw buildError;
      assert.ok(runner);
    });

    test("unsupported and expected-to-fail scenarios are known scenarios with reasons", (t) => {
      const ids = new Set(scenarios.map((s) => s.id));
      for (const [kind, list] of [["unsupported", language.unsupported], ["expected to fail", language.expectedFailures]] as const) {
        for (const [id, reason] of Object.entries(list)) {
          assert.ok(ids.has(id), `${language.name}: ${kind} scenario "${id}" is not in scenarios.json`);
          assert.ok(reason.trim().length > 0, `${language.name}: ${kind} scenario "${id}" needs a reason`);
          t.diagnostic(`${language.name} ${kind}: ${id} — ${reason}`);
        }
      }
    });

    for (const scenario of ordered) {
      const unsupported = language.unsupported[scenario.id];
      if (unsupported !== undefined) continue; // listed (with its reason) by the test above
      const expectedFailure = language.expectedFailures[scenario.id];
      const name = `${scenario.id}: ${scenario.description}${expectedFailure !== undefined ? " [EXPECTED TO FAIL: " + expectedFailure + "]" : ""}`;
      test(name, async (t) => {
        if (runner === undefined) throw new Error(`runner not built: ${String(buildError)}`);
        const run = await runScenario(language.name, runner, scenario, env, path.join(work, "scenarios"));
        t.diagnostic(`${scenario.id}: ${run.ms} ms`);
        if (expectedFailure !== undefined) {
          assert.ok(run.failures.length > 0, `${language.name}: scenario "${scenario.id}" passes now — remove it from expectedFailures (${expectedFailure})`);
          t.diagnostic(`fails as expected: ${run.failures[0]}`);
          return;
        }
        if (run.failures.length > 0) assert.fail(`${run.failures.join("\n")}\n${env.serverOutput()}`);
      });
    }
  });
}
