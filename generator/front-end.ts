/**
 * The `.proto` front end: compiles source files with buf into a
 * `FileDescriptorSet` (with source info and all imports), or reads a prebuilt
 * set. Output is the input of `buildModel`.
 *
 * Include paths work like protoc's `-I`: a file's import path is its path
 * relative to the first include directory that contains it. Without `-I`, each
 * file's own directory is its include directory (so `fixtures/voa/Crawl.proto`
 * is imported as `Crawl.proto`). buf has no `-I` flag, so each include
 * directory becomes one module of a throw-away buf workspace (a temp dir with
 * one symlink per include and a `buf.yaml` listing them).
 */
import { execFile } from "node:child_process";
import { constants, promises as fs, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { bufCommand } from "./buf-binary.js";
import type { ModelInput } from "./model.js";
import { CompileError, UserError } from "./user-error.js";

/** buf's exit code for compile errors (everything else is unexpected). */
const BUF_EXIT_COMPILE_ERROR = 100;
/** Upper bound for buf's stdout/stderr we buffer. */
const BUF_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export interface CompileInput {
  /** `.proto` file paths (relative to `cwd` or absolute). */
  readonly protos: readonly string[];
  /** Include directories (`-I`), searched in order. */
  readonly includes?: readonly string[] | undefined;
  /** Base for relative paths and for paths in error messages (default `process.cwd()`). */
  readonly cwd?: string | undefined;
}

/** Compile `.proto` files with buf. Throws `UserError` for missing files and compile errors. */
export async function compileProtos(input: CompileInput): Promise<ModelInput> {
  const cwd = input.cwd ?? process.cwd();
  if (input.protos.length === 0) throw new UserError("no .proto file given");
  const includes: string[] = [];
  for (const dir of input.includes ?? []) {
    const abs = await checkIncludeDir(path.resolve(cwd, dir), dir);
    if (!includes.includes(abs)) includes.push(abs);
  }
  const requested: Array<{ include: number; name: string }> = [];
  for (const p of input.protos) {
    if (!p.endsWith(".proto")) {
      throw new UserError(`${p}: not a .proto file (inputs are named *.proto; a binary descriptor set goes with --descriptor-set-in)`);
    }
  }
  for (const p of input.protos) {
    const abs = await checkProtoFile(path.resolve(cwd, p), p);
    let include = includes.findIndex((dir) => isInside(abs, dir));
    if (include < 0) {
      includes.push(path.dirname(abs));
      include = includes.length - 1;
    }
    const name = toImportPath(path.relative(includes[include]!, abs));
    if (!requested.some((r) => r.name === name)) requested.push({ include, name });
  }

  const workspace = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-buf-"));
  try {
    const modules = includes.map((_, i) => `m${i}`);
    await Promise.all(includes.map((dir, i) => fs.symlink(dir, path.join(workspace, modules[i]!), "dir")));
    await fs.writeFile(
      path.join(workspace, "buf.yaml"),
      "version: v2\nmodules:\n" + modules.map((m) => `  - path: ${m}\n`).join(""),
    );
    const out = path.join(workspace, "image.binpb");
    const args = ["build", "--as-file-descriptor-set", "--error-format", "json", "-o", out];
    for (const r of requested) args.push("--path", `${modules[r.include]}/${r.name}`);
    await runBuf(args, workspace, (p) => displayPath(p, modules, includes, cwd), (p) => path.join(workspace, p), includes);
    const descriptorSet = fromBinary(FileDescriptorSetSchema, await fs.readFile(out));
    const sources = await readSources(descriptorSet, includes);
    return {
      descriptorSet,
      requested: requested.map((r) => r.name),
      sources: sources.text,
      displayPaths: new Map([...sources.found].map(([name, abs]) => [name, userPath(abs, cwd)])),
    };
  } finally {
    await fs.rm(workspace, { recursive: true, force: true });
  }
}

/**
 * Read a prebuilt `FileDescriptorSet` (e.g. `buf build -o x.binpb` or
 * `protoc --include_imports --descriptor_set_out`). `files` selects the
 * files to generate by import path; empty means every file of the set except
 * `google/protobuf/*`.
 */
export async function readDescriptorSet(file: string, files: readonly string[], cwd = process.cwd()): Promise<ModelInput> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path.resolve(cwd, file));
  } catch (e) {
    throw new UserError(`cannot read descriptor set ${file}: ${reason(e)}`);
  }
  let descriptorSet: FileDescriptorSet;
  try {
    descriptorSet = fromBinary(FileDescriptorSetSchema, bytes);
  } catch (e) {
    throw new UserError(`${file}: not a binary google.protobuf.FileDescriptorSet (${reason(e)})`);
  }
  const names = descriptorSet.file.map((f) => f.name);
  const requested = files.length > 0 ? [...files] : names.filter((n) => !n.startsWith("google/protobuf/"));
  for (const name of requested) {
    if (!names.includes(name)) {
      throw new UserError(`${file}: the descriptor set has no file ${JSON.stringify(name)} (it has: ${names.join(", ")})`);
    }
  }
  if (requested.length === 0) throw new UserError(`${file}: the descriptor set contains no files to generate`);
  return { descriptorSet, requested, sources: new Map() };
}

