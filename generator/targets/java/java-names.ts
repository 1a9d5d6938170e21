/**
 * Java names msec-gen derives from `.proto` declarations and the routing
 * name: packages, the outer class protoc uses, fully qualified message class
 * names, client classes and method names — with Java's reserved words escaped
 * by a `_` suffix, as protoc's Java generator escapes field accessors.
 */
import type { DescEnum, DescMessage } from "@bufbuild/protobuf";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";

/** Java 17 keywords, literals and the contextual words that cannot name an unqualified method call (`yield`) or read badly (`var`, `record`, …). */
const JAVA_RESERVED = new Set([
  "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const",
  "continue", "default", "do", "double", "else", "enum", "extends", "final", "finally", "float",
  "for", "goto", "if", "implements", "import", "instanceof", "int", "interface", "long", "native",
  "new", "package", "private", "protected", "public", "return", "short", "static", "strictfp",
  "super", "switch", "synchronized", "this", "throw", "throws", "transient", "try", "void",
  "volatile", "while", "true", "false", "null", "_", "var", "yield", "record", "sealed", "permits",
]);

/** Methods every class inherits from `java.lang.Object`: a client method of that name would overload or clash with them. */
const OBJECT_METHODS = new Set(["getClass", "hashCode", "equals", "toString", "notify", "notifyAll", "wait", "clone", "finalize"]);

/** `name`, or `name_` when it is a Java reserved word. */
export function safeJavaIdentifier(name: string): string {
  return JAVA_RESERVED.has(name) ? `${name}_` : name;
}

/** A method name of a generated client: reserved words and `Object`'s methods get a `_` suffix. */
export function safeMethodName(name: string): string {
  return JAVA_RESERVED.has(name) || OBJECT_METHODS.has(name) ? `${name}_` : name;
}

/** One package segment: valid identifier characters, no leading digit, not reserved. */
function packageSegment(segment: string): string {
  let s = segment.replace(/[^A-Za-z0-9_]/g, "_");
  if (/^[0-9]/.test(s) || s === "") s = `_${s}`;
  return safeJavaIdentifier(s);
}

/** A Java package from a dotted name, segment by segment (`import.v1` → `import_.v1`). */
export function javaPackageFrom(dotted: string): string {
  return dotted.split(".").map(packageSegment).join(".");
}

/** `VOA_py.Crawl` → `voa_py.crawl`: the lower-cased routing name as a Java package. */
export function routingPackage(routingName: string): string {
  return javaPackageFrom(routingName.toLowerCase());
}

/**
 * protoc's `UnderscoresToCamelCase`: `_`, `-`, `.` and other non-alphanumerics
 * are dropped and capitalise the next letter, a digit capitalises the next
 * letter, and the first letter is upper-cased when `capitalizeFirst`.
 */
export function underscoresToCamelCase(input: string, capitalizeFirst: boolean): string {
  let out = "";
  let capitalizeNext = capitalizeFirst;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c >= "a" && c <= "z") {
      out += capitalizeNext ? c.toUpperCase() : c;
      capitalizeNext = false;
    } else if (c >= "A" && c <= "Z") {
      out += i === 0 && !capitalizeFirst ? c.toLowerCase() : c;
      capitalizeNext = false;
    } else if (c >= "0" && c <= "9") {
      out += c;
      capitalizeNext = true;
    } else {
      capitalizeNext = true;
    }
  }
  return out;
}

/** Every message, enum and service name declared in a file, nested ones included (protoc checks them all). */
function declaredNames(file: FileDescriptorProto): Set<string> {
  const names = new Set<string>();
  const visit = (messages: FileDescriptorProto["messageType"]): void => {
    for (const m of messages) {
      names.add(m.name);
      for (const e of m.enumType) names.add(e.name);
      visit(m.nestedType);
    }
  };
  visit(file.messageType);
  for (const e of file.enumType) names.add(e.name);
  for (const s of file.service) names.add(s.name);
  return names;
}

/**
 * The outer class protoc gives a file without `java_outer_classname`: the
 * camel-cased base name (`crawl_types.proto` → `CrawlTypes`), with
 * `OuterClass` appended when a type of the file has that name.
 */
export function defaultOuterClassName(file: FileDescriptorProto): string {
  const base = file.name.slice(file.name.lastIndexOf("/") + 1).replace(/\.proto$/, "");
  const name = underscoresToCamelCase(base, true);
  return declaredNames(file).has(name) ? `${name}OuterClass` : name;
}

/** The Java facts of a file as protoc will see them (after msec-gen filled in its options). */
export interface JavaFileNames {
  readonly javaPackage: string;
  readonly outerClass: string;
  readonly multipleFiles: boolean;
}

/** Java facts of each file, by import path (`crawl.proto`). */
export type JavaFileTable = ReadonlyMap<string, JavaFileNames>;

/** The fully qualified Java class of a message or enum, e.g. `crawl.Crawl.GetMP3ListRequest`. */
export function javaClassName(desc: DescMessage | DescEnum, files: JavaFileTable): string {
  const facts = files.get(desc.file.proto.name);
  if (facts === undefined) throw new Error(`no Java names for ${desc.file.proto.name}`);
  const nested: string[] = [desc.name];
  for (let parent = desc.parent; parent !== undefined; parent = parent.parent) nested.unshift(parent.name);
  const prefix = [facts.javaPackage, facts.multipleFiles ? "" : facts.outerClass].filter((p) => p !== "");
  return [...prefix, ...nested].join(".");
}

/** A Java identifier as protoc's output paths and javac take it (ASCII; `$` allowed), not a reserved word. */
export function isJavaIdentifier(name: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) && !JAVA_RESERVED.has(name);
}

/** A Java package name: dot-separated Java identifiers (`com.example.crawl`). */
export function isJavaPackage(name: string): boolean {
  return name.split(".").every(isJavaIdentifier);
}
