/**
 * Java message code from protoc's own Java generator, run at msec-gen time
 * from the npm `protoc` package (static binaries, no download). protoc reads
 * the descriptor set msec-gen already compiled (`--descriptor_set_in`), so it
 * sees exactly the files and the Java options msec-gen decided.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { toBinary } from "@bufbuild/protobuf";
import { type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { UserError } from "../../user-error.js";

const run = promisify(execFile);

/** The protoc release msec-gen ships (npm `protoc`); its Java output needs protobuf-java of the same release. */
export const PROTOC_VERSION = "36.2";
/** `com.google.protobuf:protobuf-java` matching `PROTOC_VERSION` (Java runtimes are numbered 4.<protoc release>). */
export const PROTOBUF_JAVA_VERSION = "4.36.2";

/** Longest protoc may take; a hung child must not hang msec-gen. */
const PROTOC_TIMEOUT_MS = 60_000;

/** Path of the protoc binary of the npm `protoc` package for this platform. */
export function protocBinary(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve("protoc/package.json");
  const dir = path.dirname(pkgJson);
  const pkg = require(pkgJson) as { version: string };
  if (pkg.version !== `${PROTOC_VERSION}.0`) {
    throw new Error(`npm protoc ${pkg.version} is installed, msec-gen's Java target is built for ${PROTOC_VERSION}.0`);
  }
  const assets = require(path.join(dir, "assets.json")) as Array<{ platform: string; arch: string; executable: string }>;
  const asset = assets.find((a) => a.platform === process.platform && a.arch === process.arch);
  if (asset === undefined) throw new Error(`npm protoc has no binary for ${process.platform}/${process.arch}`);
  return path.join(dir, "bin", asset.executable);
}

/** One generated Java source, path relative to the source root (`crawl/Crawl.java`). */
export interface JavaSource {
  readonly path: string;
  /**
   * protoc's UTF-8 bytes as they are: decoding them only to encode them again
   * for the archive cost a second and two copies on a large file (protoc
   * writes ~44 KB of Java per message; 5,000 messages are 220 MB).
   */
  readonly content: Uint8Array;
}

/**
 * Runs `protoc --java_out` for `files` (import paths) of `set`, and returns
 * the generated sources sorted by path. The temp directory is removed.
 */
export async function protocJava(set: FileDescriptorSet, files: readonly string[]): Promise<JavaSource[]> {
  if (files.length === 0) return []; // every file mapped to other artifacts (--java-proto-dep)
  const work = await mkdtemp(path.join(tmpdir(), "msec-gen-java-"));
  try {
    const setPath = path.join(work, "set.binpb");
    const out = path.join(work, "out");
    await writeFile(setPath, toBinary(FileDescriptorSetSchema, set));
    await mkdir(out);
    try {
      await run(protocBinary(), [`--descriptor_set_in=${setPath}`, `--java_out=${out}`, ...files], {
        timeout: PROTOC_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? "";
      // protoc refuses some valid .proto files for Java (e.g. enum values equal but for case): the input's problem, not ours.
      if (stderr.trim() !== "" && (err as { code?: unknown }).code === 1) {
        throw new UserError(`protoc's Java generator rejects this input: ${stderr.trim()} — fix it or generate without --lang java`);
      }
      throw new Error(`protoc --java_out failed: ${stderr.trim() || (err as Error).message}`);
    }
    const sources: JavaSource[] = [];
    for (const rel of (await readdir(out, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(out, path.join(e.parentPath, e.name)).split(path.sep).join("/"))) {
      sources.push({ path: rel, content: await readFile(path.join(out, rel)) });
    }
    return sources.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
