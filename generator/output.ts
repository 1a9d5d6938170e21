/**
 * Writes generated files: a deterministic `.tgz` or an unpacked directory.
 *
 * All or nothing: a new tarball or directory is written under a temporary
 * name in the destination directory and renamed into place at the end; on
 * error the temporary is removed. Regenerating into an existing directory
 * rewrites each generated file atomically (temp file + rename) and never
 * touches user-owned files (handler skeletons) that already exist.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { GeneratedFile } from "./target.js";
import { checkRelativePath, createTarball } from "./tarball.js";
import { UserError } from "./user-error.js";

export interface WriteResult {
  /** The tarball or directory written. */
  readonly path: string;
  /** User-owned files that already existed and were kept (paths relative to `path`). */
  readonly kept: readonly string[];
}

/**
 * Write `files` (whose paths all start with the package's top folder, e.g.
 * `VOA.MainLogic-server-ts/…`) into `outDir`: as `<top>.tgz`, or with
 * `asDirectory` as the folder `<top>/`.
 */
export async function writeOutput(files: readonly GeneratedFile[], outDir: string, asDirectory: boolean): Promise<WriteResult> {
  const top = topFolder(files);
  try {
    return await write(files, top, outDir, asDirectory);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && USER_IO_ERRORS.has(code)) {
      throw new UserError(`cannot write to ${outDir}: ${code} (${(e as Error).message})`);
    }
    throw e;
  }
}

/** File-system errors caused by the destination the user chose (permissions, a file in the way, a full disk). */
const USER_IO_ERRORS = new Set(["EACCES", "EPERM", "ENOTDIR", "EEXIST", "EISDIR", "ENOSPC", "EROFS", "EDQUOT", "ENAMETOOLONG"]);

async function write(files: readonly GeneratedFile[], top: string, outDir: string, asDirectory: boolean): Promise<WriteResult> {
  // the archive is built before anything is created, so a path it cannot hold leaves no trace
  const bytes = asDirectory ? undefined : createTarball(files);
  await fs.mkdir(outDir, { recursive: true });
  if (bytes !== undefined) {
    const final = path.join(outDir, `${top}.tgz`);
    await atomicWrite(final, bytes, 0o644);
    return { path: final, kept: [] };
  }
  const final = path.join(outDir, top);
  const inner = files.map((f) => ({ ...f, path: f.path.slice(top.length + 1) }));
  if (!(await exists(final))) {
    const temp = `${final}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      for (const f of inner) await writeFileWithMode(path.join(temp, f.path), f);
      await fs.rename(temp, final);
    } catch (e) {
      await fs.rm(temp, { recursive: true, force: true });
      throw e;
    }
    return { path: final, kept: [] };
  }
  const kept: string[] = [];
  for (const f of inner) {
    const target = path.join(final, f.path);
    if (f.userOwned === true && (await exists(target))) {
      kept.push(f.path);
      continue;
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    await atomicWrite(target, f.content, f.executable === true ? 0o755 : 0o644);
  }
  return { path: final, kept };
}

function topFolder(files: readonly GeneratedFile[]): string {
  const first = files[0];
  if (first === undefined) throw new Error("nothing to write");
  const top = first.path.split("/")[0]!;
  for (const f of files) {
    checkRelativePath(f.path);
    if (!f.path.startsWith(top + "/")) throw new Error(`file outside the package folder ${top}: ${f.path}`);
  }
  return top;
}

async function writeFileWithMode(file: string, f: GeneratedFile): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, f.content);
  await fs.chmod(file, f.executable === true ? 0o755 : 0o644);
}

async function atomicWrite(final: string, content: string | Uint8Array, mode: number): Promise<void> {
  const temp = `${final}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await fs.writeFile(temp, content);
    await fs.chmod(temp, mode);
    await fs.rename(temp, final);
  } catch (e) {
    await fs.rm(temp, { force: true });
    throw e;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
