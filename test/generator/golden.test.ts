/**
 * Golden tests: every generated file of every case in golden-cases.ts must
 * equal the committed file under test/golden/ byte for byte, and no file may
 * appear or disappear. The runtime artefacts that packages carry under
 * `runtime/` are left out: they are the runtimes' own sources, tested there.
 * Refresh with scripts/update-golden.sh.
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { generate } from "../../generator/generate.js";
import { GOLDEN_CASES, GOLDEN_DIR, GOLDEN_SUFFIX, REPO_ROOT } from "./golden-cases.js";

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out;
}

for (const c of GOLDEN_CASES) {
  test(`generated files of ${c.id} equal test/golden/${c.id} byte for byte`, async () => {
    const files = (await generate({ ...c.options, cwd: REPO_ROOT })).filter((f) => f.runtimeArtefact !== true);
    const dir = path.join(GOLDEN_DIR, c.id);
    const expected = (await listFiles(dir)).map((p) => p.slice(0, -GOLDEN_SUFFIX.length)).sort();
    assert.deepEqual(files.map((f) => f.path).sort(), expected, "file list differs (run scripts/update-golden.sh after an intended change)");
    for (const f of files) {
      const want = await fs.readFile(path.join(dir, f.path + GOLDEN_SUFFIX));
      const got = Buffer.from(typeof f.content === "string" ? f.content : f.content);
      assert.ok(got.equals(want), `${f.path} differs from its golden file (run scripts/update-golden.sh after an intended change)`);
    }
  });
}
