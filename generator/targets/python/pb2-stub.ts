/**
 * Writes the `.pyi` stub of a `_pb2` module from its descriptors, so type
 * checkers see the message classes (typed fields, keyword `__init__`) and
 * enums that protobuf-python creates at import time. The shapes follow what
 * protoc's `--pyi_out` declares, over the `google.protobuf` types that
 * `types-protobuf` describes.
 */
import { getComments } from "../../protoplugin.js";
import { ScalarType } from "@bufbuild/protobuf";
import type { DescEnum, DescField, DescFile, DescMessage } from "@bufbuild/protobuf";
import { isPythonKeyword, PROTOBUF_MESSAGE_MEMBERS, pythonClassPath } from "./safe-identifier.js";

/** How the stub refers to a message or enum declared in another `_pb2` module. */
export interface StubImports {
  /** Import line of the module declaring `file` (e.g. `from . import a_pb2 as _a_pb2`) and the alias used. */
  moduleOf(file: DescFile): { readonly line: string; readonly alias: string };
}

export interface Pb2StubInput {
  readonly file: DescFile;
  readonly header: readonly string[];
  readonly imports: StubImports;
}

/** Returns the text of the `_pb2.pyi` stub for `input.file`. Pure and deterministic. */
export function writePb2Stub(input: Pb2StubInput): string {
  const w = new StubWriter(input.file, input.imports);
  for (const e of input.file.enums) w.enumClass(e, "");
  for (const m of input.file.messages) w.messageClass(m, "");
  const lines: string[] = [];
  for (const h of input.header) lines.push(h === "" ? "#" : `# ${h}`);
  lines.push("import builtins as _builtins");
  lines.push("from typing import Any as _Any, ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union");
  lines.push("");
  lines.push("from google.protobuf import descriptor as _descriptor");
  lines.push("from google.protobuf import message as _message");
  lines.push("from google.protobuf.internal import containers as _containers");
  lines.push("from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper");
  lines.push(...[...w.importLines].sort());
  lines.push("");
  lines.push("DESCRIPTOR: _descriptor.FileDescriptor");
  lines.push(...w.body);
  return lines.join("\n") + "\n";
}

const SCALAR_PY: Record<ScalarType, string> = {
  [ScalarType.DOUBLE]: "_builtins.float",
  [ScalarType.FLOAT]: "_builtins.float",
  [ScalarType.INT64]: "_builtins.int",
  [ScalarType.UINT64]: "_builtins.int",
  [ScalarType.INT32]: "_builtins.int",
  [ScalarType.FIXED64]: "_builtins.int",
  [ScalarType.FIXED32]: "_builtins.int",
  [ScalarType.BOOL]: "_builtins.bool",
  [ScalarType.STRING]: "_builtins.str",
  [ScalarType.BYTES]: "_builtins.bytes",
  [ScalarType.UINT32]: "_builtins.int",
  [ScalarType.SFIXED32]: "_builtins.int",
  [ScalarType.SFIXED64]: "_builtins.int",
  [ScalarType.SINT32]: "_builtins.int",
  [ScalarType.SINT64]: "_builtins.int",
};

/**
 * A field the stub can declare: not a Python keyword (protobuf-python reaches
 * those with `getattr`) and not a name of the Message base class.
 */
function declarable(name: string): boolean {
  return !isPythonKeyword(name) && !PROTOBUF_MESSAGE_MEMBERS.has(name);
}

