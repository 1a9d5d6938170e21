/**
 * `msec-gen.yaml`: the outputs `msec-gen generate` keeps up to date.
 *
 * ```yaml
 * version: 1
 * generate:
 *   - kind: caller            # caller | server
 *     protos: [protos/Crawl.proto]
 *     include: [protos]
 *     name: VOA.Crawl
 *     lang: [ts, python]
 *     out: sdk                # a folder; the package goes to sdk/VOA.Crawl-caller/
 * ```
 *
 * An entry takes one key per option of `msec-gen server|caller` (the long flag
 * name, from the option table in generate-options.ts; `-o/--output` is `out`),
 * plus `kind` and `protos`. Paths are relative to the config file. Every
 * mistake is reported as `file:line:col: message`, all of them at once.
 *
 * Parsed with the `yaml` package: YAML 1.2 (so `no`/`on` stay strings), node
 * positions for every value, duplicate keys rejected.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { LineCounter, type Node, type Pair, isMap, isScalar, isSeq, parseDocument } from "yaml";
import type { TargetKind } from "../generator/target.js";
import { CompileError, UserError } from "../generator/user-error.js";
import { type GenerateOption, allGenerateOptions, configKey, generateOptions } from "./generate-options.js";

/** The file `generate` reads when `--config` is not given, in the current directory. */
export const DEFAULT_CONFIG_FILE = "msec-gen.yaml";
/** The only config format version so far. */
export const CONFIG_VERSION = 1;

/** Errors in the config file: one `file:line:col: message` line each, printed as they are. */
export class ConfigError extends CompileError {
  override readonly name: string = "ConfigError";
}

/** One `generate:` entry, validated; paths absolute. */
export interface ConfigEntry {
  /** Position in `generate:` (0-based). */
  readonly index: number;
  /** `file:line:col` of the entry, for messages about it. */
  readonly location: string;
  readonly kind: TargetKind;
  /** `.proto` files (absolute), or with `descriptorSetIn` import paths as written. */
  readonly protos: readonly string[];
  /** Absolute output folder. */
  readonly out: string;
  /** The other options by commander attribute name (`include`, `lang`, `goModule`, …). */
  readonly options: Readonly<Record<string, string | string[]>>;
  /** `file:line:col` of a key of the entry (the entry's when the key is absent). */
  readonly keyLocation: (key: string) => string;
}

export interface Config {
  /** Absolute path of the config file. */
  readonly file: string;
  /** Its folder: the base of relative paths. */
  readonly dir: string;
  readonly entries: readonly ConfigEntry[];
}

/** Read and validate `file`; `UserError` when it cannot be read, `ConfigError` for its content. */
export async function loadConfig(file: string, cwd = process.cwd()): Promise<Config> {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = await fs.readFile(abs, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new UserError(`no config file ${file} (create one with msec-gen init, or name one with --config FILE)`);
    }
    throw new UserError(`cannot read config file ${file}: ${code ?? (e as Error).message}`);
  }
  return parseConfig(text, abs, displayPath(abs, cwd));
}

function displayPath(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  return rel.startsWith("..") || path.isAbsolute(rel) ? abs : rel;
}

/** Validate config `text` of the file `abs` (`shown` in messages). */
export function parseConfig(text: string, abs: string, shown: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: string[] = [];
  const at = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `${shown}:${line}:${col}`;
  };
  const fail = (node: Node | Pair["key"] | null | undefined, message: string): void => {
    const range = node !== null && node !== undefined && typeof node === "object" && "range" in node ? (node.range as [number, number, number] | null | undefined) : undefined;
    const offset = range?.[0] ?? 0;
    errors.push(`${at(offset)}: ${message}`);
  };
  for (const e of doc.errors) errors.push(`${at(e.pos[0])}: ${e.message.split("\n")[0]}`);
  if (errors.length > 0) throw new ConfigError(errors.join("\n"));

  const dir = path.dirname(abs);
  const entries: ConfigEntry[] = [];
  const root = doc.contents;
  if (!isMap(root)) {
    fail(root, `expected a mapping with "version: ${CONFIG_VERSION}" and "generate:" (a list of outputs)`);
    throw new ConfigError(errors.join("\n"));
  }
  let versionSeen = false;
  let generateSeen = false;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (key === "version") {
      versionSeen = true;
      if (!isScalar(pair.value) || pair.value.value !== CONFIG_VERSION) {
        fail(pair.value ?? pair.key, `version must be ${CONFIG_VERSION} (the only config format so far)`);
      }
    } else if (key === "generate") {
      generateSeen = true;
      if (!isSeq(pair.value) || pair.value.items.length === 0) {
        fail(pair.value ?? pair.key, "generate must be a list of outputs (- kind: caller|server, protos: […], out: …)");
        continue;
      }
      pair.value.items.forEach((item, index) => {
        const entry = parseEntry(item as Node, index, dir, fail, at);
        if (entry !== undefined) entries.push(entry);
      });
    } else {
      fail(pair.key as Node, `unknown key ${JSON.stringify(key)} (known: version, generate)`);
    }
  }
  if (!versionSeen) fail(root, `missing "version: ${CONFIG_VERSION}"`);
  if (!generateSeen) fail(root, `missing "generate:" (a list of outputs)`);
  if (errors.length > 0) throw new ConfigError(errors.join("\n"));
  return { file: abs, dir, entries };
}

