/**
 * The C++ caller of the identifier corpus's C++ variant
 * (fixtures/identifiers/corpus-cpp/: the corpus without the words the C++
 * target refuses), built with the real toolchain as its README says — pulled
 * into a CMake project with `add_subdirectory` (test/interop/cpp/CMakeLists.txt),
 * protoc compiling the .proto files at build time, the bundled runtime built
 * beside them — with PATH as a user has it (no node_modules/.bin, whose npm
 * protoc would not match libprotobuf). The project's program calls every rpc
 * the README lists (all of corpus-cpp's, caller-programs.ts) on a live TS
 * server generated from the same protos, its handlers edited to echo
 * (echo-server.ts), and every reply is checked exactly. One build for the
 * whole corpus; the C++ refusals are in refusals.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { toolEnv } from "../interop/cpp-toolchain.js";
import { buildTsServer, freePort, msecGen, REPO_ROOT, run, type ServerProcess, setListenPort, startTsServer } from "../interop/ts-server.js";
import { cppProgram, planCalls, readmeCalls } from "./caller-programs.js";
import { corpusFiles, corpusMethods } from "./corpus.js";
import { useEchoHandlers } from "./echo-server.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-ids-corpus-cpp-"));
const CORPUS = "fixtures/identifiers/corpus-cpp";
const ARGS = ["-I", CORPUS, ...corpusFiles("cpp").map((f) => `${CORPUS}/${f.path}`), "--name", "Id.Corpus"];
let server: ServerProcess | undefined;

after(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function generated(args: readonly string[]): Promise<string> {
  const r = await msecGen([...args, "--dir", "-o", work, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** The corpus-cpp TS server, built and listening; resolves its port. */
async function startEchoServer(): Promise<number> {
  const dir = await generated(["server", ...ARGS]);
  assert.equal(useEchoHandlers(dir), corpusMethods("cpp").length, "every method's handler answers with its echo");
  await buildTsServer(dir);
  const port = await freePort();
  setListenPort(dir, port);
  server = await startTsServer(dir, port);
  return port;
}

/** Builds the caller and the calling program in one CMake project; resolves the program's path. */
async function buildCallingProgram(): Promise<{ program: string; calls: ReturnType<typeof planCalls> }> {
  const dir = path.join(await generated(["caller", ...ARGS, "--lang", "cpp"]), "cpp");
  const calls = planCalls(readmeCalls(readFileSync(path.join(dir, "README.md"), "utf8"), "cpp"), corpusMethods("cpp"));
  const include = path.join(dir, "include");
  const headers = readdirSync(include, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".msec.h")).sort();
  const source = path.join(work, "corpus_calls.cc");
  writeFileSync(source, cppProgram(calls, headers));
  const build = path.join(work, "build");
  const configure = await run(
    "cmake",
    ["-S", path.join(REPO_ROOT, "test/interop/cpp"), "-B", build, "-DCMAKE_BUILD_TYPE=Debug", `-DCALLER_DIR=${dir}`, "-DCALLER_PACKAGE=IdCorpusCaller", `-DCLIENT_SOURCE=${source}`],
    { env: toolEnv() },
  );
  assert.equal(configure.code, 0, configure.stdout + configure.stderr);
  const made = await run("cmake", ["--build", build, "-j", String(Math.min(2, cpus().length))], { env: toolEnv() });
  const errors = (made.stdout + made.stderr).split("\n").filter((l) => l.includes("error")).slice(0, 40).join("\n");
  assert.equal(made.code, 0, errors);
  return { program: path.join(build, "client"), calls };
}

test("C++ caller of the corpus's C++ variant builds (cmake, protoc at build time, g++); a program calls every rpc (570) on the live TS server and gets each exact reply", async () => {
  const [port, { program, calls }] = await Promise.all([startEchoServer(), buildCallingProgram()]);
  assert.equal(calls.length, 570);
  const r = await run(program, [`127.0.0.1:${port}`], { env: toolEnv() });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split("\n"), [...calls.map((c) => c.expected), ""]);
});
