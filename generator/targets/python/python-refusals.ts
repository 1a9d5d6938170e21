/**
 * Inputs protobuf-python cannot represent, found before anything is
 * generated. protobuf-python puts nested messages and enums and the values
 * of nested enums on the message class, and top-level ones in the module,
 * beside `DESCRIPTOR` and `google.protobuf.message.Message`'s methods: a
 * type named `DESCRIPTOR`, or a nested type or a message-level enum value
 * named like a Message member (`Clear`, `ByteSize`, …), replaces what
 * protobuf itself relies on.
 */
import type { DescEnum, DescEnumValue, DescMessage } from "@bufbuild/protobuf";
import type { ProtoModel } from "../../model.js";
import { UserError } from "../../user-error.js";
import { declarationSite } from "../declaration-site.js";
import { PROTOBUF_MESSAGE_MEMBERS } from "./safe-identifier.js";

function refuse(desc: DescMessage | DescEnum | DescEnumValue, what: string): never {
  const kind = desc.kind === "enum_value" ? "enum value" : desc.kind === "enum" ? "enum" : "message";
  const name = desc.kind === "enum_value" ? `${desc.parent.typeName}.${desc.name}` : desc.typeName;
  throw new UserError(
    `${declarationSite(desc)}: ${kind} ${name}: ${what}, which protobuf-python's message code relies on — rename it or generate without --lang python`,
  );
}

/** Throws `UserError` (file:line:col, the name, the language) for the first declaration protobuf-python cannot represent. */
export function assertPythonRepresentable(model: ProtoModel): void {
  for (const proto of model.descriptorSet.file) {
    if (proto.name.startsWith("google/protobuf/")) continue;
    const file = model.registry.getFile(proto.name);
    if (file === undefined) continue;
    const visitEnum = (e: DescEnum): void => {
      if (e.name === "DESCRIPTOR" || (e.parent !== undefined && PROTOBUF_MESSAGE_MEMBERS.has(e.name))) refuse(e, `"${e.name}" would replace ${e.parent === undefined ? "the module's" : "the message class's"} ${e.name}`);
      for (const v of e.values) {
        if (v.name === "DESCRIPTOR" || (e.parent !== undefined && PROTOBUF_MESSAGE_MEMBERS.has(v.name))) {
          refuse(v, `"${v.name}" would replace ${e.parent === undefined ? "the module's" : "the message class's"} ${v.name}`);
        }
      }
    };
    const visit = (m: DescMessage): void => {
      if (m.name === "DESCRIPTOR" || (m.parent !== undefined && PROTOBUF_MESSAGE_MEMBERS.has(m.name))) refuse(m, `"${m.name}" would replace ${m.parent === undefined ? "the module's" : "the message class's"} ${m.name}`);
      m.nestedEnums.forEach(visitEnum);
      m.nestedMessages.forEach(visit);
    };
    file.enums.forEach(visitEnum);
    file.messages.forEach(visit);
  }
}
