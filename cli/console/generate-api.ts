/**
 * `POST /api/generate`: the `.tgz` that `msec-gen server|caller` writes for
 * the same `.proto` files and options, byte for byte (both build it with
 * generator/tarball.ts from the same `generate` call).
 *
 * Two request forms:
 * * `text/plain` (any non-JSON type): the body is one `.proto` file named by
 *   `?file=` (default `input.proto`);
 * * `application/json`: `{"files": [{"name": "a/x.proto", "content": "…"}, …],
 *   "protos": ["a/x.proto"], "kind": …, "name": …, "lang": …, "options": {…}}`
 *   — several files; `protos` are the files to generate from (default: every
 *   uploaded file no other uploaded file imports), the rest are imports.
 *
 * * `multipart/form-data` (`curl -F files=@Crawl.proto -F lang=ts`): every
 *   part with a filename is a file (named by its filename, which may hold
 *   folders: `-F "files=@x/types.proto;filename=common/types.proto"`), every
 *   other part a setting.
 *
 * Settings come from the query (`kind`, `name`, `lang`, `protos`, and any
 * option by its long flag name, e.g. `go-module=…`, `version=1.2.0`), and a
 * JSON body's fields override them. The files are written into a fresh temp
 * folder (with the `.proto` files of `--protos DIR` under them, so imports
 * resolve among both; uploaded files win), compiled there, and the folder is
 * removed before the answer is sent.
 */
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generate } from "../../generator/generate.js";
import { createTarball } from "../../generator/tarball.js";
import type { TargetKind } from "../../generator/target.js";
import { CompileError, UserError } from "../../generator/user-error.js";
import { type GenerateOption, generateOptions, longName, toGenerateOptions } from "../generate-options.js";
import { HttpError } from "./http-messages.js";

/** Options of the command line that make no sense over HTTP (files, output, printing). */
const NOT_OVER_HTTP = new Set(["include", "output", "dir", "descriptorSetIn", "quiet", "json"]);
/** At most this many files per request. */
export const MAX_FILES = 500;
/** A file name: relative, `/`-separated, plain segments, ending in `.proto`. */
const FILE_NAME = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\.proto$/;

/** The options a generate request may set for `kind` (long flag name → option). */
export function requestOptions(kind: TargetKind): GenerateOption[] {
  return generateOptions(kind).filter((o) => !NOT_OVER_HTTP.has(o.key));
}

export interface GenerateRequest {
  readonly kind: TargetKind;
  /** Uploaded files by name. */
  readonly files: ReadonlyMap<string, string>;
  /** The files to generate from. */
  readonly protos: readonly string[];
  /** Option values keyed like commander's (camelCase), as `toGenerateOptions` takes them. */
  readonly values: Readonly<Record<string, unknown>>;
}

export interface GenerateResult {
  readonly bytes: Uint8Array;
  /** `<top folder>.tgz`, the name the CLI writes. */
  readonly fileName: string;
  readonly warnings: readonly string[];
}

/** Reads the request's files and settings; `HttpError` 400 naming what is wrong. */
export function parseGenerateRequest(query: URLSearchParams, contentType: string, body: Buffer): GenerateRequest {
  const settings: Record<string, unknown> = {};
  for (const key of new Set(query.keys())) {
    const all = query.getAll(key);
    settings[key] = all.length === 1 ? all[0] : all;
  }
  const files = new Map<string, string>();
  let protos: string[] | undefined;
  if (/^application\/json\b/i.test(contentType)) {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString("utf8"));
    } catch (e) {
      throw new HttpError(400, `the JSON body does not parse: ${(e as Error).message}`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new HttpError(400, "the JSON body must be an object with a files list");
    const { files: list, options, ...rest } = doc as Record<string, unknown>;
    if (!Array.isArray(list)) throw new HttpError(400, 'the JSON body needs "files": [{"name": "x.proto", "content": "…"}]');
    for (const item of list) {
      const { name, content } = (item ?? {}) as Record<string, unknown>;
      if (typeof name !== "string" || typeof content !== "string") throw new HttpError(400, 'each entry of "files" needs a string "name" and "content"');
      addFile(files, name, content);
    }
    if (options !== undefined && (typeof options !== "object" || options === null || Array.isArray(options))) {
      throw new HttpError(400, '"options" must be an object of option names and values');
    }
    Object.assign(settings, rest, options ?? {});
  } else if (/^multipart\/form-data\b/i.test(contentType)) {
    for (const part of parseMultipart(contentType, body)) {
      if (part.filename !== undefined) addFile(files, part.filename, part.content);
      else {
        const previous = settings[part.name];
        // a repeated field (-F go-import=… twice) is a list
        settings[part.name] = previous === undefined ? part.content : [...(Array.isArray(previous) ? previous : [previous]), part.content];
      }
    }
  } else {
    const name = typeof settings.file === "string" ? settings.file : "input.proto";
    addFile(files, name, body.toString("utf8"));
    protos = [name];
  }
  delete settings.file;
  if (settings.protos !== undefined) protos = toList(settings.protos, "protos");
  delete settings.protos;
  if (files.size === 0) throw new HttpError(400, "no .proto file in the request");
  if (files.size > MAX_FILES) throw new HttpError(400, `${files.size} files: at most ${MAX_FILES} per request`);

  const kind = settings.kind ?? "caller";
  if (kind !== "caller" && kind !== "server") throw new HttpError(400, `kind must be caller or server, not ${JSON.stringify(kind)}`);
  delete settings.kind;
  protos ??= rootFiles(files);
  for (const p of protos) if (!files.has(p)) throw new HttpError(400, `protos names ${JSON.stringify(p)}, which is not among the uploaded files (${[...files.keys()].join(", ")})`);
  return { kind, files, protos, values: optionValues(kind, settings) };
}

