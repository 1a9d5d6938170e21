/**
 * The library API (`import { generate } from "msec-gen"`): resolvable through
 * the package's own exports (the build in dist/), no side effects on import,
 * files returned in memory and written only by writeOutput.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { generate, UserError, writeOutput } from "../../generator/index.js";
import { REPO_ROOT } from "./golden-cases.js";

const run = promisify(execFile);
let work: string;

before(async () => {
  if (!existsSync(path.join(REPO_ROOT, "dist/generator/index.js"))) {
    await run("npm", ["run", "build"], { cwd: REPO_ROOT });
  }
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-lib-"));
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

test('the package root export "msec-gen" resolves to the library and importing it prints and writes nothing', async () => {
  const script = [
    'const lib = await import("msec-gen");',
    'console.log(JSON.stringify(["generate", "writeOutput", "createTarball", "compileProtos", "buildModel", "findTarget"].map((k) => typeof lib[k])));',
  ].join("\n");
  const file = path.join(REPO_ROOT, "dist", "library-import-probe.mjs");
  await fs.writeFile(file, script);
  try {
    const cwd = await fs.mkdtemp(path.join(work, "cwd-"));
    const r = await run(process.execPath, [file], { cwd });
    assert.equal(r.stdout, '["function","function","function","function","function","function"]\n');
    assert.equal(r.stderr, "");
    assert.deepEqual(await fs.readdir(cwd), []);
  } finally {
    await fs.rm(file, { force: true });
  }
});

test("generate returns the files in memory; writeOutput writes them", async () => {
  const cwd = await fs.mkdtemp(path.join(work, "gen-"));
  await fs.copyFile(path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), path.join(cwd, "Crawl.proto"));
  const files = await generate({ kind: "caller", protos: ["Crawl.proto"], cwd, name: "VOA.Crawl", lang: "ts" });
  assert.deepEqual(await fs.readdir(cwd), ["Crawl.proto"]);
  assert.deepEqual(
    files.map((f) => f.path),
    [
      "VOA.Crawl-caller/ts/package.json",
      "VOA.Crawl-caller/ts/tsconfig.json",
      "VOA.Crawl-caller/ts/README.md",
      "VOA.Crawl-caller/ts/.gitignore",
      "VOA.Crawl-caller/ts/src/index.ts",
      "VOA.Crawl-caller/ts/runtime/msec-gen-runtime-0.1.0.tgz",
      "VOA.Crawl-caller/ts/proto/Crawl.proto",
      "VOA.Crawl-caller/ts/src/gen/Crawl_pb.ts",
      "VOA.Crawl-caller/ts/src/gen/Crawl_msec.ts",
      "VOA.Crawl-caller/README.md",
    ],
  );
  const result = await writeOutput(files, path.join(cwd, "out"), false);
  assert.equal(result.path, path.join(cwd, "out", "VOA.Crawl-caller.tgz"));
});

test("the default routing name comes from the package and the first service", async () => {
  const files = await generate({ kind: "server", protos: ["fixtures/voa/Crawl.proto"], cwd: REPO_ROOT });
  assert.equal(files[0]?.path.split("/")[0], "crawl.Crawl-server-ts");
});

test("bad input rejects with UserError", async () => {
  await assert.rejects(generate({ kind: "server", protos: ["fixtures/voa/Crawl.proto"], cwd: REPO_ROOT, name: "bad" }), UserError);
  await assert.rejects(generate({ kind: "server", protos: ["fixtures/voa/Crawl.proto"], cwd: REPO_ROOT, lang: ["ts", "python"] }), UserError);
});
