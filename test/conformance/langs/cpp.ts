/**
 * C++ runner: the caller generated with `msec-gen caller --lang cpp` for
 * conformance.proto is pulled into runners/cpp/CMakeLists.txt with
 * add_subdirectory (as its README says; its bundled runtime/ is built too) and
 * built with the system cmake, g++ and protobuf, in Release mode (the bench
 * uses the same runner). The generated sources and the build tree are kept in
 * the C++ interop cache (test/interop/cpp-toolchain.ts), so later runs
 * rebuild only what changed.
 */
import path from "node:path";
import { CPP_CACHE, generateCppCaller, REPO_ROOT, run, runOk, withCacheLock } from "../../interop/cpp-toolchain.js";
import type { Language } from "../harness.js";
import { CONFORMANCE_PROTO, CONFORMANCE_SERVICE } from "../server.js";

const CACHE_ID = "conformance-runner";

export const language: Language = {
  name: "cpp",
  async build() {
    const caller = await generateCppCaller(CACHE_ID, [CONFORMANCE_PROTO], CONFORMANCE_SERVICE);
    const build = path.join(CPP_CACHE, CACHE_ID, "build");
    await withCacheLock(CACHE_ID, async () => {
      await runOk("cmake", [
        "-S",
        path.join(REPO_ROOT, "test/conformance/runners/cpp"),
        "-B",
        build,
        "-DCMAKE_BUILD_TYPE=Release",
        `-DCALLER_DIR=${caller.dir}`,
      ]);
      await runOk("cmake", ["--build", build, "-j", "2"]);
    });
    return { command: path.join(build, "runner"), args: [] };
  },
  async unavailable() {
    for (const tool of ["cmake", "g++", "protoc"]) {
      const r = await run("sh", ["-c", `command -v ${tool}`]);
      if (r.code !== 0) return `${tool} is not installed (Debian: apt-get install cmake g++ protobuf-compiler libprotobuf-dev)`;
    }
    return undefined;
  },
  unsupported: {},
  expectedFailures: {},
};
