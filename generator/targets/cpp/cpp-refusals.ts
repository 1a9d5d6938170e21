/**
 * Inputs protoc's C++ generator (run at build time) turns into code that
 * cannot compile, found before anything is generated. protoc escapes C++
 * keywords in class names (`delete` → `delete_`), but its code refers to
 * `std::…` and the fixed-width integer types unqualified inside the proto
 * package's namespace, so a message, enum or top-level enum value declared
 * there under one of those names (`std`, `int32_t`, `size_t`, …) breaks every
 * use of them (measured with g++ on protoc 3.21 output for the corpus).
 */
import type { DescEnum, DescEnumValue, DescMessage } from "@bufbuild/protobuf";
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";
import { declarationSite } from "../declaration-site.js";
import { cppNamespace } from "./cpp-names.js";

/** Names protoc's C++ code uses unqualified inside the package namespace. */
export const CPP_UNQUALIFIED_NAMES: ReadonlySet<string> = new Set([
  "std", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "size_t",
]);

/** Throws `UserError` (file:line:col, the name, the language) for the first declaration protoc's C++ output could not compile. */
export function assertCppCompilable(model: ProtoModel): void {
  for (const proto of model.descriptorSet.file) {
    if (proto.name.startsWith("google/protobuf/")) continue;
    const file = model.registry.getFile(proto.name);
    if (file === undefined) continue;
    try {
      cppNamespace(file.proto.package);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${declarationSite(file)}: ${e.message}`);
      throw e;
    }
    const atNamespaceScope: Array<DescMessage | DescEnum | DescEnumValue> = [...file.messages, ...file.enums, ...file.enums.flatMap((e) => e.values)];
    for (const d of atNamespaceScope) {
      if (!CPP_UNQUALIFIED_NAMES.has(d.name)) continue;
      const kind = d.kind === "enum_value" ? "enum value" : d.kind === "enum" ? "enum" : "message";
      const name = d.kind === "enum_value" ? `${d.parent.typeName}.${d.name}` : d.typeName;
      throw new UserError(
        `${declarationSite(d)}: ${kind} ${name}: ${JSON.stringify(d.name)} in namespace ${file.proto.package === "" ? "::" : file.proto.package.replace(/\./g, "::")} hides the ${d.name === "std" ? "namespace std" : `type ${d.name}`} ` +
          `protoc's C++ code uses unqualified, which cannot compile — rename it or generate without --lang cpp`,
      );
    }
  }
}
