/**
 * `withDefaults`: a generated client's default options with one call's
 * options over them — the same options as `{ ...defaults, ...options }`,
 * without a new object when a side is empty.
 */
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { type CallOptions, withDefaults } from "@msec-gen/runtime";

test("withDefaults gives the options of { ...defaults, ...options }: per-call options win, explicit undefined included", () => {
  const signal = new AbortController().signal;
  const cases: Array<[CallOptions, CallOptions | undefined]> = [
    [{}, undefined],
    [{}, {}],
    [{}, { timeoutMs: 5 }],
    [{ timeoutMs: 100, caller: "a.b" }, undefined],
    [{ timeoutMs: 100, caller: "a.b" }, {}],
    [{ timeoutMs: 100, caller: "a.b" }, { timeoutMs: 5, retries: 2 }],
    [{ timeoutMs: 100, coloring: 1 }, { timeoutMs: undefined, signal }],
  ];
  for (const [defaults, options] of cases) {
    assert.deepEqual(withDefaults(defaults, options), { ...defaults, ...options }, JSON.stringify([defaults, options]));
  }
});

test("withDefaults makes no object when a side is empty, and never changes its arguments", () => {
  const defaults: CallOptions = { timeoutMs: 100 };
  const options: CallOptions = { retries: 1 };
  assert.equal(withDefaults(defaults, undefined), defaults);
  const none: CallOptions = {};
  assert.equal(withDefaults(none, options), options);
  const merged = withDefaults(defaults, options);
  assert.notEqual(merged, defaults);
  assert.notEqual(merged, options);
  assert.deepEqual(merged, { timeoutMs: 100, retries: 1 });
  assert.deepEqual(defaults, { timeoutMs: 100 });
  assert.deepEqual(options, { retries: 1 });
});
