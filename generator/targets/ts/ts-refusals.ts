/**
 * Inputs protoc-gen-es (which writes the TypeScript message code, run
 * in-process) turns into code that cannot compile, found before anything is
 * generated: a top-level message or enum named by a TypeScript contextual
 * keyword or predefined type that protoc-gen-es does not escape (`as`,
 * `any`, `unknown`, `await`, …) becomes `export type as = …`, and a top-level
 * extension named `await`, `arguments` or `eval` becomes `export const await`,
 * neither of which compiles in a module (measured with tsc on protoc-gen-es
 * 2.x output for every word of test/identifiers/words.ts).
 */
import type { DescEnum, DescMessage } from "@bufbuild/protobuf";
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";
import { declarationSite } from "../declaration-site.js";

/** Words protoc-gen-es leaves unescaped as type names although TypeScript cannot parse them there. */
export const TS_UNESCAPED_TYPE_WORDS: ReadonlySet<string> = new Set([
  "as", "readonly", "unique", "keyof", "infer", "any", "never", "symbol", "undefined", "unknown", "await",
]);

/** Words protoc-gen-es leaves unescaped as top-level `const` names (extensions) although a module cannot declare them. */
export const TS_UNESCAPED_CONST_WORDS: ReadonlySet<string> = new Set(["await", "arguments", "eval"]);

/** Throws `UserError` (file:line:col, the name, the language) for the first such declaration of the generated files. */
export function assertTsCompilable(model: ProtoModel): void {
  for (const proto of model.descriptorSet.file) {
    if (proto.name.startsWith("google/protobuf/")) continue;
    const file = model.registry.getFile(proto.name);
    if (file === undefined) continue;
    const top: Array<DescMessage | DescEnum> = [...file.messages, ...file.enums];
    for (const desc of top) {
      if (!TS_UNESCAPED_TYPE_WORDS.has(desc.name)) continue;
      throw new UserError(
        `${declarationSite(desc)}: ${desc.kind === "enum" ? "enum" : "message"} ${desc.typeName}: ${JSON.stringify(desc.name)} cannot name a TypeScript type; ` +
          `protoc-gen-es uses it as a type name unescaped, which cannot compile — rename it or generate without --lang ts`,
      );
    }
    // protoc-gen-es's service descriptor type names each method by its lower-case-first name
    for (const service of file.services) {
      const seen = new Map<string, string>();
      for (const method of service.methods) {
        const local = method.name.charAt(0).toLowerCase() + method.name.slice(1);
        const other = seen.get(local);
        if (other !== undefined) {
          throw new UserError(
            `${declarationSite(method)}: rpc ${service.typeName}.${method.name}: protoc-gen-es names it ${local}, like ${other}, which cannot compile — rename one of them or generate without --lang ts`,
          );
        }
        seen.set(local, method.name);
      }
    }
    for (const ext of file.extensions) {
      if (!TS_UNESCAPED_CONST_WORDS.has(ext.name)) continue;
      throw new UserError(
        `${declarationSite(ext)}: extension ${ext.typeName}: ${JSON.stringify(ext.name)} cannot name a constant of a TypeScript module; ` +
          `protoc-gen-es uses it unescaped, which cannot compile — rename it or generate without --lang ts`,
      );
    }
  }
}