type Fail = (node: Node | Pair["key"] | null | undefined, message: string) => void;

const KINDS: readonly TargetKind[] = ["server", "caller"];

function parseEntry(node: Node, index: number, dir: string, fail: Fail, at: (offset: number) => string): ConfigEntry | undefined {
  const label = `generate[${index}]`;
  if (!isMap(node)) {
    fail(node, `${label}: expected a mapping (kind, protos, out, …)`);
    return undefined;
  }
  const pairs = new Map<string, Pair>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    pairs.set(key, pair as Pair);
  }
  const kindPair = pairs.get("kind");
  const kindValue = kindPair !== undefined && isScalar(kindPair.value) ? kindPair.value.value : undefined;
  if (kindPair === undefined) {
    fail(node, `${label}: missing "kind: caller" or "kind: server"`);
    return undefined;
  }
  if (typeof kindValue !== "string" || !KINDS.includes(kindValue as TargetKind)) {
    fail(kindPair.value ?? kindPair.key as Node, `${label}: kind must be caller or server, not ${JSON.stringify(kindValue ?? null)}`);
    return undefined;
  }
  const kind = kindValue as TargetKind;
  const own = new Map<string, GenerateOption>();
  for (const o of generateOptions(kind)) {
    const k = configKey(o);
    if (k !== null) own.set(k, o);
  }
  const other = new Map<string, GenerateOption>();
  for (const o of allGenerateOptions()) {
    const k = configKey(o);
    if (k !== null && !own.has(k)) other.set(k, o);
  }

  let protos: string[] = [];
  const options: Record<string, string | string[]> = {};
  let ok = true;
  for (const [key, pair] of pairs) {
    if (key === "kind") continue;
    const where = `${label}.${key}`;
    if (key === "protos") {
      const list = stringList(pair, where, fail);
      if (list === undefined) ok = false;
      else protos = list;
      continue;
    }
    const option = own.get(key);
    if (option === undefined) {
      const elsewhere = other.get(key);
      if (elsewhere !== undefined) fail(pair.key as Node, `${where}: "${key}" applies to ${elsewhere.kinds.join(" and ")} entries, not to ${kind} entries`);
      else fail(pair.key as Node, `${label}: unknown key ${JSON.stringify(key)} (known for ${kind}: kind, protos, ${[...own.keys()].join(", ")})`);
      ok = false;
      continue;
    }
    const value = option.repeatable === true || option.commaList === true ? stringList(pair, where, fail) : singleString(pair, where, fail);
    if (value === undefined) {
      ok = false;
      continue;
    }
    options[option.key] = option.isPath === true ? (typeof value === "string" ? path.resolve(dir, value) : value.map((v) => path.resolve(dir, v))) : value;
  }
  const out = options.output;
  if (!pairs.has("out")) {
    fail(node, `${label}: missing "out:" (the folder the package goes into, relative to this file)`);
    ok = false;
  }
  const fromSet = options.descriptorSetIn !== undefined;
  if (!fromSet && protos.length === 0 && !pairs.has("protos")) {
    fail(node, `${label}: missing "protos:" (the .proto files, relative to this file)`);
    ok = false;
  }
  if (!ok) return undefined;
  delete options.output;
  const start = node.range?.[0] ?? 0;
  return {
    index,
    location: at(start),
    kind,
    protos: fromSet ? protos : protos.map((p) => path.resolve(dir, p)),
    out: out as string,
    options,
    keyLocation: (key) => {
      const pair = pairs.get(key);
      const offset = pair !== undefined && isScalar(pair.key) ? (pair.key.range?.[0] ?? start) : start;
      return at(offset);
    },
  };
}

function singleString(pair: Pair, where: string, fail: Fail): string | undefined {
  const v = pair.value as Node | null;
  if (isScalar(v) && typeof v.value === "string") {
    if (v.value.trim() === "") {
      fail(v, `${where}: must not be empty`);
      return undefined;
    }
    return v.value;
  }
  if (isScalar(v) && v.value !== null) {
    fail(v, `${where}: expected a string, got the ${typeof v.value} ${String(v.source ?? v.value)} (quote it: "${String(v.source ?? v.value)}")`);
  } else fail(v ?? (pair.key as Node), `${where}: expected a string`);
  return undefined;
}

function stringList(pair: Pair, where: string, fail: Fail): string[] | undefined {
  const v = pair.value as Node | null;
  if (isScalar(v) && typeof v.value === "string") {
    const one = singleString(pair, where, fail);
    return one === undefined ? undefined : [one];
  }
  if (!isSeq(v)) {
    fail(v ?? (pair.key as Node), `${where}: expected a string or a list of strings`);
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  for (const item of v.items) {
    if (isScalar(item) && typeof item.value === "string" && item.value.trim() !== "") out.push(item.value);
    else {
      const shown = isScalar(item) ? String(item.source ?? item.value) : "a " + (isSeq(item) ? "list" : "mapping");
      fail(item as Node, `${where}: expected a non-empty string, got ${shown}${isScalar(item) && item.value !== null ? ` (quote it: "${shown}")` : ""}`);
      ok = false;
    }
  }
  if (out.length === 0 && ok) {
    fail(v, `${where}: the list is empty`);
    return undefined;
  }
  return ok ? out : undefined;
}
