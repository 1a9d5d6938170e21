/**
 * Writes a Python `_pb2.py` module from a file descriptor, without protoc.
 *
 * The module uses the `_builder` form that protoc has emitted since
 * protobuf-python 3.20: the serialized `FileDescriptorProto` is added to the
 * default descriptor pool and `google.protobuf.internal.builder` creates the
 * message classes and enum wrappers in the module's globals. It loads on
 * protobuf-python ≥ 4.21 with either backend (upb, cpp, pure python).
 */
import { clone, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { DescriptorProto, FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { pythonClassAttr, scopeNames } from "./safe-identifier.js";

/** Maps a `.proto` path (as imported, e.g. `crawl/Crawl.proto`) to a Python module name. */
export type PythonModuleNameOf = (protoPath: string) => string;

export interface Pb2ModuleInput {
  /** The file to write; its `source_code_info` is dropped (size, determinism). */
  readonly file: FileDescriptorProto;
  /**
   * Python module of a `.proto` path, used for the file itself (the name its
   * classes report as `__module__`) and for each dependency it imports.
   * A name starting with `.` (e.g. `.crawl_pb2`) is imported relatively, for
   * modules vendored inside a package. Default: {@link defaultPythonModuleName}.
   */
  readonly moduleNameOf?: PythonModuleNameOf;
  /** Comment lines placed at the top (without `#`), e.g. the "generated — do not edit" notice. */
  readonly header: readonly string[];
}

/** Longest run of escaped characters per line of the bytes literal (PEP 8 keeps lines ≤ 79). */
const BYTES_CHUNK_MAX = 68;

/**
 * protoc's module naming: strip `.proto`, `-` → `_`, `/` → `.`, append `_pb2`
 * (`google/protobuf/timestamp.proto` → `google.protobuf.timestamp_pb2`).
 */
export function defaultPythonModuleName(protoPath: string): string {
  const stem = protoPath.endsWith(".proto") ? protoPath.slice(0, -".proto".length) : protoPath;
  return `${stem.replace(/-/g, "_").replace(/\//g, ".")}_pb2`;
}

/** Returns the text of the `_pb2.py` module for `input.file`. Pure and deterministic. */
export function writePb2Module(input: Pb2ModuleInput): string {
  const moduleNameOf = input.moduleNameOf ?? defaultPythonModuleName;
  const stripped = clone(FileDescriptorProtoSchema, input.file);
  stripped.sourceCodeInfo = undefined;
  const serialized = toBinary(FileDescriptorProtoSchema, stripped);
  const ownModule = moduleNameOf(input.file.name).replace(/^\.+/, "");

  const lines: string[] = [];
  lines.push("# -*- coding: utf-8 -*-");
  for (const h of input.header) lines.push(h === "" ? "#" : `# ${h}`);
  lines.push(`# source: ${input.file.name}`);
  lines.push('"""Generated protocol buffer code."""');
  lines.push("from google.protobuf import descriptor_pool as _descriptor_pool");
  lines.push("from google.protobuf import symbol_database as _symbol_database");
  lines.push("from google.protobuf.internal import builder as _builder");
  lines.push("");
  const imports = input.file.dependency.map((dep) => importLine(moduleNameOf(dep)));
  if (imports.length > 0) {
    lines.push("# Imported so that the descriptor pool knows the dependencies.");
    lines.push(...imports);
    lines.push("");
  }
  lines.push("_sym_db = _symbol_database.Default()");
  lines.push("");
  lines.push("DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(");
  for (const chunk of bytesLiteralChunks(serialized)) lines.push(`    ${chunk}`);
  lines.push(")");
  lines.push("");
  lines.push("_globals = globals()");
  lines.push("_builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, _globals)");
  lines.push(`_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, ${pyString(ownModule)}, _globals)`);
  const aliases = keywordAliases(input.file);
  if (aliases.length > 0) {
    lines.push("# Classes named by a Python keyword, also bound as <name>_ (msec-gen's Python escaping).");
    lines.push(...aliases);
  }
  lines.push("# @@protoc_insertion_point(module_scope)");
  return lines.join("\n") + "\n";
}

/** `None_ = _globals['None']`, `Outer.class_ = getattr(Outer, 'class')` for keyword-named messages and enums, outermost first. */
function keywordAliases(file: FileDescriptorProto): string[] {
  const out: string[] = [];
  const visit = (parentPath: string | undefined, scope: FileDescriptorProto | DescriptorProto): void => {
    const siblings = scopeNames(scope);
    const messages = "messageType" in scope ? scope.messageType : scope.nestedType;
    for (const decl of [...messages, ...scope.enumType]) {
      const attr = pythonClassAttr(decl.name, siblings);
      if (attr !== decl.name) {
        out.push(parentPath === undefined ? `${attr} = _globals[${pyString(decl.name)}]` : `${parentPath}.${attr} = getattr(${parentPath}, ${pyString(decl.name)})`);
      }
    }
    for (const m of messages) {
      const attr = pythonClassAttr(m.name, siblings);
      visit(parentPath === undefined ? attr : `${parentPath}.${attr}`, m);
    }
  };
  visit(undefined, file);
  return out;
}

/**
 * protoc's alias for an imported module: `_` → `__`, `.` → `_dot_`
 * (`google.protobuf.timestamp_pb2` → `google_dot_protobuf_dot_timestamp__pb2`).
 */
function moduleAlias(moduleName: string): string {
  return moduleName.replace(/^\.+/, "").replace(/_/g, "__").replace(/\./g, "_dot_");
}

function importLine(moduleName: string): string {
  const alias = moduleAlias(moduleName);
  const relative = /^\.+/.exec(moduleName)?.[0] ?? "";
  const absolute = moduleName.slice(relative.length);
  const lastDot = absolute.lastIndexOf(".");
  if (lastDot < 0) {
    return relative === ""
      ? `import ${absolute} as ${alias}  # noqa: F401`
      : `from ${relative} import ${absolute} as ${alias}  # noqa: F401`;
  }
  return `from ${relative}${absolute.slice(0, lastDot)} import ${absolute.slice(lastDot + 1)} as ${alias}  # noqa: F401`;
}

/** A Python string literal for ASCII identifiers-like text (module names). */
function pyString(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Escapes one byte for a Python `b'…'` literal. */
function escapeByte(b: number): string {
  switch (b) {
    case 0x5c:
      return "\\\\";
    case 0x27:
      return "\\'";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
  }
  if (b >= 0x20 && b < 0x7f) return String.fromCharCode(b);
  return `\\x${b.toString(16).padStart(2, "0")}`;
}

/** Splits `bytes` into `b'…'` literals, never cutting an escape sequence. */
function bytesLiteralChunks(bytes: Uint8Array): string[] {
  const chunks: string[] = [];
  let current = "";
  for (const b of bytes) {
    const esc = escapeByte(b);
    if (current.length + esc.length > BYTES_CHUNK_MAX) {
      chunks.push(`b'${current}'`);
      current = "";
    }
    current += esc;
  }
  if (current !== "" || chunks.length === 0) chunks.push(`b'${current}'`);
  return chunks;
}
