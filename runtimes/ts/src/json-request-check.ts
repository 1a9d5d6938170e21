/**
 * The checks a JSON request passes before protobuf-es converts it to a
 * message: the parts of ProtoJSON that `fromJson` applies leniently or not at
 * all (docs/request-decoding.md). The Python runtime applies the same checks
 * (msec/request_decoding.py) with the same messages.
 *
 * * `bytes` values: standard or URL-safe base64 alphabet, padding optional,
 *   nothing else (no whitespace, no stray characters, no non-zero trailing bits).
 * * `null` as a field value means "not set"; as a list element or map value it is an error.
 * * Unknown keys, a field given twice (proto name and JSON name), two members of one oneof: errors.
 * * Integer literals beyond 2^53 reach 64-bit fields as exact decimal strings.
 */
import { type DescEnum, type DescField, type DescMessage, type JsonValue, ScalarType } from "@bufbuild/protobuf";
import { RequestFieldError } from "./request-field-error.js";
import { BigIntegerLiteral, type StrictJsonValue } from "./strict-json.js";

const base64Standard = /^[A-Za-z0-9+/]*={0,2}$/;
const base64UrlSafe = /^[A-Za-z0-9_-]*={0,2}$/;
const base64Digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Whether `text` is base64 as ProtoJSON reads `bytes`: one alphabet (standard
 * or URL-safe), `=` padding either complete or absent, and zero bits after the
 * last byte so that the text and the bytes correspond one to one.
 */
export function isStrictBase64(text: string): boolean {
  if (!base64Standard.test(text) && !base64UrlSafe.test(text)) return false;
  const data = text.replace(/=+$/, "");
  if (data.length !== text.length && text.length % 4 !== 0) return false;
  const rest = data.length % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const last = base64Digits.indexOf(data.charAt(data.length - 1).replace("-", "+").replace("_", "/"));
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Well-known types whose JSON form is not an object of their fields. */
const specialJsonTypes = new Set([
  "google.protobuf.Any", "google.protobuf.Duration", "google.protobuf.FieldMask", "google.protobuf.ListValue",
  "google.protobuf.Struct", "google.protobuf.Timestamp", "google.protobuf.Value", "google.protobuf.BoolValue",
  "google.protobuf.BytesValue", "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int32Value",
  "google.protobuf.Int64Value", "google.protobuf.StringValue", "google.protobuf.UInt32Value", "google.protobuf.UInt64Value",
]);

const int64Types: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64,
]);

const fieldsByKey = new WeakMap<DescMessage, Map<string, DescField>>();

function fieldForKey(desc: DescMessage, key: string): DescField | undefined {
  let byKey = fieldsByKey.get(desc);
  if (byKey === undefined) {
    byKey = new Map();
    for (const field of desc.fields) {
      byKey.set(field.name, field);
      byKey.set(field.jsonName, field);
    }
    fieldsByKey.set(desc, byKey);
  }
  return byKey.get(key);
}

/**
 * Checks `value` (the parsed body) against message `desc` and returns it as
 * plain JSON for `fromJson`. Throws `RequestFieldError` naming the field.
 */
export function checkJsonRequest(desc: DescMessage, value: StrictJsonValue): JsonValue {
  if (!isObject(value)) {
    throw new RequestFieldError(`${desc.typeName}: the request body must be a JSON object`);
  }
  return checkMessage(desc, value, desc.typeName);
}

function isObject(value: StrictJsonValue): value is { [key: string]: StrictJsonValue } {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof BigIntegerLiteral);
}

