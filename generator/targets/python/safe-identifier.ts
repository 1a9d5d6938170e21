/**
 * Python identifier escaping for names msec-gen derives from `.proto`
 * declarations (client and handler methods, classes, package names).
 *
 * Message, enum and field names are not renamed: protobuf-python keeps the
 * `.proto` names (a keyword field such as `class` is reached with `getattr`).
 * Our own generated names follow PEP 8: a name that is a keyword, a builtin or
 * one of the surrounding class's own members gets a trailing underscore
 * (`class` → `class_`, `service` → `service_`).
 */
import type { DescEnum, DescMessage } from "@bufbuild/protobuf";

/** `keyword.kwlist` of Python 3.9–3.13: never valid as identifiers. */
export const PYTHON_KEYWORDS: ReadonlySet<string> = new Set([
  "False", "None", "True", "and", "as", "assert", "async", "await", "break",
  "class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
  "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
  "pass", "raise", "return", "try", "while", "with", "yield",
]);

/**
 * Public names of the `builtins` module (Python 3.11). Valid identifiers, but a
 * module-level class or function with one of these names shadows the builtin
 * for all code of that module, so top-level names avoid them.
 */
export const PYTHON_BUILTINS: ReadonlySet<string> = new Set([
  "ArithmeticError", "AssertionError", "AttributeError", "BaseException",
  "BaseExceptionGroup", "BlockingIOError", "BrokenPipeError", "BufferError",
  "BytesWarning", "ChildProcessError", "ConnectionAbortedError", "ConnectionError",
  "ConnectionRefusedError", "ConnectionResetError", "DeprecationWarning", "EOFError",
  "Ellipsis", "EncodingWarning", "EnvironmentError", "Exception", "ExceptionGroup",
  "FileExistsError", "FileNotFoundError", "FloatingPointError", "FutureWarning",
  "GeneratorExit", "IOError", "ImportError", "ImportWarning", "IndentationError",
  "IndexError", "InterruptedError", "IsADirectoryError", "KeyError", "KeyboardInterrupt",
  "LookupError", "MemoryError", "ModuleNotFoundError", "NameError", "NotADirectoryError",
  "NotImplemented", "NotImplementedError", "OSError", "OverflowError",
  "PendingDeprecationWarning", "PermissionError", "ProcessLookupError", "RecursionError",
  "ReferenceError", "ResourceWarning", "RuntimeError", "RuntimeWarning",
  "StopAsyncIteration", "StopIteration", "SyntaxError", "SyntaxWarning", "SystemError",
  "SystemExit", "TabError", "TimeoutError", "TypeError", "UnboundLocalError",
  "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError",
  "UnicodeWarning", "UserWarning", "ValueError", "Warning", "ZeroDivisionError",
  "abs", "aiter", "all", "anext", "any", "ascii", "bin", "bool", "breakpoint",
  "bytearray", "bytes", "callable", "chr", "classmethod", "compile", "complex",
  "copyright", "credits", "delattr", "dict", "dir", "divmod", "enumerate", "eval",
  "exec", "exit", "filter", "float", "format", "frozenset", "getattr", "globals",
  "hasattr", "hash", "help", "hex", "id", "input", "int", "isinstance", "issubclass",
  "iter", "len", "license", "list", "locals", "map", "max", "memoryview", "min", "next",
  "object", "oct", "open", "ord", "pow", "print", "property", "quit", "range", "repr",
  "reversed", "round", "set", "setattr", "slice", "sorted", "staticmethod", "str",
  "sum", "super", "tuple", "type", "vars", "zip",
]);

/**
 * Members every protobuf-python message class has (`google.protobuf.message.Message`
 * plus the generated `DESCRIPTOR`). Generated code must not add attributes with
 * these names to message classes, and stubs must not declare fields that clash.
 */
export const PROTOBUF_MESSAGE_MEMBERS: ReadonlySet<string> = new Set([
  "DESCRIPTOR", "ByteSize", "Clear", "ClearExtension", "ClearField", "CopyFrom",
  "DiscardUnknownFields", "Extensions", "FindInitializationErrors", "FromString",
  "HasExtension", "HasField", "IsInitialized", "ListFields", "MergeFrom",
  "MergeFromString", "ParseFromString", "RegisterExtension", "SerializePartialToString",
  "SerializeToString", "SetInParent", "UnknownFields", "WhichOneof",
]);

