/**
 * The C++ runtime project (runtimes/cpp, CMake package MsecRuntime) against
 * the shared wire vectors: built with the real toolchain, its framing test
 * reads the one copy in fixtures/vectors/*.json, fails on a wrong
 * expectation, and runs under ctest as runtimes/cpp/test.sh runs it.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type CppRuntimeBuild, REPO_ROOT, buildRuntime, run, runOk } from "./cpp-toolchain.js";

const VECTORS = path.join(REPO_ROOT, "fixtures/vectors");

describe("C++ runtime (runtimes/cpp) framing vs fixtures/vectors", () => {
  let runtime: CppRuntimeBuild;
  const scratch = mkdtempSync(path.join(tmpdir(), "msec-cpp-vectors-"));

  before(async () => {
    runtime = await buildRuntime();
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test("encode bytes, decode, completeness check and colour ids match every vector (V1-V7)", async () => {
    const r = await run(path.join(runtime.build, "frame_vectors_test"), [VECTORS]);
    assert.equal(r.stdout, "41 vectors passed, 0 failed\n");
    assert.equal(r.code, 0);
  });

  test("a wrong expectation fails the program (the check is real)", async () => {
    const dir = path.join(scratch, "wrong");
    cpSync(VECTORS, dir, { recursive: true });
    const edit = (file: string, change: (json: Record<string, Array<Record<string, unknown>>>) => void): void => {
      const json = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as Record<string, Array<Record<string, unknown>>>;
      change(json);
      writeFileSync(path.join(dir, file), JSON.stringify(json));
    };
    edit("v6-check-pkg.json", (v) => (v.check!.find((c) => c.name === "head_len 0 and body_len 0")!.check = 0));
    edit("v7-color-ids.json", (v) => (v.ids!.find((c) => c.name === "a")!.djb2 = 177671));
    const r = await run(path.join(runtime.build, "frame_vectors_test"), [dir]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      'FAIL v6-check-pkg.json check "head_len 0 and body_len 0": got -3\nFAIL v7-color-ids.json color "a": got 177670\n39 vectors passed, 2 failed\n',
    );
  });

  test("a missing vectors folder is a clear error", async () => {
    const r = await run(path.join(runtime.build, "frame_vectors_test"), [path.join(scratch, "nope")]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, `ERROR cannot read ${path.join(scratch, "nope")}/v1-python-client-request.json\n`);
  });

  test("ctest runs the runtime's own tests: the vectors on ../../fixtures/vectors, balancer, multiplexing, etcd, raw TCP calls, async calls", async () => {
    const out = await runOk("ctest", ["--test-dir", runtime.build, "--output-on-failure"]);
    assert.match(out, /100% tests passed, 0 tests failed out of 6/);
    for (const name of ["frame_vectors", "balancer_test", "multiplex_test", "etcd_test", "tcp_call_test", "async_call_test"]) assert.match(out, new RegExp(`Test +#\\d+: ${name} \\.+ +Passed`));
  });

  test("one copy of the vectors: no restated vector files in the C++ runtime or templates", () => {
    assert.deepEqual(readdirSync(path.join(REPO_ROOT, "runtimes/cpp/tests")).sort(), [
      "async_call_test.cc",
      "balancer_test.cc",
      "check.h",
      "etcd_test.cc",
      "frame_vectors_test.cc",
      "multiplex_test.cc",
      "net.h",
      "srpc_server.h",
      "tcp_call_test.cc",
    ]);
    assert.equal(existsSync(path.join(REPO_ROOT, "templates/caller/cpp/tests")), false);
    assert.equal(existsSync(path.join(REPO_ROOT, "templates/caller/cpp/runtime")), false);
  });

  test("the installed package: MsecRuntime 0.1.0 config, version file and headers under include/msec/", () => {
    const cmakeDir = path.join(runtime.prefix, "lib/cmake/MsecRuntime");
    assert.deepEqual(readdirSync(cmakeDir).sort(), [
      "MsecRuntimeConfig.cmake",
      "MsecRuntimeConfigVersion.cmake",
      "MsecRuntimeTargets-noconfig.cmake",
      "MsecRuntimeTargets.cmake",
    ]);
    assert.match(readFileSync(path.join(cmakeDir, "MsecRuntimeConfigVersion.cmake"), "utf8"), /set\(PACKAGE_VERSION "0\.1\.0"\)/);
    assert.deepEqual(readdirSync(path.join(runtime.prefix, "include")), ["msec"]);
    assert.ok(existsSync(path.join(runtime.prefix, "include/msec/rpc_head.pb.h")));
  });
});
