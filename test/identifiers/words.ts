/**
 * The hostile words of each target language: keywords, builtins and names
 * generated code relies on. The corpus (corpus.ts) puts them in every
 * identifier position a `.proto` file allows.
 */

/** TypeScript/JavaScript reserved words, strict-mode and contextual words, and members special at run time. */
export const TS_WORDS = [
  "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else", "enum",
  "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof", "new", "null",
  "return", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while", "with",
  "implements", "interface", "let", "package", "private", "protected", "public", "static", "yield", "await",
  "as", "async", "any", "boolean", "constructor", "declare", "get", "is", "module", "namespace", "never",
  "readonly", "require", "number", "object", "set", "string", "symbol", "type", "undefined", "unique",
  "unknown", "from", "global", "keyof", "infer", "satisfies", "accessor", "out", "override",
  "then", "toString", "toJSON", "valueOf", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
  "toLocaleString", "__proto__", "__defineGetter__", "prototype", "arguments", "eval",
  "Object", "Array", "Promise", "String", "Number", "Boolean", "Symbol", "Error", "Function", "Map", "Set",
  "Date", "JSON", "Math", "BigInt", "Uint8Array", "globalThis", "NaN", "Infinity",
  "create", "toBinary", "fromBinary", "toJson", "fromJson", "service", "defaults", "options", "request", "ctx",
];

/** Python keywords, soft keywords, and builtins and names used in generated Python code. */
export const PYTHON_WORDS = [
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
  "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
  "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
  "match", "case", "type", "_",
  "self", "cls", "int", "str", "bytes", "float", "bool", "list", "dict", "object", "print", "len", "id", "input",
  "format", "filter", "map", "property", "super", "Exception", "ValueError", "builtins", "typing", "Optional",
  "Any", "Union", "ClassVar", "Mapping", "Iterable", "DESCRIPTOR", "Message", "Clear", "client", "timeout_ms",
  "close", "service", "request",
];

/** Go keywords and predeclared identifiers, and names of the generated clients. */
export const GO_WORDS = [
  "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func", "go",
  "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct", "switch",
  "type", "var",
  "any", "bool", "byte", "comparable", "complex64", "complex128", "error", "float32", "float64", "int", "int8",
  "int16", "int32", "int64", "rune", "string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
  "true", "false", "iota", "nil", "append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len",
  "make", "max", "min", "new", "panic", "print", "println", "real", "recover",
  "ctx", "opts", "err", "proto", "msec", "fmt", "context", "Reset", "ProtoMessage", "ProtoReflect", "Descriptor",
];

/** Java keywords, literals, contextual words and java.lang names. */
export const JAVA_WORDS = [
  "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const", "continue",
  "default", "do", "double", "else", "enum", "extends", "final", "finally", "float", "for", "goto", "if",
  "implements", "import", "instanceof", "int", "interface", "long", "native", "new", "package", "private",
  "protected", "public", "return", "short", "static", "strictfp", "super", "switch", "synchronized", "this",
  "throw", "throws", "transient", "try", "void", "volatile", "while", "true", "false", "null",
  "var", "yield", "record", "sealed", "permits", "non_sealed", "module", "exports", "opens", "requires",
  "Object", "String", "Integer", "Long", "Boolean", "Class", "System", "Math", "Thread", "Override",
  "Deprecated", "Exception", "RuntimeException", "Iterable", "Void", "Enum", "Record", "CharSequence",
  "Builder", "OrBuilder", "Parser", "getClass", "hashCode", "equals", "wait", "notify", "clone", "finalize",
];

/** C++ keywords, alternative tokens and common macros. */
export const CPP_WORDS = [
  "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
  "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval", "constexpr",
  "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete",
  "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
  "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
  "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
  "requires", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
  "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
  "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
  "NULL", "EOF", "errno", "assert", "stdin", "stdout", "stderr", "TRUE", "FALSE", "DEBUG", "NDEBUG",
  "major", "minor", "linux", "unix", "std", "string", "vector", "size_t", "int32_t", "uint64_t",
];
