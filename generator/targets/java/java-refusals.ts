/**
 * Inputs protoc's Java generator turns into code that cannot compile, found
 * before anything is generated. protoc (36.2) escapes field accessors and
 * enum values that are Java keywords (`class` → `getClass_()`, `class_`), and
 * msec-gen escapes package segments, but message and enum classes keep their
 * `.proto` names: a keyword, a literal or a restricted type identifier
 * (`var`, `yield`, `record`, `sealed`, `permits`) there, or a nested type
 * named `Builder` (every message class declares its own `Builder`), cannot
 * compile (measured with javac 17 on protoc's output for every such name).
 */
import { type DescEnum, type DescField, type DescFile, type DescMessage, type DescOneof, ScalarType } from "@bufbuild/protobuf";
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";
import { declarationSite } from "../declaration-site.js";
import { underscoresToCamelCase } from "./java-names.js";

/** The accessor names protoc's Java code declares for a field or oneof, by its kind. */
function accessors(d: DescField | DescOneof): Set<string> {
  // protoc names a group's accessors after its type (`group OrBuilder` → getOrBuilder()), other fields after themselves
  const group = d.kind === "field" && d.fieldKind === "message" && d.delimitedEncoding;
  const x = underscoresToCamelCase(group ? d.message.name : d.name, true);
  const names = [`get${x}`, `set${x}`, `clear${x}`, `has${x}`];
  if (d.kind === "oneof") return new Set([`get${x}Case`, `clear${x}`]);
  switch (d.fieldKind) {
    case "map":
      names.push(`get${x}Map`, `get${x}Count`, `contains${x}`, `get${x}OrDefault`, `get${x}OrThrow`, `put${x}`, `putAll${x}`, `remove${x}`, `getMutable${x}`);
      if (d.mapKind === "enum") names.push(`get${x}ValueMap`, `get${x}ValueOrDefault`, `get${x}ValueOrThrow`, `put${x}Value`, `putAll${x}Value`, `getMutable${x}Value`);
      break;
    case "list":
      names.push(`get${x}List`, `get${x}Count`, `add${x}`, `addAll${x}`);
      if (d.listKind === "message") names.push(`get${x}Builder`, `get${x}OrBuilder`, `get${x}BuilderList`, `get${x}OrBuilderList`, `add${x}Builder`);
      if (d.listKind === "enum") names.push(`get${x}ValueList`, `get${x}Value`, `set${x}Value`, `add${x}Value`, `addAll${x}Value`);
      if (d.listKind === "scalar" && d.scalar === ScalarType.STRING) names.push(`get${x}Bytes`, `add${x}Bytes`);
      break;
    case "message":
      names.push(`get${x}Builder`, `get${x}OrBuilder`, `merge${x}`);
      break;
    case "enum":
      names.push(`get${x}Value`, `set${x}Value`);
      break;
    case "scalar":
      if (d.scalar === ScalarType.STRING) names.push(`get${x}Bytes`, `set${x}Bytes`);
      break;
  }
  return new Set(names);
}

/**
 * Two fields (or oneofs) of one message whose Java accessors meet (`or` has
 * `getOrBuilder()`, a field `or_builder` has `getOrBuilder()` too; map fields
 * `map` and `mutable` both get `getMutableMap()`): protoc declares the member
 * twice. protoc renames a few such pairs itself (`foo` and `foo_count`), so
 * this refuses some inputs protoc would accept; it never lets a clash through.
 */
function accessorClash(m: DescMessage): [{ name: string; desc: DescMessage["fields"][number] | DescMessage["oneofs"][number] }, string, string] | undefined {
  const members = [...m.fields, ...m.oneofs];
  // every message class declares a static getDescriptor(); protoc does not rename a message field's getter of that name
  const owner = new Map<string, string>([["getDescriptor", "the message class itself"]]);
  for (const d of members) {
    const own = new Set<string>();
    for (const a of accessors(d)) {
      if (a === "getDescriptor" && !(d.kind === "field" && d.fieldKind === "message")) continue; // measured: protoc renames a scalar's
      const other = owner.get(a);
      if (other !== undefined && other !== d.name) return [{ name: d.name, desc: d }, other, a];
      own.add(a);
    }
    for (const a of own) owner.set(a, d.name);
  }
  return undefined;
}

