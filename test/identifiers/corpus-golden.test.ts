/**
 * The identifier corpus's goldens (corpus-golden.ts): what msec-gen generates
 * from the corpus, per kind and language, matches the committed digests in
 * test/golden/identifiers-corpus/ file by file; a mismatch names every file
 * that differs, is missing or is extra. Refresh with scripts/update-golden.sh.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORPUS_DIGEST_CASES, corpusDigests, digestDiff, formatDigests, goldenDigests, parseDigests } from "./corpus-golden.js";

for (const c of CORPUS_DIGEST_CASES) {
  test(`corpus ${c.kind} in ${c.lang}${c.variant === "cpp" ? " (corpus-cpp)" : ""}: every generated file matches test/golden/identifiers-corpus/${c.id}.sha256`, async () => {
    const diff = digestDiff(goldenDigests(c), await corpusDigests(c));
    assert.deepEqual(diff, [], `${diff.length} file(s) differ from the golden (run scripts/update-golden.sh after an intended change):\n${diff.join("\n")}`);
  });
}

test("a digest mismatch names each differing, missing and extra file", () => {
  const want = parseDigests(`${"a".repeat(64)}  x/same\n${"b".repeat(64)}  x/changed\n${"c".repeat(64)}  x/gone\n`, "want");
  const got = new Map([["x/same", "a".repeat(64)], ["x/changed", "d".repeat(64)], ["x/new", "e".repeat(64)]]);
  assert.deepEqual(digestDiff(want, got), ["differs: x/changed", "missing (in the golden, not generated): x/gone", "extra (generated, not in the golden): x/new"]);
  assert.equal(formatDigests(got), `${"d".repeat(64)}  x/changed\n${"e".repeat(64)}  x/new\n${"a".repeat(64)}  x/same\n`);
  assert.throws(() => parseDigests("abc  x\n", "f.sha256"), /^Error: f\.sha256:1: not "<sha256>  <path>": abc {2}x$/);
});
