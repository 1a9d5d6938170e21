/**
 * Inputs protobuf-php cannot represent, refused before anything is
 * generated, with the declaration's `file:line:col`. protobuf-php has no
 * groups (delimited message encoding) and only open enums; protoc-php.ts
 * turns proto2 enums into open ones, which protoc allows only when the
 * first value is 0. protoc 36 escapes `object`, `mixed` and `never` as class
 * and namespace names (`PBObject`); google/protobuf 3.21 (Debian's) looks
 * the classes up under the unescaped names, so messages or enums with those
 * names, or packages with such a segment, would not load there: refused.
 */
import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";
import { declarationSite } from "../declaration-site.js";

function refuse(site: string, what: string): never {
  throw new UserError(`${site}: ${what} — change it or generate without --lang php`);
}

/** Names protoc 36 prefixes with `PB` but google/protobuf 3.21's runtime does not. */
const ESCAPED_SINCE_3_21: ReadonlySet<string> = new Set(["object", "mixed", "never"]);

function checkName(desc: DescMessage | DescEnum): void {
  if (ESCAPED_SINCE_3_21.has(desc.name.toLowerCase())) {
    refuse(
      declarationSite(desc),
      `${desc.kind === "enum" ? "enum" : "message"} ${desc.typeName}: protoc names its PHP class PB${desc.name} but google/protobuf 3.21 (Debian's php-google-protobuf) looks for ${desc.name}, so the code would not load there — rename it`,
    );
  }
}

/** Throws `UserError` for the first declaration protobuf-php cannot represent. */
export function assertPhpRepresentable(model: ProtoModel): void {
  for (const proto of model.descriptorSet.file) {
    if (proto.name.startsWith("google/protobuf/")) continue;
    const file = model.registry.getFile(proto.name);
    if (file === undefined) continue;
    const segment = proto.package.split(".").find((p) => ESCAPED_SINCE_3_21.has(p.toLowerCase()));
    if (segment !== undefined && (file.proto.options?.phpNamespace ?? "") === "") {
      refuse(declarationSite(file), `package ${proto.package}: protoc names the PHP namespace segment ${segment} PB…, google/protobuf 3.21 does not, so the code would not load there — rename the package or set option php_namespace`);
    }
    const checkEnum = (e: DescEnum): void => {
      checkName(e);
      if (!e.open && e.values[0] !== undefined && e.values[0].number !== 0) {
        refuse(declarationSite(e), `enum ${e.typeName} is closed (proto2) and its first value ${e.values[0].name} is ${e.values[0].number}, not 0; protobuf-php has open enums only, which must start with a 0 value`);
      }
    };
    const checkField = (f: DescField): void => {
      if (f.fieldKind === "message" && f.delimitedEncoding) {
        refuse(declarationSite(f), `field ${f.parent.typeName}.${f.name} is a group (delimited encoding), which protobuf-php does not support`);
      }
      if (f.fieldKind === "list" && f.listKind === "message" && f.delimitedEncoding) {
        refuse(declarationSite(f), `field ${f.parent.typeName}.${f.name} is a group (delimited encoding), which protobuf-php does not support`);
      }
    };
    for (const e of file.enums) checkEnum(e);
    for (const m of [...file.messages, ...file.messages.flatMap(function nested(x): typeof file.messages { return [...x.nestedMessages, ...x.nestedMessages.flatMap(nested)]; })]) {
      checkName(m);
      m.nestedEnums.forEach(checkEnum);
      m.fields.forEach(checkField);
    }
  }
}