/** True for a Python keyword (`class`, `None`, `from`, …): not usable as an attribute name in source. */
export function isPythonKeyword(name: string): boolean {
  return PYTHON_KEYWORDS.has(name);
}

/**
 * A method or attribute name of a generated class: keywords and the class's own
 * `taken` members get a trailing underscore, repeated until free
 * (`from` → `from_`, `service` → `service_` when `service` is taken).
 */
export function safeMemberName(name: string, taken: ReadonlySet<string> = new Set()): string {
  let out = name;
  while (PYTHON_KEYWORDS.has(out) || taken.has(out)) out += "_";
  return out;
}

/**
 * A module-level name (class, function, constant): keywords, builtins and the
 * module's own `taken` names get a trailing underscore (`str` → `str_`).
 */
export function safeTopLevelName(name: string, taken: ReadonlySet<string> = new Set()): string {
  let out = name;
  while (PYTHON_KEYWORDS.has(out) || PYTHON_BUILTINS.has(out) || taken.has(out)) out += "_";
  return out;
}

/**
 * PEP 8 function name from a `.proto` method name: words split at case changes
 * and digit runs stay with the preceding word, lower-cased, joined by `_`
 * (`GetMP3List` → `get_mp3_list`, `getTitles` → `get_titles`, `HTTPGet` → `http_get`).
 * The result is not escaped; pass it through {@link safeMemberName}.
 */
export function snakeCase(name: string): string {
  return name
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9_]/g, "_")
    .replace(/_+/g, "_")
    .toLowerCase();
}

/**
 * Python package (import) name of a routing name `Group.Service`: lower-cased,
 * `.` and `-` → `_` (`VOA.Crawl` → `voa_crawl`); a leading digit or a keyword
 * gets an escape so the result is importable.
 */
export function pythonPackageName(routingName: string): string {
  let out = routingName.toLowerCase().replace(/[.-]/g, "_");
  if (/^[0-9]/.test(out)) out = `_${out}`;
  return safeMemberName(out);
}

/**
 * The Python attribute name of a message or enum class in its `_pb2` module
 * (or its enclosing message class). protobuf-python creates the class under
 * its `.proto` name; when that name is a keyword (`None`, `class`, …) it can
 * only be reached with `getattr`, so the module also binds it as `<name>_`
 * (more `_` while a sibling has that name), and generated code, stubs and
 * READMEs use that alias. Other names are returned unchanged.
 */
export function pythonClassAttr(name: string, siblings: ReadonlySet<string>): string {
  if (!PYTHON_KEYWORDS.has(name)) return name;
  let out = `${name}_`;
  while (siblings.has(out)) out += "_";
  return out;
}

/** Minimal descriptor shape shared by `DescriptorProto` and `FileDescriptorProto` for sibling names. */
interface ScopeProto {
  readonly nestedType?: ReadonlyArray<{ readonly name: string }>;
  readonly messageType?: ReadonlyArray<{ readonly name: string }>;
  readonly enumType: ReadonlyArray<{ readonly name: string; readonly value: ReadonlyArray<{ readonly name: string }> }>;
  readonly field?: ReadonlyArray<{ readonly name: string }>;
  readonly extension: ReadonlyArray<{ readonly name: string }>;
}

/** Every attribute name protobuf-python puts on a module or message class for this scope's declarations. */
export function scopeNames(scope: ScopeProto): Set<string> {
  const names = new Set<string>();
  for (const m of scope.nestedType ?? scope.messageType ?? []) names.add(m.name);
  for (const e of scope.enumType) {
    names.add(e.name);
    for (const v of e.value) names.add(v.name);
  }
  for (const f of [...(scope.field ?? []), ...scope.extension]) {
    names.add(f.name);
    names.add(`${f.name.toUpperCase()}_FIELD_NUMBER`);
  }
  return names;
}

/**
 * The path of a message or enum class inside its `_pb2` module, each part
 * escaped by {@link pythonClassAttr}: `Outer.None_` for `pkg.Outer.None`.
 */
export function pythonClassPath(desc: DescMessage | DescEnum): string {
  const parts: string[] = [];
  let d: DescMessage | DescEnum | undefined = desc;
  while (d !== undefined) {
    const scope: ScopeProto = d.parent === undefined ? d.file.proto : d.parent.proto;
    parts.unshift(pythonClassAttr(d.name, scopeNames(scope)));
    d = d.parent;
  }
  return parts.join(".");
}
