/**
 * C++ names for what the C++ caller library declares or refers to.
 *
 * Message classes and namespaces are protoc's (`protoc --cpp_out`, run at
 * build time), so references must follow protoc 3.21's rules exactly:
 * nested messages are `Outer_Inner`, and a class name that is one of
 * protoc's keywords gets a `_` suffix (`delete` → `delete_`). protoc does not
 * escape package components, so a package like `class.v1` cannot compile in
 * C++ at all; that is reported as a user error.
 *
 * Our own names (client classes and their methods) use the same `_` suffix
 * convention, over the full C++20 keyword list plus the client's own members.
 */
import type { DescMessage, FileRegistry } from "@bufbuild/protobuf";
import { UserError } from "../../user-error.js";

/** The words protoc 3.21 escapes in class names (measured: `protoc --cpp_out` on a message of each keyword). */
export const PROTOC_CPP_KEYWORDS: ReadonlySet<string> = new Set(
  (
    "NULL alignas alignof and and_eq asm auto bitand bitor bool break case catch char class compl const constexpr " +
    "const_cast continue decltype default delete do double dynamic_cast else enum explicit export extern false float " +
    "for friend goto if inline int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private " +
    "protected public register reinterpret_cast return short signed sizeof static static_assert static_cast struct " +
    "switch template this thread_local throw true try typedef typeid typename union unsigned using virtual void " +
    "volatile wchar_t while xor xor_eq"
  ).split(" "),
);

/** Keywords of C++20 that protoc 3.21 does not escape but our own identifiers must avoid. */
const NEWER_CPP_KEYWORDS = ["char8_t", "char16_t", "char32_t", "concept", "consteval", "constinit", "co_await", "co_return", "co_yield", "requires"];

/** Every word our generated identifiers must not be. */
export const CPP_RESERVED: ReadonlySet<string> = new Set([...PROTOC_CPP_KEYWORDS, ...NEWER_CPP_KEYWORDS]);

/** Name of the private data member of every client class (rpc names must not clash with it). */
export const CLIENT_SERVICE_MEMBER = "msec_service_";

/** `name` with `_` appended while it is in `taken` (or a reserved word). */
export function escapeCppIdentifier(name: string, taken: ReadonlySet<string> = new Set()): string {
  let out = name;
  while (CPP_RESERVED.has(out) || taken.has(out)) out += "_";
  return out;
}

/** `::a::b` for package `a.b`, `""` for no package. Throws `UserError` when protoc's output could not compile. */
export function cppNamespace(packageName: string): string {
  if (packageName === "") return "";
  const parts = packageName.split(".");
  const bad = parts.filter((p) => CPP_RESERVED.has(p));
  if (bad.length > 0) {
    throw new UserError(
      `package ${packageName}: ${bad.map((b) => JSON.stringify(b)).join(", ")} is a C++ keyword; protoc's C++ code puts it ` +
        `into a namespace unescaped, which cannot compile — rename the package or generate without --lang cpp`,
    );
  }
  return parts.map((p) => `::${p}`).join("");
}

/** protoc's class name of a message: `Outer_Inner`, keyword-escaped as a whole. */
export function protocClassName(desc: DescMessage): string {
  const own = desc.parent === undefined ? desc.name : `${protocClassName(desc.parent)}_${desc.name}`;
  return PROTOC_CPP_KEYWORDS.has(own) ? `${own}_` : own;
}

/** Fully qualified C++ type of a message, e.g. `::crawl::GetMP3ListRequest`. */
export function cppMessageType(desc: DescMessage): string {
  return `${cppNamespace(desc.file.proto.package)}::${protocClassName(desc)}`;
}

/**
 * Names protoc declares directly in a package's namespace (messages, enums,
 * values of top-level enums, generic services and their stubs), so a client
 * class name can avoid them.
 */
export function namespaceNames(registry: FileRegistry, packageName: string): Set<string> {
  const names = new Set<string>();
  for (const file of registry.files) {
    if (file.proto.package !== packageName) continue;
    for (const m of file.messages) names.add(protocClassName(m));
    for (const e of file.enums) {
      names.add(PROTOC_CPP_KEYWORDS.has(e.name) ? `${e.name}_` : e.name);
      for (const v of e.values) names.add(v.name);
    }
    for (const s of file.services) {
      names.add(s.name);
      names.add(`${s.name}_Stub`);
    }
  }
  return names;
}

/** A C++ string literal for `text` (non-ASCII and control bytes as octal escapes of the UTF-8 bytes). */
export function cppStringLiteral(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, "utf8")) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f && byte !== 0x3f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return out + '"';
}
