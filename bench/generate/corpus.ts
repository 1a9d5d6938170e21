/**
 * A reproducible corpus of `.proto` files for the generator benchmark, made
 * from a fixed seed: the same seed and size give byte-identical files on every
 * machine. Shaped like MSEC service IDL at scale: proto2 (a quarter proto3),
 * `required`/`optional`/`repeated` scalars of every type, enums, nested
 * messages, maps, oneofs, defaults, comments, imports across files and
 * packages (an acyclic graph), and a service in every third file.
 *
 * `node bench/generate/corpus.ts DIR [--files N] [--seed S]` writes it to DIR.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

/** Files in the corpus by default (the issue asks for at least 200). */
export const DEFAULT_CORPUS_FILES = 240;
/** Seed of the default corpus. */
export const DEFAULT_CORPUS_SEED = 20261125;
/** Packages the files are spread over. */
const PACKAGES = 12;
/** Most files one file imports. */
const MAX_IMPORTS = 3;

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; deterministic for a seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCALARS = [
  "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
  "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
] as const;
const WORDS = ["user", "order", "item", "price", "title", "status", "msg", "count", "url", "score", "tag", "time", "region", "token", "owner"];

interface FilePlan {
  index: number;
  path: string;
  pkg: string;
  syntax: "proto2" | "proto3";
  /** Fully qualified message names declared at top level (usable by importers). */
  messages: string[];
}

/** One `.proto` file of the corpus: its path relative to the corpus root, and its text. */
export interface CorpusFile {
  path: string;
  content: string;
}

/** Builds the corpus in memory. */
export function buildCorpus(files = DEFAULT_CORPUS_FILES, seed = DEFAULT_CORPUS_SEED): CorpusFile[] {
  const rnd = random(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const plans: FilePlan[] = [];
  const out: CorpusFile[] = [];

  for (let index = 0; index < files; index++) {
    const p = index % PACKAGES;
    const plan: FilePlan = {
      index,
      path: `p${p}/f${index}.proto`,
      pkg: `bench.p${p}`,
      syntax: rnd() < 0.25 ? "proto3" : "proto2",
      messages: [],
    };
    const imports = new Set<FilePlan>();
    const importCount = index === 0 ? 0 : int(0, MAX_IMPORTS);
    for (let i = 0; i < importCount; i++) imports.add(plans[int(0, index - 1)]!);
    const foreign = [...imports].flatMap((f) => f.messages);

    const lines: string[] = [];
    lines.push(`// Benchmark corpus file ${index} (seed ${seed}). Generated; do not edit.`);
    lines.push(`syntax = "${plan.syntax}";`, "");
    lines.push(`package ${plan.pkg};`, "");
    if (rnd() < 0.5) lines.push("option cc_generic_services = true;", "option java_generic_services = true;", "");
    for (const f of [...imports].sort((a, b) => a.index - b.index)) lines.push(`import "${f.path}";`);
    if (imports.size > 0) lines.push("");

    const enumName = `E${index}`;
    const enumValues = int(2, 6);
    lines.push(`// Kinds of thing ${index}.`, `enum ${enumName} {`);
    for (let v = 0; v < enumValues; v++) lines.push(`  ${enumName}_V${v} = ${v};`);
    lines.push("}", "");

    const messageCount = int(3, 8);
    const local: string[] = [];
    for (let m = 0; m < messageCount; m++) {
      const name = `M${index}_${m}`;
      lines.push(`// ${pick(WORDS)} record ${m} of file ${index}.`, `message ${name} {`);
      const nested = rnd() < 0.3 ? `Part${m}` : undefined;
      if (nested !== undefined) {
        lines.push(`  message ${nested} {`, `    optional string ${pick(WORDS)}_name = 1;`, `    repeated int64 ${pick(WORDS)}_ids = 2;`, "  }");
      }
      const fieldCount = int(2, 12);
      let number = 1;
      for (let f = 0; f < fieldCount; f++) {
        const fieldName = `${pick(WORDS)}_${f}`;
        const roll = rnd();
        let type: string;
        if (roll < 0.6) type = pick(SCALARS);
        else if (roll < 0.7) type = enumName;
        else if (roll < 0.8 && nested !== undefined) type = nested;
        else if (roll < 0.9 && local.length > 0) type = pick(local);
        else if (foreign.length > 0) type = pick(foreign);
        else type = pick(SCALARS);
        const isMessage = !(SCALARS as readonly string[]).includes(type) && type !== enumName;
        const labelRoll = rnd();
        let label: string;
        if (plan.syntax === "proto2") label = labelRoll < 0.3 ? "required " : labelRoll < 0.75 ? "optional " : "repeated ";
        else label = labelRoll < 0.6 ? "" : labelRoll < 0.75 ? "optional " : "repeated ";
        let option = "";
        if (plan.syntax === "proto2" && label === "optional " && !isMessage && rnd() < 0.2) {
          option =
            type === "string" ? ' [default = "none"]'
            : type === "bytes" ? ' [default = "\\x00\\x01"]'
            : type === "bool" ? " [default = true]"
            : type === enumName ? ` [default = ${enumName}_V1]`
            : " [default = 7]";
        }
        if (rnd() < 0.3) lines.push(`  // The ${fieldName.replace(/_\d+$/, "")} of this record.`);
        lines.push(`  ${label}${type} ${fieldName} = ${number++}${option};`);
      }
      if (rnd() < 0.2) lines.push(`  map<string, int32> ${pick(WORDS)}_counts = ${number++};`);
      if (rnd() < 0.2) {
        lines.push(`  oneof choice {`, `    string choice_text = ${number++};`, `    int64 choice_number = ${number++};`, "  }");
      }
      lines.push("}", "");
      local.push(name);
    }
    plan.messages = local.map((m) => `${plan.pkg}.${m}`);

    if (index % 3 === 0) {
      const service = `Svc${index}Service`;
      lines.push(`// Service of file ${index}.`, `service ${service} {`);
      const methods = int(1, 4);
      for (let m = 0; m < methods; m++) {
        const request = pick(local);
        const response = pick([...local, ...foreign]);
        lines.push(`  // Does step ${m}.`, `  rpc Do${m}${pick(WORDS)}(${request}) returns (${response});`);
      }
      lines.push("}", "");
    }
    plans.push(plan);
    out.push({ path: plan.path, content: lines.join("\n") });
  }
  return out;
}

/** Writes the corpus under `dir`; returns the written paths, relative to `dir`. */
export function writeCorpus(dir: string, files = DEFAULT_CORPUS_FILES, seed = DEFAULT_CORPUS_SEED): string[] {
  const corpus = buildCorpus(files, seed);
  for (const file of corpus) {
    const full = path.join(dir, file.path);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, file.content);
  }
  return corpus.map((f) => f.path);
}

if (process.argv[1] !== undefined && /corpus\.[jt]s$/.test(process.argv[1])) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { files: { type: "string", default: String(DEFAULT_CORPUS_FILES) }, seed: { type: "string", default: String(DEFAULT_CORPUS_SEED) } },
  });
  const dir = positionals[0];
  if (dir === undefined) throw new Error("usage: corpus.ts DIR [--files N] [--seed S]");
  const written = writeCorpus(dir, Number(values.files), Number(values.seed));
  console.log(`wrote ${written.length} .proto files under ${dir}`);
}
