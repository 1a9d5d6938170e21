/**
 * The C++ runtime's framing against the shared wire vectors (fixtures/vectors,
 * spec §13): built with the real toolchain, run on the vectors converted from
 * the JSON files right now, and through the package's own `ctest`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { SHIPPED_CPP_VECTORS, countVectorCases, cppVectorLines } from "./cpp-vectors.js";
import { type CppCaller, buildConsumer, generateCppCaller, run, runOk } from "./cpp-toolchain.js";

describe("C++ caller runtime framing vs fixtures/vectors", () => {
  let caller: CppCaller;
  let build: string;
  const scratch = mkdtempSync(path.join(tmpdir(), "msec-cpp-vectors-"));

  before(async () => {
    caller = await generateCppCaller("interop", ["fixtures/interop/interop.proto"], "Interop.Echo");
    build = await buildConsumer("interop", caller, "interop_echo_caller", "interop_client.cc");
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test("the vectors shipped in every package are the shared fixtures, restated", () => {
    assert.equal(readFileSync(SHIPPED_CPP_VECTORS, "utf8"), cppVectorLines());
    assert.equal(caller.files.get("tests/frame_vectors.txt"), cppVectorLines());
  });

  test("encode bytes, decode, completeness check and colour ids match every vector", async () => {
    const file = path.join(scratch, "vectors.txt");
    const text = cppVectorLines();
    writeFileSync(file, text);
    const r = await run(path.join(build, "caller/frame_vectors_test"), [file]);
    assert.equal(r.stdout, `${countVectorCases(text)} vectors passed, 0 failed\n`);
    assert.equal(r.code, 0);
    assert.equal(countVectorCases(text), 41);
  });

  test("a wrong expectation fails the program (the check is real)", async () => {
    const file = path.join(scratch, "wrong.txt");
    writeFileSync(file, "check 2800000000000000002929 0\ncolor 61 177671\n");
    const r = await run(path.join(build, "caller/frame_vectors_test"), [file]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      `FAIL ${file}:1: got -3\nFAIL ${file}:2: got 177670\n0 vectors passed, 2 failed\n`,
    );
  });

  test("ctest runs the package's own framing test", async () => {
    const out = await runOk("ctest", ["--test-dir", path.join(build, "caller"), "--output-on-failure"]);
    assert.match(out, /100% tests passed, 0 tests failed out of 1/);
  });
});
