/**
 * The identifier corpus (fixtures/identifiers/corpus/, from corpus.ts) in
 * every language, one build per language for the whole corpus. The live TS
 * server is the corpus's TS server package with its handler files edited to
 * answer every method with a reply naming it (echo-server.ts), so callers'
 * replies are checked exactly:
 * * the written fixtures are what corpus.ts produces;
 * * TS server: tsc --strict, its smoke test calls every method (SRPC and
 *   HTTP); TS caller: tsc --strict;
 * * Python server: its pytest smoke test calls every method, mypy --strict;
 *   Python caller: imports, mypy --strict, and calls to the live TS server;
 * * Go caller: go build (the module as generated, its go.mod's requirements),
 *   and a program calling two rpcs of it against the live TS server;
 * * Java caller: built with Maven (`mvn package` of the bundled runtime and
 *   the package in one reactor run, dependencies from ~/.m2 or Maven Central;
 *   the README's `mvn install` minus the install into ~/.m2), and a program
 *   calling every rpc the README lists — all of the corpus's — against the
 *   live TS server (caller-programs.ts);
 * * C++ caller: refused up front (the corpus holds C macros and keywords
 *   protoc's C++ code does not escape; docs/generator.md, "Identifier
 *   escaping"); its variant corpus-cpp is built and called in corpus-cpp.test.ts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { buildTsServer, freePort, msecGen, REPO_ROOT, run, runOk, type ServerProcess, setListenPort, startTsServer } from "../interop/ts-server.js";
import { compileJavaProgram, pomCoordinates, PROTOBUF_JAR, runtimeJar } from "../interop/java-toolchain.js";
import { javaProgram, planCalls, readmeCalls } from "./caller-programs.js";
import { corpusFiles, corpusMethods } from "./corpus.js";
import { echoReply, useEchoHandlers } from "./echo-server.js";
import { mypyStrict } from "./python-typing.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-ids-corpus-"));
const CORPUS = "fixtures/identifiers/corpus";
const PROTOS = corpusFiles().map((f) => `${CORPUS}/${f.path}`);
const ARGS = ["-I", CORPUS, ...PROTOS, "--name", "Id.Corpus"];

let server: ServerProcess | undefined;
let serverDir: string;
let port: number;
let callers: string;

async function generated(args: readonly string[]): Promise<string> {
  const r = await msecGen([...args, "--dir", "-o", work, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

before(async () => {
  [serverDir, callers] = await Promise.all([generated(["server", ...ARGS]), generated(["caller", ...ARGS, "--lang", "ts,python,go,java"])]);
  assert.equal(useEchoHandlers(serverDir), corpusMethods().length, "every method's handler answers with its echo");
  await buildTsServer(serverDir);
  port = await freePort();
  setListenPort(serverDir, port);
  server = await startTsServer(serverDir, port);
});

after(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("fixtures/identifiers/corpus and corpus-cpp are what scripts/identifier-corpus.ts writes", () => {
  for (const f of corpusFiles()) assert.equal(readFileSync(path.join(REPO_ROOT, CORPUS, f.path), "utf8"), f.content, `${f.path} is stale: run scripts/identifier-corpus.ts`);
  for (const f of corpusFiles("cpp")) {
    assert.equal(readFileSync(path.join(REPO_ROOT, `${CORPUS}-cpp`, f.path), "utf8"), f.content, `corpus-cpp/${f.path} is stale: run scripts/identifier-corpus.ts`);
  }
});

test("TS server of the corpus: compiles (tsc --strict) and its smoke test calls every method over SRPC and HTTP", async () => {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const smoke = await run(process.execPath, ["--test", "dist/test/smoke.test.js"], { cwd: serverDir, env });
  assert.match(smoke.stdout, /^# fail 0$/m, smoke.stdout.slice(-3000) + smoke.stderr);
  const passed = Number(/^# pass (\d+)$/m.exec(smoke.stdout)?.[1]);
  assert.ok(passed > 1000, `${passed} smoke calls`);
});

test("TS caller of the corpus compiles (tsc --strict)", async () => {
  await buildTsServer(path.join(callers, "ts"));
});

test("Python caller of the corpus: imports, passes mypy --strict, and calls the live TS server", async () => {
  const dir = path.join(callers, "python");
  const env = { ...process.env, PYTHONPATH: [dir, path.join(dir, "runtime/src")].join(path.delimiter), PYTHONDONTWRITEBYTECODE: "1" };
  const program = [
    "import sys",
    "from id_corpus import proto2_None_msec as p2, proto2_None_pb2 as pb2",
    "from id_corpus import proto3_class_import_msec as p3, proto3_class_import_pb2 as pb3",
    "addr = sys.argv[1]",
    "with p2.ErrorClient(addr) as c:",
    "    r = c.class_(pb2.Req(text='x'))",
    "    print(type(r).__name__, r.text)",
    "with p3.ErrorClient_(addr) as c3:",
    "    r3 = c3.then(pb3.Req(text='y'))",
    "    print(type(r3).__name__, r3.text)",
    "with p2.NoneClient(addr) as n:",
    "    v = n.call(pb2.Nested.None_(value=1))",
    "    print(type(v).__name__, v.value)",
    "with p3.matchClient(addr) as m:",
    "    t = m.call(pb3.None_(text='z'))",
    "    print(type(t).__name__, t.text)",
  ].join("\n");
  const out = await runOk("python3", ["-c", program, `127.0.0.1:${port}`], { cwd: work, env });
  const reply = (wire: string, sent: string | number): string => echoReply({ wire, field: typeof sent === "number" ? "value" : "text" }, sent);
  assert.equal(
    out,
    [
      `Resp ${reply("corpus2.import.None.func.yield.Error.class", "x")}`,
      `Resp ${reply("corpus3.then.lambda.chan.var.Error.then", "y")}`,
      `self ${reply("corpus2.import.None.func.yield.None.Call", 1)}`,
      `then ${reply("corpus3.then.lambda.chan.var.match.Call", "z")}`,
      "",
    ].join("\n"),
  );
  const mypyEnv = { ...env, MYPYPATH: path.join(dir, "runtime/src") };
  await mypyStrict(work, dir, ["id_corpus/__init__.py", "id_corpus/msec_impl.py", "id_corpus/proto2_None_pb2.pyi", "id_corpus/proto3_class_import_pb2.pyi", "id_corpus/proto2_None_msec.pyi", "id_corpus/proto3_class_import_msec.pyi"], mypyEnv);
  await mypyStrict(work, dir, ["id_corpus/proto2_None_msec.py", "id_corpus/proto3_class_import_msec.py"], mypyEnv);
});

test("Python server of the corpus: its smoke test calls every method; mypy --strict passes", async () => {
  const dir = await generated(["server", ...ARGS, "--lang", "python"]);
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };
  const r = await run("python3", ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], { cwd: dir, env });
  assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
  assert.match(r.stdout, /^\d{3,} passed/m, r.stdout.slice(-500));
  await mypyStrict(work, dir, ["id_corpus_server", "main.py", "build.py"], { ...env, MYPYPATH: path.join(dir, "runtime/src") });
});

test("Go caller of the corpus builds (go build ./... with the module's own go.mod) and calls the live TS server", async () => {
  const dir = path.join(callers, "go");
  assert.ok(existsSync(path.join(dir, "go.mod")));
  const env = { ...process.env, GOFLAGS: "-mod=mod" };
  const r = await run("go", ["build", "./..."], { cwd: dir, env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  mkdirSync(path.join(dir, "smokecall"));
  writeFileSync(
    path.join(dir, "smokecall/main.go"),
    [
      "package main",
      "",
      "import (",
      '\t"context"',
      '\t"fmt"',
      '\t"os"',
      "",
      '\tp2 "example.com/msec/id/corpus/corpus2/import/none/func/yield"',
      '\tp3 "example.com/msec/id/corpus/corpus3/then/lambda/chan/var"',
      '\tmsec "github.com/msec-gen/msec-gen/runtimes/go"',
      ")",
      "",
      "func main() {",
      "\topts := msec.Options{Service: os.Args[1]}",
      '\tr2, err := p2.NewErrorClient(opts).Class(context.Background(), &p2.Req{Text: new(string)})',
      "\tif err != nil {",
      "\t\tpanic(err)",
      "\t}",
      '\tr3, err := p3.NewErrorClient(opts).Then(context.Background(), &p3.Req{Text: "y"})',
      "\tif err != nil {",
      "\t\tpanic(err)",
      "\t}",
      '\tfmt.Printf("%q %q\\n", r2.GetText(), r3.GetText())',
      "}",
      "",
    ].join("\n"),
  );
  const out = await runOk("go", ["run", "./smokecall", `127.0.0.1:${port}`], { cwd: dir, env });
  assert.equal(out, `"corpus2.import.None.func.yield.Error.class " "corpus3.then.lambda.chan.var.Error.then y"\n`);
});

/**
 * `mvn package` of the Java caller in `dir` and the runtime it carries in
 * `runtime/`, in one reactor run (an aggregator pom beside them), so the
 * package resolves msec-runtime from the reactor without an install into
 * ~/.m2; protobuf-java and Maven's plugins come from ~/.m2 or Maven Central.
 * Not java-toolchain's mavenReactorPackage: its 5-minute step limit is too
 * short for the corpus's ~41 MB of protoc Java code on a busy machine.
 * Resolves the package's jar.
 */