/** One part of a multipart/form-data body. */
interface FormPart {
  readonly name: string;
  readonly filename: string | undefined;
  readonly content: string;
}

/** Splits a multipart/form-data body (RFC 7578) into its parts; `HttpError` 400 when malformed. */
export function parseMultipart(contentType: string, body: Buffer): FormPart[] {
  const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (boundary === null) throw new HttpError(400, "multipart/form-data without a boundary");
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: FormPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new HttpError(400, "the multipart body has no part");
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === "--") return parts; // closing delimiter
    const next = body.indexOf(delimiter, at);
    if (next < 0) throw new HttpError(400, "the multipart body is not closed (no final boundary)");
    // a part: CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter
    const part = body.subarray(at + 2, next - 2);
    const split = part.indexOf("\r\n\r\n");
    if (split < 0) throw new HttpError(400, "a multipart part has no blank line after its headers");
    const headers = part.subarray(0, split).toString("utf8");
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? "";
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw new HttpError(400, "a multipart part has no Content-Disposition: form-data; name=…");
    const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    parts.push({ name, filename, content: part.subarray(split + 4).toString("utf8") });
    at = next;
  }
}

function addFile(files: Map<string, string>, name: string, content: string): void {
  if (!FILE_NAME.test(name) || name.length > 255) {
    throw new HttpError(400, `invalid file name ${JSON.stringify(name)} (a relative path of letters, digits, _ . - segments ending in .proto)`);
  }
  if (files.has(name)) throw new HttpError(400, `the file ${name} is uploaded twice`);
  files.set(name, content);
}

function toList(value: unknown, what: string): string[] {
  const list = typeof value === "string" ? value.split(",") : Array.isArray(value) && value.every((v) => typeof v === "string") ? (value as string[]) : undefined;
  if (list === undefined) throw new HttpError(400, `${what} must be a string or a list of strings`);
  return list.map((s) => s.trim()).filter((s) => s !== "");
}

/** Uploaded files that no other uploaded file imports (the ones a user means to generate from). */
export function rootFiles(files: ReadonlyMap<string, string>): string[] {
  const imported = new Set<string>();
  for (const content of files.values()) {
    for (const m of content.matchAll(/^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm)) imported.add(m[1]!);
  }
  const roots = [...files.keys()].filter((f) => !imported.has(f));
  return roots.length > 0 ? roots : [...files.keys()];
}

/** Settings keyed by long flag name or commander key → commander keys; unknown names are a 400. */
function optionValues(kind: TargetKind, settings: Record<string, unknown>): Record<string, unknown> {
  const options = requestOptions(kind);
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined || value === null || value === "") continue;
    const option = options.find((o) => longName(o) === name || o.key === name);
    if (option === undefined) {
      const known = options.map(longName).join(", ");
      throw new HttpError(400, `unknown setting ${JSON.stringify(name)} for a ${kind} (settings: kind, name, lang, file, protos, ${known})`);
    }
    if (option.repeatable === true) values[option.key] = toList(value, name);
    else if (typeof value === "string") values[option.key] = value;
    else if (option.key === "lang" && Array.isArray(value)) values[option.key] = toList(value, name).join(",");
    else throw new HttpError(400, `${name} must be a string`);
  }
  return values;
}

/**
 * Generates in a temp folder removed before returning. `protosDir` (`--protos`)
 * is copied under the upload so imports resolve among both.
 */
export async function runGenerate(request: GenerateRequest, protosDir: string | undefined): Promise<GenerateResult> {
  const work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-console-"));
  const root = path.join(work, "protos");
  const warnings: string[] = [];
  try {
    await fs.mkdir(root);
    if (protosDir !== undefined) await copyProtos(protosDir, root);
    for (const [name, content] of request.files) {
      await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await fs.writeFile(path.join(root, name), content);
    }
    const options = { ...toGenerateOptions(request.kind, request.protos, request.values), includes: [root], cwd: root, onWarning: (m: string) => warnings.push(m) };
    let files;
    try {
      files = await generate(options);
    } catch (e) {
      throw toHttpError(e, work);
    }
    const bytes = createTarball(files);
    return { bytes, fileName: `${files[0]!.path.split("/")[0]!}.tgz`, warnings: warnings.map((w) => hideFolder(w, work)) };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Copies every `.proto` file under `from` (following no symlinks, skipping dot folders and node_modules). */
async function copyProtos(from: string, to: string): Promise<void> {
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) {
      await fs.mkdir(path.join(to, entry.name), { recursive: true });
      await copyProtos(source, path.join(to, entry.name));
    } else if (entry.isFile() && entry.name.endsWith(".proto")) {
      await fs.copyFile(source, path.join(to, entry.name));
    }
  }
}

/** A user error as a 400 (compile errors with file, line and col of the first one), anything else a 500. */
function toHttpError(e: unknown, work: string): HttpError {
  if (!(e instanceof UserError)) return new HttpError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
  const message = hideFolder(e.message, work);
  if (e instanceof CompileError) {
    const lines = message.split("\n").filter((l) => l !== "");
    const first = /^(.+?):(\d+):(\d+): (.*)$/.exec(lines[0] ?? "");
    if (first !== null) {
      return new HttpError(400, first[4]!, { file: first[1]!, line: Number(first[2]), col: Number(first[3]), errors: lines });
    }
    return new HttpError(400, message, { errors: lines });
  }
  return new HttpError(400, message);
}

/** Paths inside the temp folder as the user named the files (`Crawl.proto`, not `/tmp/…/protos/Crawl.proto`). */
function hideFolder(text: string, work: string): string {
  return text.split(`${path.join(work, "protos")}/`).join("").split(path.join(work, "protos")).join(".").split(work).join("<temp>");
}
