/**
 * Breaking-change detection between two versions of a service's `.proto`
 * files, for `msec-gen breaking`. buf's breaking rules do the comparison
 * (https://buf.build/docs/breaking/rules/), run twice on the two descriptor
 * sets: the `FILE` category (everything that breaks generated code: renames,
 * moves, deletions) and `WIRE_JSON` (what breaks bytes on the wire or in
 * ProtoJSON). For MSEC a break is **wire** when WIRE_JSON reports it, or when
 * it changes what a caller addresses: SRPC routes by the full method name
 * (`pkg.Service/Method`), so a deleted or renamed service, method or package
 * and a changed request/response type fail calls at run time too; every other
 * `FILE` break is **source** (callers stop compiling, the wire is fine).
 *
 * Additions (a file, service, method, message, field, enum or enum value that
 * the previous version did not have) make a minor release; any other change
 * of the descriptors (comments, options) a patch. See `nextVersion`.
 */
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorSet,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { bufCommand } from "./buf-binary.js";

/** buf's exit code when it found breaking changes. */
const BUF_EXIT_FOUND = 100;
/** Upper bound for buf's output we buffer. */
const BUF_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** buf rules (FILE category) that break MSEC calls on the wire although WIRE_JSON allows them. */
export const MSEC_WIRE_RULES: ReadonlySet<string> = new Set([
  "FILE_SAME_PACKAGE",
  "PACKAGE_SERVICE_NO_DELETE",
  "SERVICE_NO_DELETE",
  "RPC_NO_DELETE",
  "RPC_SAME_REQUEST_TYPE",
  "RPC_SAME_RESPONSE_TYPE",
  "RPC_SAME_CLIENT_STREAMING",
  "RPC_SAME_SERVER_STREAMING",
]);

export interface Break {
  /** `wire`: old callers' calls fail; `source`: code written against the old SDK stops compiling. */
  readonly level: "wire" | "source";
  /** buf rule id, e.g. `FIELD_SAME_TYPE`. */
  readonly rule: string;
  /** Import path of the file in the current version. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface Comparison {
  /** Sorted by file, line, column. */
  readonly breaks: Break[];
  /** Elements present now and not before, e.g. `method shop.Billing.Ping`, `field shop.Req = 3` (fields and enum values by number). */
  readonly added: string[];
  /** The descriptors differ at all (including comments and options). */
  readonly changed: boolean;
}

export type Bump = "major" | "minor" | "patch" | "none";

/** Compare `current` with `previous` (both with imports, as buf builds them). */
export async function compareDescriptorSets(current: FileDescriptorSet, previous: FileDescriptorSet): Promise<Comparison> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-breaking-"));
  try {
    const currentFile = path.join(dir, "current.binpb");
    const previousFile = path.join(dir, "previous.binpb");
    await fs.writeFile(currentFile, toBinary(FileDescriptorSetSchema, current));
    await fs.writeFile(previousFile, toBinary(FileDescriptorSetSchema, previous));
    const all = await bufBreaking(currentFile, previousFile, "FILE", dir);
    const wire = await bufBreaking(currentFile, previousFile, "WIRE_JSON", dir);
    const wireAt = new Set(wire.map((b) => `${b.file}:${b.line}:${b.column}`));
    const breaks: Break[] = all.map((b) => ({
      ...b,
      level: MSEC_WIRE_RULES.has(b.rule) || wireAt.has(`${b.file}:${b.line}:${b.column}`) ? "wire" : "source",
    }));
    // a WIRE_JSON finding without a FILE twin (none known today) is kept rather than lost
    for (const w of wire) {
      if (!all.some((b) => b.file === w.file && b.line === w.line && b.column === w.column)) breaks.push({ ...w, level: "wire" });
    }
    breaks.sort((a, b) => (a.file !== b.file ? (a.file < b.file ? -1 : 1) : a.line - b.line || a.column - b.column));
    const before = elements(previous);
    const added = [...elements(current)].filter((e) => !before.has(e)).sort();
    const changed = !sameBytes(toBinary(FileDescriptorSetSchema, current), toBinary(FileDescriptorSetSchema, previous));
    return { breaks, added, changed };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The release a comparison calls for: any break → major, additions → minor, other changes → patch. */
export function bumpFor(comparison: Comparison): Bump {
  if (comparison.breaks.length > 0) return "major";
  if (comparison.added.length > 0) return "minor";
  return comparison.changed ? "patch" : "none";
}

/** `version` (MAJOR.MINOR.PATCH[-pre]) raised by `bump`; a pre-release part is dropped. */
export function nextVersion(version: string, bump: Bump): string {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-.+)?$/.exec(version);
  if (m === null) throw new Error(`not a version: ${version}`);
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  switch (bump) {
    case "major":
      return `${major + 1}.0.0`;
    case "minor":
      return `${major}.${minor + 1}.0`;
    case "patch":
      return `${major}.${minor}.${patch + 1}`;
    case "none":
      return version;
  }
}

/** An empty set, for a service that did not exist at the previous version. */
export function emptyDescriptorSet(): FileDescriptorSet {
  return create(FileDescriptorSetSchema, {});
}

interface BufFinding {
  path?: string;
  start_line?: number;
  start_column?: number;
  type?: string;
  message?: string;
}

async function bufBreaking(current: string, against: string, category: string, cwd: string): Promise<Array<Omit<Break, "level">>> {
  const buf = bufCommand();
  const config = JSON.stringify({ version: "v2", breaking: { use: [category] } });
  const args = [...buf.prefixArgs, "breaking", current, "--against", against, "--error-format", "json", "--config", config];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(buf.command, args, { cwd, maxBuffer: BUF_MAX_OUTPUT_BYTES, encoding: "utf8" }, (error, out, err) => {
      const c = error === null ? 0 : typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : -1;
      resolve({ code: c, stdout: out, stderr: err });
    });
  });
  if (code !== 0 && code !== BUF_EXIT_FOUND) throw new Error(`buf breaking failed (exit ${code}): ${stderr.trim()}`);
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as BufFinding)
    .map((f) => ({ file: f.path ?? "", line: f.start_line ?? 0, column: f.start_column ?? 0, rule: f.type ?? "", message: f.message ?? "" }));
}

/** Every named element of a descriptor set, as `kind full.name` strings. */
function elements(set: FileDescriptorSet): Set<string> {
  const out = new Set<string>();
  const enums = (prefix: string, list: readonly EnumDescriptorProto[]): void => {
    for (const e of list) {
      out.add(`enum ${prefix}${e.name}`);
      for (const v of e.value) out.add(`enum value ${prefix}${e.name} = ${v.number}`);
    }
  };
  const messages = (prefix: string, list: readonly DescriptorProto[]): void => {
    for (const m of list) {
      const name = `${prefix}${m.name}`;
      out.add(`message ${name}`);
      for (const f of m.field) out.add(`field ${name} = ${f.number}`); // by number: a rename is not an addition
      messages(`${name}.`, m.nestedType);
      enums(`${name}.`, m.enumType);
    }
  };
  for (const file of set.file) {
    if (file.name.startsWith("google/protobuf/")) continue;
    const prefix = file.package === "" ? "" : `${file.package}.`;
    out.add(`file ${file.name}`);
    for (const s of file.service) {
      out.add(`service ${prefix}${s.name}`);
      for (const m of s.method) out.add(`method ${prefix}${s.name}.${m.name}`);
    }
    messages(prefix, file.messageType);
    enums(prefix, file.enumType);
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}
