/**
 * The three reported breaks of hostile identifiers (issue 12), each on its
 * own small fixture under fixtures/identifiers/:
 * * TS server and caller: rpc names that are special as interface, class or
 *   object-literal members (`New` → `new` is a construct signature in an
 *   interface, TS2339 before) compile under tsc --strict and the smoke test
 *   of the server passes.
 * * Python caller: messages named `None`/`True` (keywords) and `match` (a soft
 *   keyword), fields named `self`: the package imports and passes
 *   `mypy --strict` (SyntaxError `_x_pb2.None` and `class None` before).
 * * Java caller: a nested enum named `enum` (protoc's Java output cannot
 *   compile it) is refused before anything is written, with file:line:col and
 *   the language.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { buildTsServer, msecGen, REPO_ROOT, run, runOk } from "../interop/ts-server.js";
import { mypyStrict } from "./python-typing.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-ids-breaks-"));
after(() => rmSync(work, { recursive: true, force: true }));

const fixture = (name: string): string => path.join("fixtures/identifiers", name);

async function generated(args: readonly string[]): Promise<string> {
  const r = await msecGen([...args, "--dir", "-o", work, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test("TS: rpc names special as members (New, Constructor, then, __proto__, …) compile in server and caller; the server's smoke test passes", async () => {
  const server = await generated(["server", fixture("ts_members.proto"), "--name", "Id.Members"]);
  await buildTsServer(server);
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const smoke = await run(process.execPath, ["--test", "dist/test/smoke.test.js"], { cwd: server, env });
  assert.match(smoke.stdout, /^# fail 0$/m, smoke.stdout + smoke.stderr);
  assert.match(smoke.stdout, /^# pass 34$/m, smoke.stdout);
  const caller = path.join(await generated(["caller", fixture("ts_members.proto"), "--name", "Id.Members", "--lang", "ts"]), "ts");
  await buildTsServer(caller);
});

test("Python: messages None/True/match and fields self import and pass mypy --strict", async () => {
  const dir = path.join(await generated(["caller", fixture("python_keywords.proto"), "--name", "Id.Pykw", "--lang", "python"]), "python");
  const env = { ...process.env, PYTHONPATH: [dir, path.join(dir, "runtime/src")].join(path.delimiter), PYTHONDONTWRITEBYTECODE: "1" };
  const program = [
    "import pickle",
    "from id_pykw import KeywordsClient",
    "from id_pykw import python_keywords_pb2 as pb",
    "n = pb.None_(self='me', cls=1, request='r')",
    "t = pb.True_(self=n)",
    "assert getattr(pb, 'None') is pb.None_ and getattr(pb, 'True') is pb.True_",
    "assert pickle.loads(pickle.dumps(t)) == t",
    "assert t.self.self == 'me'",
    "print(KeywordsClient.__name__, type(t).__name__, pb.match(case='c').case)",
  ].join("\n");
  const out = await runOk("python3", ["-c", program], { cwd: work, env });
  assert.equal(out, "KeywordsClient True c\n");
  const pkg = path.join(dir, "id_pykw");
  const files = readdirSync(pkg).filter((f) => f.endsWith(".py") || f.endsWith(".pyi")).filter((f) => !(f.endsWith(".py") && existsSync(path.join(pkg, `${f}i`))));
  const mypyEnv = { ...env, MYPYPATH: path.join(dir, "runtime/src") };
  await mypyStrict(work, dir, files.map((f) => `id_pykw/${f}`), mypyEnv);
  await mypyStrict(work, dir, ["id_pykw/python_keywords_msec.py"], mypyEnv);
});

test("Java: a nested enum named enum is refused with file:line:col and the language; nothing is written", async () => {
  const out = path.join(work, "refused");
  const r = await msecGen(["caller", fixture("java_refused.proto"), "--name", "Id.Refused", "--lang", "java", "--dir", "-o", out, "-q"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr,
    "msec-gen: error: fixtures/identifiers/java_refused.proto:7:8: enum jrefused.Holder.enum: \"enum\" is a Java keyword; protoc's Java code uses it as a class name unescaped, which cannot compile — rename it or generate without --lang java\n",
  );
  assert.equal(existsSync(out), false);
});

test("Java from the default language set: skipped with the same message as a warning, the other languages are written", async () => {
  const out = path.join(work, "defaulted");
  const r = await msecGen(["caller", fixture("java_refused.proto"), "--name", "Id.Refused", "--dir", "-o", out, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^msec-gen: warning: skipping the java caller: fixtures\/identifiers\/java_refused\.proto:7:8: enum jrefused\.Holder\.enum: "enum" is a Java keyword; .* \(name languages with --lang\)$/m,
  );
  const langs = readdirSync(path.join(out, "Id.Refused-caller")).filter((f) => f !== "README.md").sort();
  assert.ok(!langs.includes("java"), langs.join(","));
  assert.ok(langs.includes("ts") && langs.includes("python"), langs.join(","));
});

void REPO_ROOT;
