/**
 * The NLB scenarios of fixtures/conformance/scenarios.json are what the
 * TypeScript runtime's Balancer computes (scripts/conformance-vectors.ts), and
 * the file is in the script's layout; every scenario passes the loader's checks.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { upToDate } from "../../scripts/conformance-vectors.js";
import { loadScenarios, SCENARIOS_FILE } from "./scenarios.js";

test("scenarios.json is up to date with scripts/conformance-vectors.ts (NLB weights from the TS Balancer)", () => {
  const current = readFileSync(SCENARIOS_FILE, "utf8");
  assert.ok(current === upToDate(current), "fixtures/conformance/scenarios.json is not up to date: run npx tsx scripts/conformance-vectors.ts");
});

test("every scenario is well-formed and the suite covers the issue's list", () => {
  const ids = loadScenarios().map((s) => s.id);
  for (const id of ["echo-literal", "echo-routes-file", "error-codes", "timeout", "refused-literal", "refused-retried-when-asked", "refused-not-retried-by-default", "multiplexed-out-of-order", "deadline-propagation", "routes-file-reload", "etcd-resolve", "etcd-failover", "nlb-steady", "nlb-dead-and-revive"]) {
    assert.ok(ids.includes(id), `scenario ${id} missing`);
  }
});
