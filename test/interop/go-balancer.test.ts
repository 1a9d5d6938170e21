/**
 * The Go runtime's balancer vectors (runtimes/go/testdata/balancer-vectors.json,
 * replayed by runtimes/go/balancer_test.go) must be what the TypeScript
 * runtime's Balancer — the reference — produces today: regenerating them
 * gives the committed file byte for byte. Then the Go test runs here too, so
 * a change on either side fails one suite.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { REPO_ROOT, TSX_LOADER, runOk } from "./ts-server.js";

const VECTORS = path.join(REPO_ROOT, "runtimes/go/testdata/balancer-vectors.json");

test("the committed balancer vectors are what the TypeScript Balancer produces now", async () => {
  const fresh = await runOk(process.execPath, ["--import", TSX_LOADER, path.join(REPO_ROOT, "test/interop/go/balancer-vectors.ts")]);
  const committed = readFileSync(VECTORS, "utf8");
  assert.ok(fresh === committed, "runtimes/go/testdata/balancer-vectors.json is stale: regenerate it with test/interop/go/balancer-vectors.ts");
  const vectors = (JSON.parse(committed) as { vectors: { name: string; steps: unknown[] }[] }).vectors;
  assert.equal(vectors.length, 8);
  assert.ok(vectors.every((v) => v.steps.length > 0));
});

test("the Go balancer replays every vector with the same picks and weights", async () => {
  const out = await runOk("go", ["test", "-count=1", "-run", "TestBalancerMatchesTheTypeScriptVectors", "-v", "."], { cwd: path.join(REPO_ROOT, "runtimes/go") });
  assert.equal(out.match(/^    --- PASS: TestBalancerMatchesTheTypeScriptVectors\//gm)?.length, 8, out);
  assert.match(out, /^ok\s/m);
});
