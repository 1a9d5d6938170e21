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
import type { DescEnum, DescFile, DescMessage } from "@bufbuild/protobuf";
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";
import { declarationSite } from "../declaration-site.js";

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
  if (name === "Builder" && desc.parent !== undefined) {
    return `protoc's Java code declares a class Builder in ${desc.parent.name} already, so a nested type of that name cannot compile`;
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
        for (const e of desc.nestedEnums) visit(e);
        for (const m of desc.nestedMessages) visit(m);
      }
    };
    for (const e of file.enums) visit(e);
    for (const m of file.messages) visit(m);
  }
}
