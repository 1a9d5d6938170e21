/**
 * Inputs protoc's C++ generator (run at build time) turns into code that
 * cannot compile, found before anything is generated. protoc escapes C++
 * keywords in class names (`delete` → `delete_`), but its code refers to
 * `std::…` and the fixed-width integer types unqualified inside the proto
 * package's namespace, so a message, enum or top-level enum value declared
 * there under one of those names (`std`, `int32_t`, `size_t`, …) breaks every
 * use of them (measured with g++ on protoc 3.21 output for the corpus).
 */
import type { DescEnum, DescEnumValue, DescExtension, DescField, DescMessage, DescOneof } from "@bufbuild/protobuf";
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";
import { declarationSite } from "../declaration-site.js";
import { cppNamespace, protocClassName } from "./cpp-names.js";

/** Names protoc's C++ code uses unqualified inside the package namespace. */
export const CPP_UNQUALIFIED_NAMES: ReadonlySet<string> = new Set([
  "std", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "size_t",
]);

/**
 * Words protoc 3.21's C++ code uses unescaped as identifiers (class, accessor
 * and enumerator names) although g++ cannot take them there: newer keywords
 * (`char16_t`, `typeof`, `concept`, …) and macros of the C library and of
 * GNU mode (`EOF`, `errno`, `assert`, `linux`, `unix`, …). Measured with g++
 * on protoc's output for the corpus.
 */
export const CPP_UNESCAPED_WORDS: ReadonlySet<string> = new Set([
  "char8_t", "char16_t", "char32_t", "typeof", "concept", "requires", "co_await", "co_return", "co_yield", "consteval", "constinit",
  "EOF", "errno", "assert", "linux", "unix", "stdin", "stdout", "stderr",
]);

/**
 * Member functions of every protoc message class: a message class of that
 * name (`Clear`) declares a constructor that clashes with them. `from` is the
 * parameter name of protoc's copy constructor and MergeFrom.
 */
export const CPP_MESSAGE_MEMBERS: ReadonlySet<string> = new Set([
  "Clear", "New", "Swap", "UnsafeArenaSwap", "CopyFrom", "MergeFrom", "IsInitialized", "ByteSizeLong", "GetCachedSize",
  "GetMetadata", "GetDescriptor", "GetReflection", "GetClassData", "InternalSwap", "SharedCtor", "SharedDtor", "SetCachedSize",
  "MergeImpl", "descriptor", "default_instance", "internal_default_instance", "from",
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
    for (const d of allDeclarations(file.messages, file.enums, file.extensions)) {
      if (!CPP_UNESCAPED_WORDS.has(d.name)) continue;
      throw new UserError(
        `${declarationSite(d)}: ${d.kind.replace("_", " ")} ${d.kind === "enum_value" ? `${d.parent.typeName}.${d.name}` : d.kind === "field" || d.kind === "oneof" ? `${d.parent.typeName}.${d.name}` : d.typeName}: ` +
          `${JSON.stringify(d.name)} is a C++ keyword or macro that protoc's C++ code does not escape, which cannot compile — rename it or generate without --lang cpp`,
      );
    }
    for (const d of allDeclarations(file.messages, file.enums, file.extensions)) {
      if (d.kind === "message" && CPP_MESSAGE_MEMBERS.has(protocClassName(d))) {
        throw new UserError(
          `${declarationSite(d)}: message ${d.typeName}: protoc's C++ class ${protocClassName(d)} would clash with ${d.name === "from" ? "the parameter from of its own copy constructor" : `the member function ${d.name}() every message class declares`}, ` +
            `which cannot compile — rename it or generate without --lang cpp`,
        );
      }
      // protoc's C++ accessors are the field's name lower-cased: descriptor() is also every message's static descriptor()
      if (d.kind === "field" && d.name.toLowerCase() === "descriptor") {
        throw new UserError(
          `${declarationSite(d)}: field ${d.parent.typeName}.${d.name}: protoc's C++ accessor descriptor() would clash with the static descriptor() every message class declares, ` +
            `which cannot compile — rename it or generate without --lang cpp`,
        );
      }
    }
    for (const m of allDeclarations(file.messages, [], []).filter((d): d is DescMessage => d.kind === "message")) {
      const owner = new Map<string, string>();
      for (const d of [...m.fields, ...m.oneofs]) {
        for (const a of cppAccessors(d)) {
          const other = owner.get(a);
          if (other !== undefined && other !== d.name) {
            throw new UserError(
              `${declarationSite(d)}: ${d.kind} ${m.typeName}.${d.name}: protoc's C++ code declares ${a}() for it and for ${other}, ` +
                `which cannot compile — rename one of them or generate without --lang cpp`,
            );
          }
        }
        for (const a of cppAccessors(d)) owner.set(a, d.name);
      }
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

/** Every named declaration of a file below the package: types, fields, oneofs, enum values, extensions. */
function allDeclarations(
  messages: readonly DescMessage[],
  enums: readonly DescEnum[],
  extensions: readonly DescExtension[],
): Array<DescMessage | DescEnum | DescEnumValue | DescField | DescOneof | DescExtension> {
  const out: Array<DescMessage | DescEnum | DescEnumValue | DescField | DescOneof | DescExtension> = [...extensions];
  for (const e of enums) out.push(e, ...e.values);
  for (const m of messages) {
    out.push(m, ...m.fields, ...m.oneofs);
    out.push(...allDeclarations(m.nestedMessages, m.nestedEnums, m.nestedExtensions));
  }
  return out;
}

/** The member functions protoc's C++ code declares for a field or oneof (its name lower-cased). */
function cppAccessors(d: DescField | DescOneof): string[] {
  const x = d.name.toLowerCase();
  if (d.kind === "oneof") return [`${x}_case`, `clear_${x}`];
  const names = [x, `clear_${x}`, `set_${x}`, `mutable_${x}`, `has_${x}`];
  if (d.fieldKind === "list" || d.fieldKind === "map") names.push(`${x}_size`, `add_${x}`);
  if (d.fieldKind === "message") names.push(`release_${x}`, `set_allocated_${x}`);
  return names;
}
