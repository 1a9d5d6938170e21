/**
 * Plugin mode: `buf generate` driving `protoc-gen-msec` (the built
 * dist/cli/protoc-gen-msec.js) produces the same generated files as
 * `msec-gen server` (the goldens), honours `handlers=skip`, and reports bad
 * parameters through the CodeGeneratorResponse error.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { bufCommand } from "../../generator/buf-binary.js";
import { GOLDEN_DIR, GOLDEN_SUFFIX, REPO_ROOT } from "./golden-cases.js";

const run = promisify(execFile);
const PLUGIN = path.join(REPO_ROOT, "dist/cli/protoc-gen-msec.js");
let work: string;

before(async () => {
  if (!existsSync(PLUGIN)) await run("npm", ["run", "build"], { cwd: REPO_ROOT });
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-plugin-"));
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** Run `buf generate` for fixtures/voa/MainLogic.proto with the given plugin options; resolves the out dir. */
async function bufGenerate(name: string, opts: string[]): Promise<{ out: string; code: number; stderr: string }> {
  const dir = path.join(work, name);
  await fs.mkdir(dir);
  const voa = path.join(REPO_ROOT, "fixtures/voa");
  await fs.writeFile(
    path.join(dir, "buf.gen.yaml"),
    [
      "version: v2",
      "inputs:",
      `  - directory: ${JSON.stringify(voa)}`,
      `    paths: [${JSON.stringify(path.join(voa, "MainLogic.proto"))}]`,
      "plugins:",
      `  - local: [${JSON.stringify(process.execPath)}, ${JSON.stringify(PLUGIN)}]`,
      "    out: out",
      `    opt: [${opts.map((o) => JSON.stringify(o)).join(", ")}]`,
      "",
    ].join("\n"),
  );
  const buf = bufCommand();
  try {
    const r = await run(buf.command, [...buf.prefixArgs, "generate"], { cwd: dir });
    return { out: path.join(dir, "out"), code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { out: path.join(dir, "out"), code: err.code ?? -1, stderr: err.stderr ?? "" };
  }
}

test("buf generate with protoc-gen-msec writes the same files as msec-gen server", async () => {
  const r = await bufGenerate("same", ["kind=server", "name=VOA.MainLogic"]);
  assert.equal(r.code, 0, r.stderr);
  const root = path.join(r.out, "VOA.MainLogic-server-ts");
  const golden = path.join(GOLDEN_DIR, "voa-mainlogic-server", "VOA.MainLogic-server-ts");
  // Plugin mode references the published runtime (protoc and buf carry text, not the runtime archive).
  const pkg = JSON.parse(await fs.readFile(path.join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; files: string[] };
  assert.deepEqual(pkg.dependencies, { "@bufbuild/protobuf": "^2.13.0", "@msec-gen/runtime": "0.1.0" });
  assert.deepEqual(pkg.files, ["dist/src", "etc", "openapi.json", "proto"]);
  assert.equal(existsSync(path.join(root, "runtime")), false);
  for (const file of [
    "tsconfig.json",
    "openapi.json",
    "etc/config.ini",
    "etc/routes.conf",
    "src/gen/MainLogic_pb.ts",
    "src/gen/MainLogic_msec.ts",
    "src/handlers/MainLogicService.ts",
    "src/main.ts",
    "test/smoke.test.ts",
  ]) {
    assert.equal(await fs.readFile(path.join(root, file), "utf8"), await fs.readFile(path.join(golden, file + GOLDEN_SUFFIX), "utf8"), file);
  }
  assert.equal(existsSync(path.join(root, "proto")), false, "plugins receive no source text, so no proto/ folder");
});

test("runtime=bundled cannot carry the TypeScript runtime archive through a plugin, and says what to do", async () => {
  const r = await bufGenerate("bundled", ["kind=server", "name=VOA.MainLogic", "runtime=bundled"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /VOA\.MainLogic-server-ts\/runtime\/msec-gen-runtime-0\.1\.0\.tgz is a binary file, which protoc plugins cannot write; use runtime=registry here/);
});

test("handlers=skip leaves the handler skeletons out", async () => {
  const r = await bufGenerate("skip", ["kind=server", "name=VOA.MainLogic", "handlers=skip"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(path.join(r.out, "VOA.MainLogic-server-ts/src/handlers")), false);
  assert.equal(existsSync(path.join(r.out, "VOA.MainLogic-server-ts/src/main.ts")), true);
});

test("a bad parameter fails the generation with the plugin's message", async () => {
  const r = await bufGenerate("bad", ["kind=server", "name=VOA"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid --name "VOA": expected two levels "Group\.Service", each 1-32 characters/);
  const unknown = await bufGenerate("unknown", ["colour=blue"]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown parameter "colour" \(known: kind, name, lang, runtime, version, npm_name, ts_import, go_module, go_import, java_group_id, java_artifact_id, cpp_package, cpp_namespace, python_dist, python_package, python_import, java_proto_dep, handlers\)/);
});
