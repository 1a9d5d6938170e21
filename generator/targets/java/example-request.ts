/**
 * The Java expression of a request with every proto2 `required` field at its
 * zero value (`.setType("")`), for the README's usage example: `build()` of a
 * proto2 message throws while a required field is unset.
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { type JavaFileTable, javaClassName, safeJavaIdentifier, underscoresToCamelCase } from "./java-names.js";

/** Deepest nesting of required message fields expanded. */
const MAX_DEPTH = 4;

/**
 * Field names whose protoc accessors get a `_` suffix because the plain name
 * would clash with a method of every message (`getClass()`).
 */
const FORBIDDEN_ACCESSOR_NAMES = new Set(["class"]);

/** `.setA(…).setB(…)` for the required fields of `message` (empty when none). */
export function requiredSetters(message: DescMessage, files: JavaFileTable, depth = 0): string {
  let out = "";
  for (const field of message.fields) {
    if (field.presence !== FeatureSet_FieldPresence.LEGACY_REQUIRED) continue;
    const value = zeroValue(field, files, depth);
    if (value === undefined) continue;
    const suffix = FORBIDDEN_ACCESSOR_NAMES.has(field.name) ? "_" : "";
    out += `.set${underscoresToCamelCase(field.name, true)}${suffix}(${value})`;
  }
  return out;
}

function zeroValue(field: DescField, files: JavaFileTable, depth: number): string | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return scalarZero(field.scalar);
    case "enum": {
      const first = field.enum.values[0];
      return first === undefined ? undefined : `${javaClassName(field.enum, files)}.${safeJavaIdentifier(first.name)}`;
    }
    case "message":
      return depth >= MAX_DEPTH
        ? undefined
        : `${javaClassName(field.message, files)}.newBuilder()${requiredSetters(field.message, files, depth + 1)}.build()`;
    default:
      return undefined;
  }
}

function scalarZero(type: ScalarType): string {
  switch (type) {
    case ScalarType.STRING:
      return '""';
    case ScalarType.BOOL:
      return "false";
    case ScalarType.BYTES:
      return "com.google.protobuf.ByteString.EMPTY";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return "0L";
    case ScalarType.FLOAT:
      return "0f";
    case ScalarType.DOUBLE:
      return "0.0";
    default:
      return "0";
  }
}
