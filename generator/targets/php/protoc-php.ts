/**
 * PHP message code from protoc's own PHP generator (`--php_out`), run at
 * msec-gen time from the npm `protoc` package msec-gen already ships for
 * Java. protoc reads the descriptor set msec-gen compiled
 * (`--descriptor_set_in`).
 *
 * protoc's PHP generator refuses `required` fields. On the wire a required
 * field is an optional one that senders must set, so the descriptors given to
 * protoc have `required` relabelled `optional`: the PHP classes keep proto2
 * presence (`hasX()`, a set field is written even when it is 0 or ''), and
 * the server still checks that required fields arrived.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { clone, toBinary } from "@bufbuild/protobuf";
import { type DescriptorProto, FieldDescriptorProto_Label, type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { UserError } from "../../user-error.js";
import { protocBinary } from "../java/protoc-java.js";

const run = promisify(execFile);
const PROTOC_TIMEOUT_MS = 60_000;

/** One generated PHP file, path relative to the source root (`Crawl/OneMP3.php`). */
export interface PhpSource {
  readonly path: string;
  readonly content: string;
}

function relabelRequired(message: DescriptorProto): void {
  for (const field of message.field) {
    if (field.label === FieldDescriptorProto_Label.REQUIRED) field.label = FieldDescriptorProto_Label.OPTIONAL;
  }
  message.nestedType.forEach(relabelRequired);
}

/** Runs `protoc --php_out` for `files` of `set`; returns the sources sorted by path. */
export async function protocPhp(set: FileDescriptorSet, files: readonly string[]): Promise<PhpSource[]> {
  if (files.length === 0) return [];
  const relabelled = clone(FileDescriptorSetSchema, set);
  for (const file of relabelled.file) {
    file.sourceCodeInfo = undefined;
    file.messageType.forEach(relabelRequired);
  }
  const work = await mkdtemp(path.join(tmpdir(), "msec-gen-php-"));
  try {
    const setPath = path.join(work, "set.binpb");
    const out = path.join(work, "out");
    await writeFile(setPath, toBinary(FileDescriptorSetSchema, relabelled));
    await mkdir(out);
    try {
      await run(protocBinary(), [`--descriptor_set_in=${setPath}`, `--php_out=${out}`, ...files], { timeout: PROTOC_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? "";
      if (stderr.trim() !== "" && (err as { code?: unknown }).code === 1) {
        throw new UserError(`protoc's PHP generator rejects this input: ${stderr.trim()} — fix it or generate without --lang php`);
      }
      throw new Error(`protoc --php_out failed: ${stderr.trim() || (err as Error).message}`);
    }
    const sources: PhpSource[] = [];
    for (const rel of (await readdir(out, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(out, path.join(e.parentPath, e.name)).split(path.sep).join("/"))) {
      sources.push({ path: rel, content: await readFile(path.join(out, rel), "utf8") });
    }
    return sources.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The PHP class protoc wrote for each message (`crawl.OneMP3` →
 * `\Crawl\OneMP3`), read from its output: every message class carries
 * "Generated from protobuf message <code>full.name</code>" above
 * `class X extends \Google\Protobuf\Internal\Message` in its namespace.
 */
export function messageClasses(sources: readonly PhpSource[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of sources) {
    const ns = /^namespace ([A-Za-z0-9_\\]+);$/m.exec(s.content)?.[1];
    const re = /Generated from protobuf message <code>([A-Za-z0-9_.]+)<\/code>\s*\*\/\s*(?:final\s+)?class ([A-Za-z0-9_]+) extends \\Google\\Protobuf\\Internal\\Message/g;
    for (const m of s.content.matchAll(re)) {
      out.set(m[1]!, `\\${ns === undefined ? "" : ns + "\\"}${m[2]!}`);
    }
  }
  return out;
}
