/**
 * The C++ caller of the identifier corpus's C++ variant
 * (fixtures/identifiers/corpus-cpp/: the corpus without the words the C++
 * target refuses) builds with the real toolchain as its README says
 * (`cmake -S . -B build`, `cmake --build build`; protoc compiles the .proto
 * files at build time, the bundled runtime builds beside them), with PATH as a
 * user has it (no node_modules/.bin, whose npm protoc would not match libprotobuf). One build for
 * the whole corpus; the C++ refusals are in refusals.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { toolEnv } from "../interop/cpp-toolchain.js";
import { msecGen, run } from "../interop/ts-server.js";
import { corpusFiles } from "./corpus.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-ids-corpus-cpp-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("C++ caller of the corpus's C++ variant builds (cmake, protoc at build time, g++)", async () => {
  const corpus = "fixtures/identifiers/corpus-cpp";
  const r = await msecGen(["caller", "-I", corpus, ...corpusFiles("cpp").map((f) => `${corpus}/${f.path}`), "--name", "Id.Corpus", "--lang", "cpp", "--dir", "-o", work, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  const dir = path.join(r.stdout.trim(), "cpp");
  const configure = await run("cmake", ["-S", ".", "-B", "build", "-DCMAKE_BUILD_TYPE=Debug"], { cwd: dir, env: toolEnv() });
  assert.equal(configure.code, 0, configure.stdout + configure.stderr);
  const build = await run("cmake", ["--build", "build", "-j", String(Math.min(2, cpus().length))], { cwd: dir, env: toolEnv() });
  const errors = (build.stdout + build.stderr).split("\n").filter((l) => l.includes("error")).slice(0, 40).join("\n");
  assert.equal(build.code, 0, errors);
});
