/**
 * Inputs protoc-gen-go turns into code that cannot compile, found before
 * anything is generated. protoc-gen-go CamelCases every name (so Go keywords
 * never appear) and suffixes `_` to fields named like its own methods
 * (`Reset`, `String`, `Descriptor`, …), but not to a field or oneof whose Go
 * name is `ProtoReflect`, and not when one field's Go name is another's
 * getter (`getClass` → `GetClass`, the getter of `class`): both declare a
 * struct field and a method of the same name (measured with go build on
 * protoc-gen-go v1.36 output for every word of test/identifiers/words.ts).
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";
import { declarationSite } from "../declaration-site.js";
import { goCamelCase } from "./go-identifier.js";

/** Names protoc-gen-go escapes with a `_` suffix (its `reservedNames`); the rest are used as they are. */
const ESCAPED = new Set(["Reset", "String", "ProtoMessage", "Marshal", "Unmarshal", "ExtensionRangeArray", "ExtensionMap", "Descriptor"]);

function goFieldName(name: string): string {
  const n = goCamelCase(name);
  return ESCAPED.has(n) ? `${n}_` : n;
}

/** Throws `UserError` (file:line:col, the name, the language) for the first declaration protoc-gen-go's output could not compile. */
export function assertGoCompilable(model: ProtoModel): void {
  for (const proto of model.descriptorSet.file) {
    if (proto.name.startsWith("google/protobuf/")) continue;
    const file = model.registry.getFile(proto.name);
    if (file === undefined) continue;
    const visit = (m: DescMessage): void => {
      const members = [...m.fields.filter((f) => f.oneof === undefined), ...m.oneofs];
      const getters = new Map<string, string>();
      for (const d of [...m.fields, ...m.oneofs]) getters.set(`Get${goFieldName(d.name)}`, d.name);
      for (const d of members) {
        const go = goFieldName(d.name);
        const kind = d.kind === "oneof" ? "oneof" : "field";
        if (go === "ProtoReflect") {
          throw new UserError(
            `${declarationSite(d)}: ${kind} ${m.typeName}.${d.name}: its Go name ProtoReflect is also the method protoc-gen-go declares on every message, ` +
              `which cannot compile — rename it or generate without --lang go`,
          );
        }
        const other = getters.get(go);
        if (other !== undefined) {
          throw new UserError(
            `${declarationSite(d)}: ${kind} ${m.typeName}.${d.name}: its Go name ${go} is also the getter protoc-gen-go declares for ${other}, ` +
              `which cannot compile — rename one of them or generate without --lang go`,
          );
        }
      }
      m.nestedMessages.forEach(visit);
    };
    file.messages.forEach(visit);
  }
}
