/** The harness's expectation matching (expect.ts) and failure messages (harness.ts `compare`). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { match } from "./expect.js";
import { compare } from "./harness.js";
import type { Scenario } from "./scenarios.js";

const m = (expected: unknown, observed: unknown): string[] => match(expected, observed, "o", new Map());

describe("expectation matching", () => {
  test("plain values match exactly: same keys, same length, same scalars", () => {
    assert.deepEqual(m({ code: 0, reply: { text: "a" } }, { code: 0, reply: { text: "a" } }), []);
    assert.deepEqual(m({ code: 0 }, { code: -10 }), ["o.code: expected 0, observed -10"]);
    assert.deepEqual(m({ code: 0 }, { code: 0, message: "x" }), ['o: unexpected key(s) message in {"code":0,"message":"x"}']);
    assert.deepEqual(m({ code: 0, reply: {} }, { code: 0 }), ["o.reply: expected {}, observed (absent)"]);
    assert.deepEqual(m([1, 2], [1]), ["o: expected 2 items, observed 1: [1]"]);
    assert.deepEqual(m("1", 1), ['o: expected "1", observed 1']);
  });

  test("matchers: $any, ranges, $contains, $oneOf, $partial", () => {
    assert.deepEqual(m({ a: { $any: true } }, { a: null }), []);
    assert.deepEqual(m({ a: { $any: true } }, {}), ['o.a: expected {"$any":true}, observed (absent)']);
    assert.deepEqual(m({ $gt: 1800, $le: 2000 }, 2000), []);
    assert.deepEqual(m({ $gt: 1800, $le: 2000 }, 1800), ['o: expected a number {"$gt":1800,"$le":2000}, observed 1800']);
    assert.deepEqual(m({ $ge: 1 }, "1"), ['o: expected a number {"$ge":1}, observed "1"']);
    assert.deepEqual(m({ $contains: "boom" }, "server: boom!"), []);
    assert.deepEqual(m({ $contains: "boom" }, "bang"), ['o: expected a string containing "boom", observed "bang"']);
    assert.deepEqual(m({ $oneOf: [-10, -12] }, -12), []);
    assert.deepEqual(m({ $oneOf: [-10, -12] }, -13), ["o: expected one of [-10,-12], observed -13"]);
    assert.deepEqual(m({ $partial: { a: 1 } }, { a: 1, b: 2 }), []);
    assert.deepEqual(m({ $partial: { a: 1 } }, { a: 2 }), ["o.a: expected 1, observed 2"]);
  });

  test("$bind: the first value binds the name, later ones must equal it", () => {
    const bindings = new Map<string, unknown>();
    assert.deepEqual(match({ $bind: "peer" }, "1.2.3.4:5", "x", bindings), []);
    assert.deepEqual(match({ $bind: "peer" }, "1.2.3.4:5", "y", bindings), []);
    assert.deepEqual(match({ $bind: "peer" }, "1.2.3.4:6", "z", bindings), ['z: expected the same value as before (peer = "1.2.3.4:5"), observed "1.2.3.4:6"']);
  });
});

describe("harness comparison", () => {
  const scenario: Scenario = {
    id: "demo",
    description: "d",
    needs: [],
    steps: [{ op: "sleep", ms: 1 }, { op: "call", service: "x", text: "", sleep_ms: 0, fail_code: 0, fail_message: "", timeout_ms: 1, retries: 0 }],
    expect: [{}, { code: -13, message: { $any: true } }],
  };

  test("a failure names the language, scenario, step, op, expected and observed", () => {
    const failures = compare("go", scenario, scenario.steps, [{ step: 0 }, { step: 1, code: -10, message: "timeout" }]);
    assert.deepEqual(failures, [
      '[go] scenario "demo" step 1 (call):\n  observation.code: expected -13, observed -10\n  expected: {"code":-13,"message":{"$any":true}}\n  observed: {"code":-10,"message":"timeout"}',
    ]);
  });

  test("missing and out-of-order observations are failures", () => {
    assert.deepEqual(compare("go", scenario, scenario.steps, [{ step: 0 }]), ['[go] scenario "demo" step 1 (call): no observation', '[go] scenario "demo": observations for steps [0], expected [0,1] in order']);
    assert.equal(compare("go", scenario, scenario.steps, [{ step: 1, code: -13, message: "" }, { step: 0 }]).length, 1);
  });
});
