/**
 * Python keyword arguments that set every proto2 `required` field of a
 * message to its zero value, recursively.
 *
 * protobuf-python refuses to serialize a message whose required field is
 * unset; the handler skeletons and the smoke test build their messages with
 * these arguments so a fresh package answers out of the box. Enum fields get
 * their first value by name.
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { isPythonKeyword } from "./safe-identifier.js";

/** Deepest nesting of required message fields expanded (required cycles cannot be satisfied anyway). */
const MAX_DEPTH = 16;

/**
 * The arguments, e.g. `status=0, msg=""`, or `""` when nothing is required.
 * A field whose name is a keyword is passed as `**{"class": 0}`; nested
 * messages are passed as dicts, which protobuf-python's constructors accept.
 */
export function zeroInitKwargs(message: DescMessage): string {
  const plain: string[] = [];
  const quoted: string[] = [];
  for (const [name, value] of requiredZeros(message, 0)) {
    if (isPythonKeyword(name)) quoted.push(`${JSON.stringify(name)}: ${value}`);
    else plain.push(`${name}=${value}`);
  }
  if (quoted.length > 0) plain.push(`**{${quoted.join(", ")}}`);
  return plain.join(", ");
}

function requiredZeros(message: DescMessage, depth: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const field of message.fields) {
    if (field.presence !== FeatureSet_FieldPresence.LEGACY_REQUIRED) continue;
    const value = zeroValue(field, depth);
    if (value !== undefined) out.push([field.name, value]);
  }
  return out;
}

function zeroValue(field: DescField, depth: number): string | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return scalarZero(field.scalar);
    case "enum": {
      // by name: protobuf-python's constructors take enum names, and the .pyi stubs type enum arguments as enum | str
      const first = field.enum.values[0];
      return first === undefined ? "0" : JSON.stringify(first.name);
    }
    case "message": {
      if (depth >= MAX_DEPTH) return undefined;
      const inner = requiredZeros(field.message, depth + 1).map(([k, v]) => `${JSON.stringify(k)}: ${v}`);
      return `{${inner.join(", ")}}`;
    }
    default:
      return undefined; // list and map fields cannot be required
  }
}

function scalarZero(type: ScalarType): string {
  switch (type) {
    case ScalarType.STRING:
      return '""';
    case ScalarType.BOOL:
      return "False";
    case ScalarType.BYTES:
      return 'b""';
    default:
      return "0";
  }
}
