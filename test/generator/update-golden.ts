/**
 * Rewrites test/golden/ from the current generator (the cases of
 * golden-cases.ts as files, the identifier corpus as digests:
 * test/identifiers/corpus-golden.ts). Run through
 * scripts/update-golden.sh, then review `git diff test/golden`.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { generate } from "../../generator/generate.js";
import { writeCorpusDigests } from "../identifiers/corpus-golden.js";
import { GOLDEN_CASES, GOLDEN_DIR, GOLDEN_SUFFIX, REPO_ROOT } from "./golden-cases.js";

for (const c of GOLDEN_CASES) {
  const files = (await generate({ ...c.options, cwd: REPO_ROOT })).filter((f) => f.runtimeArtefact !== true);
  const dir = path.join(GOLDEN_DIR, c.id);
  await fs.rm(dir, { recursive: true, force: true });
  for (const f of files) {
    const target = path.join(dir, f.path + GOLDEN_SUFFIX);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, f.content);
  }
  process.stdout.write(`${c.id}: ${files.length} files\n`);
}
for (const line of await writeCorpusDigests()) process.stdout.write(`${line}\n`);
