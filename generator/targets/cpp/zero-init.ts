/**
 * C++ statements that set every proto2 `required` field of a request to its
 * zero value, recursively (the README example starts from them: a message
 * with an unset required field is refused with -8 before it is sent).
 */
import { type DescEnum, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { PROTOC_CPP_KEYWORDS, cppNamespace, protocClassName } from "./cpp-names.js";

/** Deepest nesting of required message fields expanded (required cycles cannot be satisfied anyway). */
const MAX_DEPTH = 16;

/** protoc's accessor base name of a field: lower-cased, keyword-escaped (`Type` → `type`, `delete` → `delete_`). */
export function protocFieldName(field: DescField): string {
  const lower = field.name.toLowerCase();
  return PROTOC_CPP_KEYWORDS.has(lower) ? `${lower}_` : lower;
}

/** Statements for `target` (an expression of pointer-free object form, e.g. `request`), one per line. */
export function zeroInitStatements(message: DescMessage, target: string, depth = 0): string[] {
  const lines: string[] = [];
  for (const field of message.fields) {
    if (field.presence !== FeatureSet_FieldPresence.LEGACY_REQUIRED) continue;
    const name = protocFieldName(field);
    switch (field.fieldKind) {
      case "scalar":
        lines.push(`${target}.set_${name}(${scalarZero(field.scalar)});`);
        break;
      case "enum":
        lines.push(`${target}.set_${name}(static_cast<${cppEnumType(field.enum)}>(${field.enum.values[0]?.number ?? 0}));`);
        break;
      case "message": {
        if (depth >= MAX_DEPTH) break;
        const inner = zeroInitStatements(field.message, `(*${target}.mutable_${name}())`, depth + 1);
        lines.push(...(inner.length > 0 ? inner : [`${target}.mutable_${name}();`]));
        break;
      }
      default:
        break; // list and map fields cannot be required
    }
  }
  return lines;
}

function scalarZero(type: ScalarType): string {
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return '""';
    case ScalarType.BOOL:
      return "false";
    default:
      return "0";
  }
}

/** protoc's C++ type of an enum: `::pkg::Outer_Kind` for nested enums, keyword-escaped. */
function cppEnumType(desc: DescEnum): string {
  const own = desc.parent === undefined ? desc.name : `${protocClassName(desc.parent)}_${desc.name}`;
  return `${cppNamespace(desc.file.proto.package)}::${PROTOC_CPP_KEYWORDS.has(own) ? `${own}_` : own}`;
}
