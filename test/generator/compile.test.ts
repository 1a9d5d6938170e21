/**
 * Generated TypeScript compiles under `tsc --strict` (the generated
 * tsconfig.json: strict, noUncheckedIndexedAccess, verbatimModuleSyntax) with
 * the project's TypeScript 6.0 and with TypeScript 5.9, for every golden case
 * — including the reserved-word fixture (message `Object`, field `delete`,
 * method `then`, package `import`, …) — and every generated server's smoke
 * test passes (each method over a real socket, binary and JSON).
 *
 * The packages resolve `@msec-gen/runtime` to this checkout's runtime
 * (runtimes/ts, built by `npm run build`; built here when missing) and
 * `@bufbuild/protobuf` and `@types/node` to this checkout's node_modules.
 * Installing generated packages the way users do is test/e2e/fresh-install.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { generate } from "../../generator/generate.js";
import { writeOutput } from "../../generator/output.js";
import { GOLDEN_CASES, REPO_ROOT } from "./golden-cases.js";

const run = promisify(execFile);

/** TypeScript 6.0 also emits dist/ (to run the smoke test); 5.9 only checks. */
const COMPILERS = [
  { label: "TypeScript 6.0", tsc: path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), args: [] as string[] },
  { label: "TypeScript 5.9", tsc: path.join(REPO_ROOT, "node_modules/typescript-5.9/bin/tsc"), args: ["--noEmit"] },
];

let work: string;

before(async () => {
  if (!existsSync(path.join(REPO_ROOT, "runtimes/ts/dist/index.d.ts"))) {
    await run("npm", ["run", "build"], { cwd: REPO_ROOT });
  }
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-compile-"));
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** Link the packages generated code imports, as `npm install` would place them. */
async function linkDependencies(pkg: string): Promise<void> {
  const links: Array<[string, string]> = [
    ["@msec-gen/runtime", path.join(REPO_ROOT, "runtimes/ts")],
    ["@bufbuild/protobuf", path.join(REPO_ROOT, "node_modules/@bufbuild/protobuf")],
    ["@types/node", path.join(REPO_ROOT, "node_modules/@types/node")],
  ];
  for (const [name, target] of links) {
    const link = path.join(pkg, "node_modules", name);
    await fs.mkdir(path.dirname(link), { recursive: true });
    await fs.symlink(target, link, "dir");
  }
}

/** The TypeScript cases (other languages' goldens are compiled by their own tests). */
// (A caller taking message code from another package, --ts-import, builds against that package:
// test/e2e/fresh-install builds and runs that pair.)
const TS_CASES = GOLDEN_CASES.filter((c) => [c.options.lang ?? "ts"].flat().join(",") === "ts" && c.options.tsImport === undefined);

for (const c of TS_CASES) {
  test(`${c.id} compiles under tsc --strict with TypeScript 6.0 and 5.9${c.options.kind === "server" ? " and its smoke test passes" : ""}`, async () => {
    const out = path.join(work, c.id);
    const files = await generate({ ...c.options, cwd: REPO_ROOT });
    const written = await writeOutput(files, out, true);
    const pkg = c.options.kind === "caller" ? path.join(written.path, "ts") : written.path;
    await linkDependencies(pkg);
    for (const compiler of COMPILERS) {
      const result = await run(process.execPath, [compiler.tsc, "-p", "tsconfig.json", ...compiler.args], { cwd: pkg }).then(
        (r) => ({ code: 0, output: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` }),
      );
      assert.equal(result.output, "", `${compiler.label} reports errors in ${c.id}`);
      assert.equal(result.code, 0, `${compiler.label} exit code for ${c.id}`);
    }
    if (c.options.kind === "server") {
      const methods = files.filter((f) => f.path.endsWith("test/smoke.test.ts"))[0]!.content.toString().match(/^test\(/gm)?.length ?? 0;
      const env = { ...process.env };
      delete env.NODE_TEST_CONTEXT; // else the child reports to this runner instead of stdout
      const { stdout } = await run(process.execPath, ["--test", "dist/test/smoke.test.js"], { cwd: pkg, env });
      assert.ok(methods > 0);
      assert.match(stdout, new RegExp(`^# pass ${methods}$`, "m"), stdout);
      assert.match(stdout, /^# fail 0$/m, stdout);
    }
  });
}
