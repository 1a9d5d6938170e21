/**
 * Go names msec-gen derives from `.proto` declarations: the CamelCase rule of
 * protoc-gen-go (so client methods match the message types it generates),
 * package names, and escaping against Go's reserved words.
 *
 * Message, enum and field names are escaped by protoc-gen-go itself; this
 * file covers our own names (packages, client types, methods, import names).
 */

/** Go keywords: never valid as identifiers or package names. */
export const GO_KEYWORDS: ReadonlySet<string> = new Set([
  "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for",
  "func", "go", "goto", "if", "import", "interface", "map", "package", "range", "return",
  "select", "struct", "switch", "type", "var",
]);

/**
 * Predeclared identifiers (types, constants, builtin functions). Legal as
 * names but shadowing them confuses readers and tools, so our package names
 * avoid them too.
 */
export const GO_PREDECLARED: ReadonlySet<string> = new Set([
  "any", "bool", "byte", "comparable", "complex64", "complex128", "error", "float32", "float64",
  "int", "int8", "int16", "int32", "int64", "rune", "string", "uint", "uint8", "uint16", "uint32",
  "uint64", "uintptr", "true", "false", "iota", "nil", "append", "cap", "clear", "close", "complex",
  "copy", "delete", "imag", "len", "make", "max", "min", "new", "panic", "print", "println", "real",
  "recover",
]);

/**
 * protoc-gen-go's `GoCamelCase`: words are delimited by `_` or an upper-case
 * letter, each word starts upper-case, digits stay, `.` becomes `_` unless a
 * lower-case letter follows. `GetMP3List` → `GetMP3List`, `get_titles` →
 * `GetTitles`, `then` → `Then`, `Outer.Inner` → `Outer_Inner`.
 */
export function goCamelCase(s: string): string {
  const isLower = (c: string | undefined) => c !== undefined && c >= "a" && c <= "z";
  const isDigit = (c: string) => c >= "0" && c <= "9";
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "." && isLower(s[i + 1])) {
      // skip "." before a lower-case letter
    } else if (c === ".") {
      out += "_";
    } else if (c === "_" && (i === 0 || s[i - 1] === ".")) {
      out += "X";
    } else if (c === "_" && isLower(s[i + 1])) {
      // skip "_" before a lower-case letter
    } else if (isDigit(c)) {
      out += c;
    } else {
      out += isLower(c) ? c.toUpperCase() : c;
      while (isLower(s[i + 1])) out += s[++i]!;
    }
  }
  return out;
}

/**
 * A Go package name from one segment of a proto package or file name:
 * lower-case, other characters than `[a-z0-9_]` replaced by `_`, a leading
 * digit prefixed with `x`, and a keyword or predeclared name suffixed with
 * `pb` (`import` → `importpb`), the suffix Go protobuf packages use.
 */
export function goPackageName(segment: string): string {
  let name = segment.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  if (name === "" || /^[0-9]/.test(name)) name = `x${name}`;
  if (GO_KEYWORDS.has(name) || GO_PREDECLARED.has(name)) name = `${name}pb`;
  return name;
}

/** A directory name (import path element) from one segment: lower-case, `[a-z0-9_]` only. */
export function goDirName(segment: string): string {
  const name = segment.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return name === "" ? "x" : name;
}

/** `name`, or `name` with `_` appended until it is not in `taken`; the result is added to `taken`. */
export function uniqueName(name: string, taken: Set<string>): string {
  let unique = name;
  while (taken.has(unique)) unique += "_";
  taken.add(unique);
  return unique;
}

/**
 * Top-level identifiers declared by Go source as gofmt formats it (`type`,
 * `func`, `var`, `const`, and names inside `var (`/`const (` blocks), so
 * our client names can avoid what protoc-gen-go declared in the same package.
 */
export function topLevelNames(source: string): Set<string> {
  const names = new Set<string>();
  let block = false;
  for (const line of source.split("\n")) {
    if (block) {
      if (line === ")") block = false;
      const m = /^\t([A-Za-z_][A-Za-z0-9_]*)\b/.exec(line);
      if (m) names.add(m[1]!);
      continue;
    }
    if (/^(var|const) \($/.test(line)) {
      block = true;
      continue;
    }
    const m = /^(?:type|var|const|func) ([A-Za-z_][A-Za-z0-9_]*)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** A Go interpreted string literal (JSON escapes are valid Go escapes for these strings). */
export function goString(value: string): string {
  return JSON.stringify(value);
}