/** A docstring literal body: backslashes and triple quotes escaped. */
export function docstring(text: string, indent: string): string[] {
  const clean = text
    .split("\n")
    .map((l) => l.replace(/\s+$/, "").replace(/^ /, ""))
    .join("\n")
    .trim()
    .replace(/\\/g, "\\\\")
    .replace(/"""/g, '\\"\\"\\"');
  if (clean === "") return [];
  const lines = clean.split("\n");
  if (lines.length === 1) return [`${indent}"""${clean}${clean.endsWith('"') ? " " : ""}"""`];
  return [`${indent}"""${lines[0]}`, ...lines.slice(1).map((l) => (l === "" ? "" : `${indent}${l}`)), `${indent}"""`];
}

/** Attributes of `int` and of protobuf's EnumTypeWrapper: an enum value of that name is not reachable as an attribute. */
const INT_AND_WRAPPER_MEMBERS: ReadonlySet<string> = new Set([
  "real", "imag", "numerator", "denominator", "conjugate", "bit_length", "bit_count", "to_bytes", "from_bytes",
  "as_integer_ratio", "is_integer", "Name", "Value", "keys", "values", "items", "DESCRIPTOR",
]);

/** Names a module-level enum value cannot also declare in the stub (the module's own names). */
function moduleScopeNames(file: DescFile): Set<string> {
  return new Set(["DESCRIPTOR", ...file.messages.map((m) => pythonClassPath(m)), ...file.enums.map((e) => pythonClassPath(e))]);
}

/** Names a message-level enum value cannot also declare in the stub: the message's fields, nested classes and Message's members. */
function messageScopeNames(m: DescMessage): Set<string> {
  const names = new Set<string>(PROTOBUF_MESSAGE_MEMBERS);
  for (const f of m.fields) {
    names.add(f.name);
    names.add(`${f.name.toUpperCase()}_FIELD_NUMBER`);
  }
  for (const n of [...m.nestedMessages, ...m.nestedEnums]) names.add(n.name).add(pythonClassPath(n).split(".").pop()!);
  return names;
}

/** `b` of `a.b`, the name a class is declared under in its scope. */
function lastPart(path: string): string {
  return path.slice(path.lastIndexOf(".") + 1);
}

class StubWriter {
  readonly body: string[] = [];
  readonly importLines = new Set<string>();

  constructor(
    private readonly file: DescFile,
    private readonly imports: StubImports,
  ) {}

  /** Python expression naming a message or enum class, relative to this module. */
  private ref(desc: DescMessage | DescEnum): string {
    const local = pythonClassPath(desc);
    if (desc.file === this.file) return local;
    const m = this.imports.moduleOf(desc.file);
    this.importLines.add(m.line);
    return `${m.alias}.${local}`;
  }

  enumClass(e: DescEnum, indent: string): void {
    // Annotations inside a class body resolve at module scope, so a nested enum is named in full (`Event.Kind`).
    const self = this.ref(e);
    this.body.push("");
    this.body.push(`${indent}class ${lastPart(self)}(_builtins.int, metaclass=_enum_type_wrapper.EnumTypeWrapper):`);
    this.body.push(...docstring(getComments(e).leading ?? "", indent + "    "));
    this.body.push(`${indent}    __slots__ = ()`);
    for (const v of e.values) {
      // int's own attributes (real, imag, …) and the wrapper's methods (keys, Value, …) win over values of that name
      if (isPythonKeyword(v.name) || INT_AND_WRAPPER_MEMBERS.has(v.name)) continue;
      this.body.push(`${indent}    ${v.name}: _ClassVar[${self}]`);
    }
    // protobuf-python also puts the values beside the enum (module or enclosing message).
    const beside = e.parent === undefined ? moduleScopeNames(e.file) : messageScopeNames(e.parent);
    for (const v of e.values) {
      if (isPythonKeyword(v.name) || beside.has(v.name)) continue;
      this.body.push(indent === "" ? `${v.name}: ${self}` : `${indent}${v.name}: _ClassVar[${self}]`);
    }
  }

  messageClass(m: DescMessage, indent: string): void {
    const inner = indent + "    ";
    this.body.push("");
    this.body.push(`${indent}class ${lastPart(pythonClassPath(m))}(_message.Message):`);
    this.body.push(...docstring(getComments(m).leading ?? "", inner));
    this.body.push(`${inner}__slots__ = ()`);
    for (const e of m.nestedEnums) this.enumClass(e, inner);
    for (const n of m.nestedMessages) {
      if (n.proto.options?.mapEntry === true) continue;
      this.messageClass(n, inner);
    }
    const params: string[] = [];
    let undeclared = false;
    for (const f of m.fields) {
      this.body.push(`${inner}${f.name.toUpperCase()}_FIELD_NUMBER: _ClassVar[_builtins.int]`);
    }
    for (const f of m.fields) {
      if (!declarable(f.name)) {
        undeclared = true;
        continue;
      }
      const doc = getComments(f);
      this.body.push(`${inner}${f.name}: ${this.attributeType(f)}`);
      this.body.push(...docstring(doc.leading ?? doc.trailing ?? "", inner));
      params.push(`${f.name}: _Optional[${this.initType(f)}] = ...`);
    }
    // Keyword-named fields (`class`, `from`) are set with `Message(**{"class": …})`.
    const named = params.length === 0 ? [] : ["*", ...params];
    if (undeclared) named.push("**kwargs: _Any");
    // The instance parameter must not be named like a field (`self` is a valid field name).
    const fieldNames = new Set(m.fields.map((f) => f.name));
    let instance = "self";
    while (fieldNames.has(instance)) instance = `_${instance}`;
    const sig = [instance, ...named].join(", ");
    this.body.push(`${inner}def __init__(${sig}) -> None: ...`);
  }

  private attributeType(f: DescField): string {
    switch (f.fieldKind) {
      case "scalar":
        return SCALAR_PY[f.scalar];
      case "enum":
        return this.ref(f.enum);
      case "message":
        return this.ref(f.message);
      case "list":
        switch (f.listKind) {
          case "scalar":
            return `_containers.RepeatedScalarFieldContainer[${SCALAR_PY[f.scalar]}]`;
          case "enum":
            return `_containers.RepeatedScalarFieldContainer[${this.ref(f.enum)}]`;
          case "message":
            return `_containers.RepeatedCompositeFieldContainer[${this.ref(f.message)}]`;
        }
        break;
      case "map": {
        const key = SCALAR_PY[f.mapKey];
        switch (f.mapKind) {
          case "scalar":
            return `_containers.ScalarMap[${key}, ${SCALAR_PY[f.scalar]}]`;
          case "enum":
            return `_containers.ScalarMap[${key}, ${this.ref(f.enum)}]`;
          case "message":
            return `_containers.MessageMap[${key}, ${this.ref(f.message)}]`;
        }
      }
    }
    throw new Error("unhandled field kind");
  }

  /** What `__init__` accepts for a field (enums also by value name, messages also as dicts). */
  private initType(f: DescField): string {
    const enumArg = (e: DescEnum): string => `_Union[${this.ref(e)}, _builtins.str]`;
    const messageArg = (m: DescMessage): string => `_Union[${this.ref(m)}, _Mapping[_builtins.str, _Any]]`;
    switch (f.fieldKind) {
      case "scalar":
        return SCALAR_PY[f.scalar];
      case "enum":
        return enumArg(f.enum);
      case "message":
        return messageArg(f.message);
      case "list":
        switch (f.listKind) {
          case "scalar":
            return `_Iterable[${SCALAR_PY[f.scalar]}]`;
          case "enum":
            return `_Iterable[${enumArg(f.enum)}]`;
          case "message":
            return `_Iterable[${messageArg(f.message)}]`;
        }
        break;
      case "map": {
        const key = SCALAR_PY[f.mapKey];
        switch (f.mapKind) {
          case "scalar":
            return `_Mapping[${key}, ${SCALAR_PY[f.scalar]}]`;
          case "enum":
            return `_Mapping[${key}, ${enumArg(f.enum)}]`;
          case "message":
            return `_Mapping[${key}, ${messageArg(f.message)}]`;
        }
      }
    }
    throw new Error("unhandled field kind");
  }
}
