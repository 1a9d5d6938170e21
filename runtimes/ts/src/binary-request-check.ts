/**
 * Wire-type check of a binary request before protobuf-es decodes it.
 *
 * `fromBinary` reads a known field by its declared type whatever wire type the
 * tag says, so a field sent with the wrong wire type is misread (a varint
 * taken as a length, …) and may decode "successfully" into other data. This
 * walk rejects such a field by name, and a message nested deeper than the
 * limit, the same way as the Python runtime (docs/request-decoding.md).
 * Unknown field numbers are skipped (kept as unknown fields, as protobuf does).
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { RequestFieldError } from "./request-field-error.js";

/** The wire type a scalar is written with (unpacked). */
function scalarWireType(type: ScalarType): WireType {
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    default:
      return WireType.Varint;
  }
}

/** Wire types a field may arrive with; a repeated number may be packed or not. */
function acceptsWireType(field: DescField, wireType: WireType): boolean {
  switch (field.fieldKind) {
    case "scalar":
      return wireType === scalarWireType(field.scalar);
    case "enum":
      return wireType === WireType.Varint;
    case "message":
      return wireType === (field.delimitedEncoding ? WireType.StartGroup : WireType.LengthDelimited);
    case "map":
      return wireType === WireType.LengthDelimited;
    case "list":
      if (field.listKind === "message") {
        return wireType === (field.delimitedEncoding ? WireType.StartGroup : WireType.LengthDelimited);
      }
      if (field.listKind === "enum") return wireType === WireType.Varint || wireType === WireType.LengthDelimited;
      return wireType === scalarWireType(field.scalar) || wireType === WireType.LengthDelimited;
  }
}

/**
 * Walks `bytes` as message `desc`: every known field must carry a wire type
 * its declaration allows, and at most `maxDepth` messages nest below the
 * request. Throws `RequestFieldError` naming the field; a truncated or
 * malformed stream throws the reader's error.
 */
export function checkBinaryRequest(desc: DescMessage, bytes: Uint8Array, maxDepth: number): void {
  checkMessage(desc, new BinaryReader(bytes), bytes.length, desc.typeName, 0, maxDepth);
}

/** Fields of a message by number (cached): `desc.fields.find` per field was a linear scan on the hot path. */
const fieldsByNumber = new WeakMap<DescMessage, Map<number, DescField>>();

function fieldByNumber(desc: DescMessage, fieldNo: number): DescField | undefined {
  let fields = fieldsByNumber.get(desc);
  if (fields === undefined) {
    fields = new Map(desc.fields.map((f) => [f.number, f]));
    fieldsByNumber.set(desc, fields);
  }
  return fields.get(fieldNo);
}

function checkMessage(desc: DescMessage, reader: BinaryReader, end: number, path: string, depth: number, maxDepth: number, group?: number): void {
  if (depth > maxDepth) throw new RequestFieldError(`${path}: more than ${maxDepth} messages nested below the request`);
  // Elements seen per repeated message field, for paths like `items[2]`; made when the first such element comes.
  let listLengths: Map<DescField, number> | undefined;
  while (reader.pos < end) {
    const [fieldNo, wireType] = reader.tag();
    if (wireType === WireType.EndGroup) {
      if (fieldNo !== group) throw new RequestFieldError(`${path}: unexpected end-group tag ${fieldNo}`);
      return;
    }
    const field = fieldByNumber(desc, fieldNo);
    if (field === undefined) {
      reader.skip(wireType, fieldNo);
      continue;
    }
    const message = field.fieldKind === "message" ? field.message : field.fieldKind === "list" && field.listKind === "message" ? field.message : undefined;
    if (message === undefined && field.fieldKind !== "map") {
      // A scalar, enum or scalar list: its path is only spelled out for an error.
      if (!acceptsWireType(field, wireType)) throw new RequestFieldError(`${path}.${field.name}: wrong wire type ${wireType} for field ${fieldNo}`);
      reader.skip(wireType, fieldNo);
      continue;
    }
    let fieldPath = `${path}.${field.name}`;
    if (field.fieldKind === "list") {
      listLengths ??= new Map();
      const index = listLengths.get(field) ?? 0;
      listLengths.set(field, index + 1);
      fieldPath += `[${index}]`;
    }
    if (!acceptsWireType(field, wireType)) {
      throw new RequestFieldError(`${fieldPath}: wrong wire type ${wireType} for field ${fieldNo}`);
    }
    if (message !== undefined) {
      if (wireType === WireType.StartGroup) {
        checkMessage(message, reader, Number.MAX_SAFE_INTEGER, fieldPath, depth + 1, maxDepth, fieldNo);
      } else {
        const len = reader.uint32();
        checkMessage(message, reader, reader.pos + len, fieldPath, depth + 1, maxDepth);
      }
    } else if (field.fieldKind === "map") {
      const len = reader.uint32();
      checkMapEntry(field, reader, reader.pos + len, fieldPath, depth, maxDepth);
    }
  }
  if (group !== undefined) throw new RequestFieldError(`${path}: missing end-group tag`);
  if (reader.pos !== end) throw new RequestFieldError(`${path}: a field runs past the end of its message`);
}

function checkMapEntry(field: DescField & { fieldKind: "map" }, reader: BinaryReader, end: number, path: string, depth: number, maxDepth: number): void {
  while (reader.pos < end) {
    const [fieldNo, wireType] = reader.tag();
    const expected = fieldNo === 1 ? scalarWireType(field.mapKey)
      : fieldNo !== 2 ? undefined
      : field.mapKind === "message" ? WireType.LengthDelimited
      : field.mapKind === "enum" ? WireType.Varint
      : scalarWireType(field.scalar);
    if (expected === undefined) throw new RequestFieldError(`${path}: unknown field ${fieldNo} in a map entry`);
    if (wireType !== expected) throw new RequestFieldError(`${path}: wrong wire type ${wireType} in a map entry`);
    if (fieldNo === 2 && field.mapKind === "message") {
      const len = reader.uint32();
      checkMessage(field.message, reader, reader.pos + len, `${path}[]`, depth + 1, maxDepth);
    } else {
      reader.skip(wireType, fieldNo);
    }
  }
  if (reader.pos !== end) throw new RequestFieldError(`${path}: a field runs past the end of its map entry`);
}
