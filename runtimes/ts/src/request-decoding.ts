/**
 * Decoding of a request body into its message by one documented rule that the
 * Python runtime follows too (docs/request-decoding.md, shared cases in
 * fixtures/json-input/): generated servers call `decodeRequest`.
 *
 * * JSON (HTTP): strict ProtoJSON — see `strict-json.ts` and
 *   `json-request-check.ts`; any violation answers -3 naming the field.
 * * Binary (SRPC): protobuf, with wire types checked against the declaration
 *   (`binary-request-check.ts`); any violation answers -5.
 * * Both: proto2 `required` fields must be present (checked after decoding,
 *   nested messages included), and nesting is limited.
 */
import { type DescMessage, type MessageShape, fromBinary, fromJson } from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { checkBinaryRequest } from "./binary-request-check.js";
import { SrpcCode, SrpcError } from "./errors.js";
import type { RequestBody } from "./handler.js";
import { checkJsonRequest } from "./json-request-check.js";
import { RequestFieldError } from "./request-field-error.js";
import { parseStrictJson } from "./strict-json.js";

/** Most nested JSON arrays/objects in a request body (the body's own object is level 1). */
export const MAX_JSON_DEPTH = 100;
/**
 * Most messages nested below the request in a binary body: protobuf's default
 * recursion limit as upb (the Python runtime's decoder) applies it.
 */
export const MAX_MESSAGE_DEPTH = 100;

/** proto2 `required` (FeatureSet_FieldPresence.LEGACY_REQUIRED). */
const LEGACY_REQUIRED = 3;

/**
 * Decodes `body` as message `schema`. Throws `SrpcError` -5 (binary) or -3
 * (JSON) with a message naming the offending field, e.g.
 * `cannot decode crawl.Req from JSON: crawl.Req.items[2].url: missing required field`.
 */
export function decodeRequest<Desc extends DescMessage>(schema: Desc, body: RequestBody): MessageShape<Desc> {
  const json = body.format === "json";
  const fail = (e: unknown): never => {
    const detail = e instanceof Error ? e.message : String(e);
    throw new SrpcError(
      json ? SrpcCode.InvalidPkg : SrpcCode.InvalidPkgBody,
      `cannot decode ${schema.typeName}${json ? " from JSON" : ""}: ${detail}`,
    );
  };
  let message: MessageShape<Desc>;
  try {
    if (body.format === "json") {
      // One byte-order mark before the body is ignored (RFC 8259 §8.1); a blank body is `{}`.
      const text = body.text.startsWith("\uFEFF") ? body.text.slice(1) : body.text;
      const value = /^[ \t\r\n]*$/.test(text) ? {} : parseStrictJson(text, MAX_JSON_DEPTH);
      message = fromJson(schema, checkJsonRequest(schema, value));
    } else {
      checkBinaryRequest(schema, body.bytes, MAX_MESSAGE_DEPTH);
      message = fromBinary(schema, body.bytes, { recursionLimit: MAX_MESSAGE_DEPTH + 1 });
    }
  } catch (e) {
    return fail(e);
  }
  const missing = reachesRequired(schema) ? missingRequiredField(reflect(schema, message), schema.typeName) : undefined;
  if (missing !== undefined) fail(new RequestFieldError(`${missing}: missing required field`));
  return message;
}

const requiredReach = new WeakMap<DescMessage, boolean>();

/** Whether `desc` or a message type reachable from it declares a `required` field (cached). */
function reachesRequired(desc: DescMessage): boolean {
  let known = requiredReach.get(desc);
  if (known === undefined) {
    const seen = new Set<DescMessage>();
    const visit = (d: DescMessage): boolean =>
      !seen.has(d) && (seen.add(d), d.fields.some((f) => f.presence === LEGACY_REQUIRED || (f.message !== undefined && visit(f.message))));
    known = visit(desc);
    requiredReach.set(desc, known);
  }
  return known;
}

/**
 * Path of the first proto2 `required` field not set in `message` or in a
 * message inside it (fields in declaration order, map keys sorted, depth first), e.g.
 * `crawl.Req.items[2].url`; undefined when all are set.
 */
export function missingRequiredField(message: ReflectMessage, path: string): string | undefined {
  for (const field of message.fields) {
    const fieldPath = `${path}.${field.name}`;
    if (!message.isSet(field)) {
      if (field.presence === LEGACY_REQUIRED) return fieldPath;
      continue;
    }
    let missing: string | undefined;
    switch (field.fieldKind) {
      case "message":
        missing = missingRequiredField(message.get(field), fieldPath);
        break;
      case "list":
        if (field.listKind !== "message") break;
        for (const [i, item] of [...message.get(field)].entries()) {
          missing ??= missingRequiredField(item as ReflectMessage, `${fieldPath}[${i}]`);
        }
        break;
      case "map":
        if (field.mapKind !== "message") break;
        // Keys in sorted order, so the first missing field named is the same in every runtime.
        for (const [key, item] of [...message.get(field)].map(([k, v]) => [String(k), v] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
          missing ??= missingRequiredField(item as ReflectMessage, `${fieldPath}[${JSON.stringify(key)}]`);
        }
        break;
    }
    if (missing !== undefined) return missing;
  }
  return undefined;
}