async function checkIncludeDir(abs: string, given: string): Promise<string> {
  let stat;
  try {
    stat = await fs.stat(abs);
  } catch (e) {
    throw new UserError(`include directory not found: ${given} (${reason(e)})`);
  }
  if (!stat.isDirectory()) throw new UserError(`include path is not a directory: ${given}`);
  try {
    await fs.access(abs, constants.R_OK | constants.X_OK);
    await fs.readdir(abs);
  } catch (e) {
    throw new UserError(`cannot read include directory ${given}: ${reason(e)}`);
  }
  return fs.realpath(abs);
}

async function checkProtoFile(abs: string, given: string): Promise<string> {
  let stat;
  try {
    stat = await fs.stat(abs);
  } catch {
    throw new UserError(`file not found: ${given}`);
  }
  if (!stat.isFile()) throw new UserError(`not a file: ${given}`);
  try {
    await fs.access(abs, constants.R_OK);
  } catch (e) {
    throw new UserError(`cannot read ${given}: ${reason(e)}`);
  }
  return path.join(await fs.realpath(path.dirname(abs)), path.basename(abs));
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

function toImportPath(rel: string): string {
  return rel.split(path.sep).join("/");
}

/** Map a workspace path `m<i>/x.proto` back to the user's view of it. */
function displayPath(p: string, modules: readonly string[], includes: readonly string[], cwd: string): string {
  const slash = p.indexOf("/");
  const i = slash > 0 ? modules.indexOf(p.slice(0, slash)) : -1;
  if (i < 0) return p;
  return userPath(path.join(includes[i]!, p.slice(slash + 1)), cwd);
}

interface BufJsonError {
  path?: string;
  start_line?: number;
  start_column?: number;
  message?: string;
}

function runBuf(
  args: string[],
  cwd: string,
  mapPath: (p: string) => string,
  localPath: (p: string) => string,
  includes: readonly string[],
): Promise<void> {
  const buf = bufCommand();
  return new Promise((resolve, reject) => {
    execFile(
      buf.command,
      [...buf.prefixArgs, ...args],
      { cwd, maxBuffer: BUF_MAX_OUTPUT_BYTES, env: { ...process.env, BUF_CACHE_DIR: path.join(cwd, ".cache") } },
      (error, _stdout, stderr) => {
        if (error === null) return resolve();
        if (error.code === BUF_EXIT_COMPILE_ERROR) {
          const lines = stderr
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => formatBufError(l, mapPath, localPath, includes));
          return reject(new CompileError(lines.join("\n")));
        }
        reject(new Error(`buf failed (${error.code ?? error.signal ?? error.message}): ${stderr.trim()}`));
      },
    );
  });
}

function formatBufError(
  line: string,
  mapPath: (p: string) => string,
  localPath: (p: string) => string,
  includes: readonly string[],
): string {
  let e: BufJsonError;
  try {
    e = JSON.parse(line) as BufJsonError;
  } catch {
    return line;
  }
  if (e.path === undefined) return e.message ?? line;
  const where = e.start_line !== undefined ? `:${e.start_line}:${e.start_column ?? 1}` : "";
  let message = e.message ?? "error";
  if (message === "imported file does not exist" && e.start_line !== undefined) {
    // buf does not say which import; name it and where it was looked for
    const imported = importOnLine(localPath(e.path), e.start_line);
    if (imported !== undefined) message += `: "${imported}" (include directories: ${includes.join(", ")}; add one with -I)`;
  }
  return `${mapPath(e.path)}${where}: ${message}`;
}

/** The path of the `import "…";` statement on a 1-based line of a file. */
function importOnLine(file: string, line: number): string | undefined {
  try {
    const text = readFileSync(file, "utf8").split("\n")[line - 1] ?? "";
    return /import\s+(?:public\s+|weak\s+)?"([^"]+)"/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** Source text, and the file it was read from, of every file of the set found under an include directory. */
async function readSources(set: FileDescriptorSet, includes: readonly string[]): Promise<{ text: Map<string, string>; found: Map<string, string> }> {
  const text = new Map<string, string>();
  const found = new Map<string, string>();
  for (const file of set.file) {
    for (const dir of includes) {
      try {
        const abs = path.join(dir, file.name);
        text.set(file.name, await fs.readFile(abs, "utf8"));
        found.set(file.name, abs);
        break;
      } catch {
        // not in this include directory (or a built-in well-known type)
      }
    }
  }
  return { text, found };
}

/** `abs` relative to `cwd` when inside it, else absolute (how compile errors name files). */
function userPath(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  return rel.startsWith("..") || path.isAbsolute(rel) ? abs : rel;
}

function reason(e: unknown): string {
  if (e instanceof Error && "code" in e && typeof e.code === "string") return e.code;
  return e instanceof Error ? e.message : String(e);
}