function checkMessage(desc: DescMessage, value: StrictJsonValue, path: string): JsonValue {
  if (specialJsonTypes.has(desc.typeName)) return checkSpecial(desc.typeName, value, path);
  if (!isObject(value)) throw new RequestFieldError(`${path}: expected a JSON object`);
  const seen = new Map<DescField, string>();
  const oneofMember = new Map<unknown, string>();
  for (const [key, item] of Object.entries(value)) {
    const field = fieldForKey(desc, key);
    if (field === undefined) throw new RequestFieldError(`${path}.${key}: unknown field`);
    const fieldPath = `${path}.${field.name}`;
    const earlier = seen.get(field);
    if (earlier !== undefined) throw new RequestFieldError(`${fieldPath}: given twice (as "${earlier}" and "${key}")`);
    seen.set(field, key);
    if (item === null) continue; // ProtoJSON: null is the field's default, i.e. not set
    if (field.oneof !== undefined) {
      const other = oneofMember.get(field.oneof);
      if (other !== undefined) {
        throw new RequestFieldError(`${fieldPath}: oneof ${field.oneof.name} already set by ${other}`);
      }
      oneofMember.set(field.oneof, field.name);
    }
    value[key] = checkField(field, item, fieldPath);
  }
  return value as JsonValue;
}

function checkField(field: DescField, value: StrictJsonValue, path: string): StrictJsonValue {
  switch (field.fieldKind) {
    case "scalar":
      return checkScalar(field.scalar, value, path);
    case "enum":
      return checkEnum(field.enum, value, path);
    case "message":
      return checkMessage(field.message, value, path);
    case "list":
      if (!Array.isArray(value)) throw new RequestFieldError(`${path}: expected a JSON array`);
      return value.map((item, i) => {
        const itemPath = `${path}[${i}]`;
        if (item === null) throw new RequestFieldError(`${itemPath}: null is not allowed in a list`);
        if (field.listKind === "message") return checkMessage(field.message, item, itemPath);
        return field.listKind === "scalar" ? checkScalar(field.scalar, item, itemPath) : checkEnum(field.enum, item, itemPath);
      });
    case "map": {
      if (!isObject(value)) throw new RequestFieldError(`${path}: expected a JSON object`);
      for (const [key, item] of Object.entries(value)) {
        const itemPath = `${path}[${JSON.stringify(key)}]`;
        if (item === null) throw new RequestFieldError(`${itemPath}: null is not allowed as a map value`);
        if (field.mapKind === "message") value[key] = checkMessage(field.message, item, itemPath);
        else value[key] = field.mapKind === "scalar" ? checkScalar(field.scalar, item, itemPath) : checkEnum(field.enum, item, itemPath);
      }
      return value;
    }
  }
}

function checkScalar(type: ScalarType, value: StrictJsonValue, path: string): StrictJsonValue {
  if (value instanceof BigIntegerLiteral) return int64Types.has(type) ? value.text : Number(value.text);
  if (typeof value === "boolean" && type !== ScalarType.BOOL) throw new RequestFieldError(`${path}: true/false is only for a bool field`);
  if (type === ScalarType.BYTES) {
    if (typeof value !== "string") throw new RequestFieldError(`${path}: expected a base64 string`);
    if (!isStrictBase64(value)) {
      throw new RequestFieldError(`${path}: invalid base64 (standard or URL-safe alphabet, optional padding, nothing else)`);
    }
  }
  return value;
}

/** An enum value by name, or by number (any number for an open enum, a declared one for a closed enum). */
function checkEnum(desc: DescEnum, value: StrictJsonValue, path: string): StrictJsonValue {
  const known = typeof value === "string"
    ? desc.values.some((v) => v.name === value)
    : typeof value === "number" && (desc.open || desc.values.some((v) => v.number === value));
  if (!known) throw new RequestFieldError(`${path}: ${JSON.stringify(value)} is not a value of enum ${desc.typeName}`);
  return plainJson(value);
}

function checkSpecial(typeName: string, value: StrictJsonValue, path: string): JsonValue {
  switch (typeName) {
    case "google.protobuf.BytesValue":
      return checkScalar(ScalarType.BYTES, value, path) as JsonValue;
    case "google.protobuf.Int64Value":
    case "google.protobuf.UInt64Value":
      return checkScalar(ScalarType.INT64, value, path) as JsonValue;
    default:
      return plainJson(value);
  }
}

/** `value` with every `BigIntegerLiteral` turned into a number (where no 64-bit field expects it). */
function plainJson(value: StrictJsonValue): JsonValue {
  if (value instanceof BigIntegerLiteral) return Number(value.text);
  if (Array.isArray(value)) return value.map(plainJson);
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) value[key] = plainJson(item);
    return value as JsonValue;
  }
  return value;
}
