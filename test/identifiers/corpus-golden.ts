/**
 * Goldens of the identifier corpus: per kind and language, one digest file
 * test/golden/identifiers-corpus/<kind>-<lang>.sha256 listing every file
 * msec-gen generates from the corpus (`sha256sum` format: `<hex>  <path>`,
 * sorted by path; the runtime copies under `runtime/` left out, as in the
 * other goldens). Digests rather than the files themselves: the corpus's
 * output is ≈ 58 MB (protoc's Java message code alone ≈ 41 MB), too much to
 * commit and review as text; the full-text goldens of the small identifier
 * fixtures (ids-* in test/generator/golden-cases.ts) show what the escaping
 * looks like, the digests pin every byte of the corpus's output and name each
 * file that changed. Written by scripts/update-golden.sh, checked by
 * corpus-golden.test.ts.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "../../generator/generate.js";
import type { GenerateOptions } from "../../generator/generate.js";
import { corpusFiles } from "./corpus.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CORPUS_GOLDEN_DIR = path.join(REPO_ROOT, "test/golden/identifiers-corpus");

export interface CorpusDigestCase {
  /** `<kind>-<lang>`: the digest file's name without `.sha256`. */
  readonly id: string;
  /** The corpus (`all`, fixtures/identifiers/corpus/) or its C++ variant (`cpp`, corpus-cpp/). */
  readonly variant: "all" | "cpp";
  readonly kind: "server" | "caller";
  readonly lang: string;
}

/** Every package generated from the corpus in the tests: servers in TS and Python, callers in all five languages (C++ from corpus-cpp, as the main corpus is refused). */
export const CORPUS_DIGEST_CASES: readonly CorpusDigestCase[] = [
  { id: "server-ts", variant: "all", kind: "server", lang: "ts" },
  { id: "server-python", variant: "all", kind: "server", lang: "python" },
  { id: "caller-ts", variant: "all", kind: "caller", lang: "ts" },
  { id: "caller-python", variant: "all", kind: "caller", lang: "python" },
  { id: "caller-go", variant: "all", kind: "caller", lang: "go" },
  { id: "caller-java", variant: "all", kind: "caller", lang: "java" },
  { id: "caller-cpp", variant: "cpp", kind: "caller", lang: "cpp" },
];

/** The generate() options of a case, as the corpus tests give them on the command line. */
export function corpusOptions(c: CorpusDigestCase): GenerateOptions {
  const dir = c.variant === "cpp" ? "fixtures/identifiers/corpus-cpp" : "fixtures/identifiers/corpus";
  return { kind: c.kind, lang: c.lang, protos: corpusFiles(c.variant).map((f) => `${dir}/${f.path}`), includes: [dir], name: "Id.Corpus", cwd: REPO_ROOT };
}

/** path → sha256 hex of every file the case generates (runtime copies left out). */
export async function corpusDigests(c: CorpusDigestCase): Promise<Map<string, string>> {
  const files = (await generate(corpusOptions(c))).filter((f) => f.runtimeArtefact !== true);
  return new Map(files.map((f) => [f.path, createHash("sha256").update(f.content).digest("hex")]));
}

/** The digest file's text: `<hex>  <path>` lines sorted by path (code-unit order). */
export function formatDigests(digests: ReadonlyMap<string, string>): string {
  return [...digests.keys()].sort().map((p) => `${digests.get(p)}  ${p}\n`).join("");
}

/** Parses a digest file; throws on a line that is not `<64 hex>  <path>`. */
export function parseDigests(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (m === null) throw new Error(`${file}:${i + 1}: not "<sha256>  <path>": ${line}`);
    out.set(m[2]!, m[1]!);
  });
  return out;
}

/** The committed digests of a case. */
export function goldenDigests(c: CorpusDigestCase): Map<string, string> {
  const file = path.join(CORPUS_GOLDEN_DIR, `${c.id}.sha256`);
  return parseDigests(readFileSync(file, "utf8"), path.relative(REPO_ROOT, file));
}

/** What differs between the committed and the generated digests; empty when they agree. */
export function digestDiff(want: ReadonlyMap<string, string>, got: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  for (const [p, hash] of [...want].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!got.has(p)) lines.push(`missing (in the golden, not generated): ${p}`);
    else if (got.get(p) !== hash) lines.push(`differs: ${p}`);
  }
  for (const p of [...got.keys()].sort()) if (!want.has(p)) lines.push(`extra (generated, not in the golden): ${p}`);
  return lines;
}

/** Rewrites every digest file (scripts/update-golden.sh); returns `<id>: <n> files` lines. */
export async function writeCorpusDigests(): Promise<string[]> {
  mkdirSync(CORPUS_GOLDEN_DIR, { recursive: true });
  const report: string[] = [];
  for (const c of CORPUS_DIGEST_CASES) {
    const digests = await corpusDigests(c);
    writeFileSync(path.join(CORPUS_GOLDEN_DIR, `${c.id}.sha256`), formatDigests(digests));
    report.push(`identifiers-corpus/${c.id}: ${digests.size} files`);
  }
  return report;
}