/** Java keywords and literals: never a class name. */
export const JAVA_KEYWORDS: ReadonlySet<string> = new Set([
  "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const",
  "continue", "default", "do", "double", "else", "enum", "extends", "final", "finally", "float",
  "for", "goto", "if", "implements", "import", "instanceof", "int", "interface", "long", "native",
  "new", "package", "private", "protected", "public", "return", "short", "static", "strictfp",
  "super", "switch", "synchronized", "this", "throw", "throws", "transient", "try", "void",
  "volatile", "while", "true", "false", "null", "_",
]);

/** Contextual words Java 17 does not accept as a type name (JLS 3.9 TypeIdentifier). */
export const JAVA_RESTRICTED_TYPE_NAMES: ReadonlySet<string> = new Set(["var", "yield", "record", "sealed", "permits"]);

/** Why a message or enum name cannot be a class of protoc's Java output, or undefined when it can. */
function problem(desc: DescMessage | DescEnum): string | undefined {
  const name = desc.name;
  const unescaped = "protoc's Java code uses it as a class name unescaped, which cannot compile";
  if (JAVA_KEYWORDS.has(name)) return `${JSON.stringify(name)} is a Java keyword; ${unescaped}`;
  if (JAVA_RESTRICTED_TYPE_NAMES.has(name)) return `${JSON.stringify(name)} is not allowed as a Java type name; ${unescaped}`;
  if (name === "RuntimeException") {
    return `protoc's Java code for map fields throws RuntimeException unqualified, so a type of that name cannot compile`;
  }
  if (name === "number" && desc.kind === "enum") {
    return `protoc's Java code refers to an enum by its name inside methods whose int parameter is called number, so an enum of that name cannot compile`;
  }
  if (name === "Builder") {
    return `protoc's Java code declares a class Builder in every message class, so a message or nested type of that name cannot compile`;
  }
  return undefined;
}

/** Throws `UserError` (file:line:col, the name, the language) for the first declaration protoc's Java code could not compile. */
export function assertJavaCompilable(model: ProtoModel, generatedFiles: ReadonlySet<string>): void {
  for (const proto of model.descriptorSet.file) {
    if (!generatedFiles.has(proto.name)) continue;
    const file: DescFile | undefined = model.registry.getFile(proto.name);
    if (file === undefined) continue;
    const visit = (desc: DescMessage | DescEnum): void => {
      const why = problem(desc);
      if (why !== undefined) {
        throw new UserError(
          `${declarationSite(desc)}: ${desc.kind === "enum" ? "enum" : "message"} ${desc.typeName}: ${why} — rename it or generate without --lang java`,
        );
      }
      if (desc.kind === "message") {
        const clash = accessorClash(desc);
        if (clash !== undefined) {
          const [{ name, desc: d }, other, member] = clash;
          throw new UserError(
            `${declarationSite(d)}: ${d.kind === "oneof" ? "oneof" : "field"} ${desc.typeName}.${name}: protoc's Java code declares ${member}() for it and for ${other}, ` +
              `which cannot compile — rename one of them or generate without --lang java`,
          );
        }
        for (const e of desc.nestedEnums) visit(e);
        for (const m of desc.nestedMessages) visit(m);
      }
    };
    for (const e of file.enums) visit(e);
    for (const m of file.messages) visit(m);
    // Extensions are static fields of the outer class; Java reads a simple name as a variable before a type.
    const typeNames = new Set<string>();
    const collect = (d: DescMessage | DescEnum): void => {
      typeNames.add(d.name);
      if (d.kind === "message") [...d.nestedMessages, ...d.nestedEnums].forEach(collect);
    };
    [...file.messages, ...file.enums].forEach(collect);
    const extensions = [...file.extensions, ...allMessages(file.messages).flatMap((m) => m.nestedExtensions)];
    for (const ext of extensions) {
      // protoc's field for an extension is its camel-cased name with a lower-case first letter (`Clear` → `clear`)
      if (!typeNames.has(underscoresToCamelCase(ext.name, false))) continue;
      throw new UserError(
        `${declarationSite(ext)}: extension ${ext.typeName}: protoc's Java code declares it as a static field beside the type ${underscoresToCamelCase(ext.name, false)} of the same file, ` +
          `and Java reads the type's name as the field, which cannot compile — rename one of them or generate without --lang java`,
      );
    }
  }
}

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}