async function mavenPackage(dir: string): Promise<string> {
  const reactor = path.join(work, "java-reactor");
  mkdirSync(reactor);
  const modules = [path.join(dir, "runtime"), dir].map((d) => `    <module>${path.relative(reactor, d)}</module>`);
  writeFileSync(
    path.join(reactor, "pom.xml"),
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<project xmlns="http://maven.apache.org/POM/4.0.0">',
      "  <modelVersion>4.0.0</modelVersion>",
      "  <groupId>test.msecgen</groupId>",
      "  <artifactId>ids-corpus-reactor</artifactId>",
      "  <version>0</version>",
      "  <packaging>pom</packaging>",
      "  <modules>",
      ...modules,
      "  </modules>",
      "</project>",
      "",
    ].join("\n"),
  );
  await runOk("mvn", ["-q", "-B", "package"], { cwd: reactor });
  const { artifactId, version } = pomCoordinates(readFileSync(path.join(dir, "pom.xml"), "utf8"));
  return path.join(dir, "target", `${artifactId}-${version}.jar`);
}

test("Java caller of the corpus: Maven builds it with its runtime; a program calls every rpc (622) on the live TS server and gets each exact reply", async () => {
  const dir = path.join(callers, "java");
  const jar = await mavenPackage(dir);
  const calls = planCalls(readmeCalls(readFileSync(path.join(dir, "README.md"), "utf8"), "java"), corpusMethods());
  assert.equal(calls.length, 622);
  const classes = path.join(work, "java-program");
  const classpath = [classes, jar, runtimeJar(dir), PROTOBUF_JAR];
  await compileJavaProgram(classes, "CorpusCalls", javaProgram(calls), classpath.slice(1));
  const out = await runOk("java", ["-cp", classpath.join(path.delimiter), "CorpusCalls", `127.0.0.1:${port}`]);
  assert.deepEqual(out.split("\n"), [...calls.map((c) => c.expected), ""]);
});

test("C++ caller of the corpus is refused before anything is written (names protoc's C++ code cannot compile)", async () => {
  const out = path.join(work, "cpp-refused");
  const r = await msecGen(["caller", ...ARGS, "--lang", "cpp", "--dir", "-o", out, "-q"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^msec-gen: error: fixtures\/identifiers\/corpus\/proto2\/None\.proto:\d+:\d+: extension corpus2\.import\.None\.func\.yield\.assert: "assert" is a C\+\+ keyword or macro .* generate without --lang cpp\n$/);
  assert.equal(existsSync(out), false);
});
