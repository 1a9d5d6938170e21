/**
 * TypeScript object literals that set every proto2 `required` field of a
 * message to its zero value, recursively.
 *
 * protobuf-es refuses to encode a message whose required field is unset; the
 * handler skeletons and the smoke test start from these literals so a fresh
 * package encodes its responses (and requests) out of the box.
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";

/** Deepest nesting of required message fields expanded (required cycles cannot be satisfied anyway). */
const MAX_DEPTH = 16;

/** The literal, e.g. `{ status: 0, msg: "" }`, or `{}` when nothing is required. */
export function zeroInitLiteral(message: DescMessage, depth = 0): string {
  const parts: string[] = [];
  for (const field of message.fields) {
    if (field.presence !== FeatureSet_FieldPresence.LEGACY_REQUIRED) continue;
    const value = zeroValue(field, depth);
    if (value !== undefined) parts.push(`${field.localName}: ${value}`);
  }
  return parts.length === 0 ? "{}" : `{ ${parts.join(", ")} }`;
}

function zeroValue(field: DescField, depth: number): string | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return scalarZero(field.scalar, field.longAsString);
    case "enum":
      return String(field.enum.values[0]?.number ?? 0);
    case "message":
      return depth >= MAX_DEPTH ? undefined : zeroInitLiteral(field.message, depth + 1);
    default:
      return undefined; // list and map fields cannot be required
  }
}

function scalarZero(type: ScalarType, longAsString: boolean): string {
  switch (type) {
    case ScalarType.STRING:
      return '""';
    case ScalarType.BOOL:
      return "false";
    case ScalarType.BYTES:
      return "new Uint8Array(0)";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return longAsString ? '"0"' : "0n";
    default:
      return "0";
  }
}
