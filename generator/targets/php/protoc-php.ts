/**
 * PHP message code from protoc's own PHP generator (`--php_out`), run at
 * msec-gen time from the npm `protoc` package msec-gen already ships for
 * Java. protoc reads the descriptor set msec-gen compiled
 * (`--descriptor_set_in`).
 *
 * protoc's PHP generator refuses proto2 files' `required` fields and closed
 * enums. The descriptors given to protoc therefore say what a PHP caller
 * needs in edition 2023 terms, with the same wire format: a proto2 file
 * becomes `edition = "2023"` with explicit field presence (the PHP classes
 * keep `hasX()`, a set field is written even when it is 0 or ''), expanded
 * repeated fields (`[packed = true]` fields stay packed), no UTF-8
 * validation and open enums; `required` becomes optional (the server still
 * checks that required fields arrived). Groups and closed enums whose first
 * value is not 0 are refused before (php-refusals.ts).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { clearField, clone, create, isFieldSet, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  Edition,
  FeatureSet_EnumType,
  FeatureSet_FieldPresence,
  FeatureSet_JsonFormat,
  FeatureSet_RepeatedFieldEncoding,
  FeatureSet_Utf8Validation,
  FeatureSetSchema,
  FieldDescriptorProto_Label,
  FieldOptionsSchema,
  type FileDescriptorProto,
  type FileDescriptorSet,
  FileDescriptorSetSchema,
  FileOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import { UserError } from "../../user-error.js";
import { protocBinary } from "../java/protoc-java.js";

const run = promisify(execFile);
const PROTOC_TIMEOUT_MS = 60_000;

/** One generated PHP file, path relative to the source root (`Crawl/OneMP3.php`). */
export interface PhpSource {
  readonly path: string;
  readonly content: string;
}

function proto2FieldsAsEdition(message: DescriptorProto): void {
  for (const field of message.field) {
    if (field.label === FieldDescriptorProto_Label.REQUIRED) field.label = FieldDescriptorProto_Label.OPTIONAL;
    const options = field.options;
    if (options !== undefined && isFieldSet(options, FieldOptionsSchema.field.packed)) {
      if (options.packed) options.features = create(FeatureSetSchema, { repeatedFieldEncoding: FeatureSet_RepeatedFieldEncoding.PACKED });
      clearField(options, FieldOptionsSchema.field.packed);
    }
  }
  message.nestedType.forEach(proto2FieldsAsEdition);
}

/** A proto2 file as the equivalent edition 2023 file (same wire format), with open enums and no required fields. */
function proto2AsEdition(file: FileDescriptorProto): void {
  file.syntax = "editions";
  file.edition = Edition.EDITION_2023;
  file.options ??= create(FileOptionsSchema);
  file.options.features = create(FeatureSetSchema, {
    fieldPresence: FeatureSet_FieldPresence.EXPLICIT,
    enumType: FeatureSet_EnumType.OPEN,
    repeatedFieldEncoding: FeatureSet_RepeatedFieldEncoding.EXPANDED,
    utf8Validation: FeatureSet_Utf8Validation.NONE,
    jsonFormat: FeatureSet_JsonFormat.LEGACY_BEST_EFFORT,
  });
  file.messageType.forEach(proto2FieldsAsEdition);
  for (const ext of file.extension) {
    if (ext.label === FieldDescriptorProto_Label.REQUIRED) ext.label = FieldDescriptorProto_Label.OPTIONAL;
  }
}

/** Runs `protoc --php_out` for `files` of `set`; returns the sources sorted by path. */
export async function protocPhp(set: FileDescriptorSet, files: readonly string[]): Promise<PhpSource[]> {
  if (files.length === 0) return [];
  const relabelled = clone(FileDescriptorSetSchema, set);
  for (const file of relabelled.file) {
    file.sourceCodeInfo = undefined;
    if (file.syntax === "" || file.syntax === "proto2") proto2AsEdition(file);
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
