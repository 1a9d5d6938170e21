/**
 * PHP names msec-gen derives from `.proto` declarations.
 *
 * Messages and enums keep protoc's PHP names (protoc prefixes reserved words
 * with `PB`: message `Class` → `PBClass`, package `list` → namespace
 * `PBList`). Client classes live in the namespace protoc gives the service's
 * file; their names and methods follow msec-gen's rule for PHP (see
 * docs/generator.md, "Identifier escaping"): a name already taken in its
 * scope gets a trailing `_`, repeated until free. PHP method names are
 * case-insensitive, so clashes are found case-insensitively.
 */
import type { DescFile } from "@bufbuild/protobuf";

/** Words protoc's PHP generator treats as reserved (case-insensitive) and prefixes with `PB`. */
export const PHP_RESERVED: ReadonlySet<string> = new Set([
  "abstract", "and", "array", "as", "break", "callable", "case", "catch", "class", "clone", "const",
  "continue", "declare", "default", "die", "do", "echo", "else", "elseif", "empty", "enddeclare",
  "endfor", "endforeach", "endif", "endswitch", "endwhile", "eval", "exit", "extends", "final",
  "finally", "fn", "for", "foreach", "function", "global", "goto", "if", "implements", "include",
  "include_once", "instanceof", "insteadof", "interface", "isset", "list", "match", "namespace",
  "new", "or", "parent", "print", "private", "protected", "public", "readonly", "require",
  "require_once", "return", "self", "static", "switch", "throw", "trait", "try", "unset", "use",
  "var", "while", "xor", "yield", "int", "float", "bool", "string", "true", "false", "null",
  "void", "iterable",
]);

/** protoc's namespace of a file: `php_namespace`, else the package's parts capitalised, reserved parts prefixed `PB`. */
export function phpNamespace(file: DescFile): string {
  const explicit = file.proto.options?.phpNamespace;
  if (explicit !== undefined && explicit !== "") return explicit.replace(/^\\+|\\+$/g, "");
  if (file.proto.package === "") return "";
  return file.proto.package
    .split(".")
    .map((part) => {
      const cap = part.charAt(0).toUpperCase() + part.slice(1);
      return PHP_RESERVED.has(part.toLowerCase()) ? `PB${cap}` : cap;
    })
    .join("\\");
}

/** `name`, with `_` appended until no entry of `taken` equals it case-insensitively. */
export function freeName(name: string, taken: ReadonlySet<string>): string {
  let out = name;
  while (taken.has(out.toLowerCase())) out += "_";
  return out;
}

/** A PHP single-quoted string literal. */
export function phpString(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Composer package name (`vendor/name`, lower case) of a routing name: `VOA.Crawl` → `voa/crawl`. */
export function composerName(routingName: string): string {
  const [group, ...rest] = routingName.split(".");
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "x";
  return `${clean(group!)}/${clean(rest.join("-"))}`;
}
