/**
 * The identifier corpus (fixtures/identifiers/corpus/, from corpus.ts) in
 * every language, one build per language for the whole corpus:
 * * the written fixtures are what corpus.ts produces;
 * * TS server: tsc --strict, its smoke test calls every method (SRPC and
 *   HTTP); TS caller: tsc --strict;
 * * Python server: its pytest smoke test calls every method, mypy --strict;
 *   Python caller: imports, mypy --strict, and a call to the live TS server;
 * * Go caller: go build (the module as generated, its go.mod's requirements),
 *   and a program calling two rpcs of it against the live TS server;
 * * Java caller: protoc's message code, the clients and the bundled runtime's
 *   sources compiled in one javac run against protobuf-java (from ~/.m2;
 *   fetched from Maven Central with `mvn dependency:get` when missing);
 * * C++ caller: refused up front (the corpus holds C macros and keywords
 *   protoc's C++ code does not escape; docs/generator.md, "Identifier escaping").
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { buildTsServer, freePort, msecGen, REPO_ROOT, run, runOk, type ServerProcess, setListenPort, startTsServer } from "../interop/ts-server.js";
import { PROTOBUF_JAVA_VERSION } from "../../generator/targets/java/protoc-java.js";
import { PROTOBUF_JAR } from "../interop/java-toolchain.js";
import { corpusFiles } from "./corpus.js";
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
    "    print(type(r).__name__, r.text == '')",
    "with p3.ErrorClient_(addr) as c3:",
    "    print(type(c3.then(pb3.Req(text='y'))).__name__)",
    "with p2.NoneClient(addr) as n:",
    "    print(type(n.call(pb2.Nested.None_(value=1))).__name__)",
    "with p3.matchClient(addr) as m:",
    "    print(type(m.call(pb3.None_(text='z'))).__name__)",
  ].join("\n");
  const out = await runOk("python3", ["-c", program, `127.0.0.1:${port}`], { cwd: work, env });
  assert.equal(out, "Resp True\nResp\nself\nthen\n");
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
      '\tfmt.Println(r2.GetText() == "", r3.GetText() == "")',
      "}",
      "",
    ].join("\n"),
  );
  const out = await runOk("go", ["run", "./smokecall", `127.0.0.1:${port}`], { cwd: dir, env });
  assert.equal(out, "true true\n");
});

test("Java caller of the corpus compiles (protoc's message code, clients and the bundled runtime in one javac run)", async () => {
  if (!existsSync(PROTOBUF_JAR)) {
    // A fresh machine: fetch protobuf-java from Maven Central as the generated pom would.
    await runOk("mvn", ["-q", "-B", "dependency:get", `-Dartifact=com.google.protobuf:protobuf-java:${PROTOBUF_JAVA_VERSION}`]);
  }
  const dir = path.join(callers, "java");
  const sources = [path.join(dir, "src/main/java"), path.join(dir, "runtime/src/main/java")].flatMap((root) =>
    readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".java")).map((f) => path.join(root, f)),
  );
  const r = await run("javac", ["-nowarn", "-Xmaxerrs", "50", "-d", path.join(work, "java-classes"), "-cp", PROTOBUF_JAR, ...sources], { cwd: dir });
  assert.equal(r.code, 0, (r.stdout + r.stderr).slice(0, 5000));
});

test("C++ caller of the corpus is refused before anything is written (names protoc's C++ code cannot compile)", async () => {
  const out = path.join(work, "cpp-refused");
  const r = await msecGen(["caller", ...ARGS, "--lang", "cpp", "--dir", "-o", out, "-q"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^msec-gen: error: proto2\/None\.proto:\d+:\d+: extension corpus2\.import\.None\.func\.yield\.assert: "assert" is a C\+\+ keyword or macro .* generate without --lang cpp\n$/);
  assert.equal(existsSync(out), false);
});
