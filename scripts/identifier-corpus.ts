/**
 * Writes the identifier corpus (test/identifiers/corpus.ts) to
 * fixtures/identifiers/corpus/ (and its C++ variant to corpus-cpp/). Run: node --import tsx scripts/identifier-corpus.ts
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { corpusFiles } from "../test/identifiers/corpus.js";

for (const variant of ["all", "cpp"] as const) {
  const folder = variant === "all" ? "corpus" : "corpus-cpp";
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), `../fixtures/identifiers/${folder}`);
  rmSync(dir, { recursive: true, force: true });
  for (const f of corpusFiles(variant)) {
    const p = path.join(dir, f.path);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, f.content);
    process.stdout.write(`wrote fixtures/identifiers/${folder}/${f.path}\n`);
  }
}
