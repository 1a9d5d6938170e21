/**
 * `srpc.CRpcHead` (spec §1.5), encoded and decoded by hand: the head is read
 * for every request, and a reflective codec would dominate the server's hot
 * path. Proto2 semantics: a property that is set is written, even when 0 or
 * empty; fields are written in field-number order, as C++ and Java do.
 */
import { SrpcCode, SrpcError } from "./errors.js";

/** Decoded `srpc.CRpcHead`. Presence of an optional field = the property is set. */
export interface RpcHead {
  /** Field 10, required. Per-call sequence, echoed by the server. */
  sequence: bigint;
  /** Field 51, required. Full wire method name `package.Service.Method`. */
  methodName: string;
  /** Field 20. 1 forces logging at every level along the call chain. */
  coloring?: number;
  /** Field 21. djb2 of the method name (see `colorId`). */
  colorId?: bigint;
  /** Field 30. End-to-end request id. */
  flowId?: bigint;
  /** Field 40. Framework error code (spec §2). */
  err?: number;
  /** Field 41. Business return value (unused by MSEC servers). */
  result?: number;
  /** Field 42. Error text. */
  errMsg?: string;
  /** Field 50. Caller service name. */
  caller?: string;
  /** Field 60, repeated. Call stack of method names. */
  callerStack?: string[];
}

/** Field numbers of `srpc.CRpcHead`. */
export const RpcHeadField = {
  sequence: 10,
  coloring: 20,
  colorId: 21,
  flowId: 30,
  err: 40,
  result: 41,
  errMsg: 42,
  caller: 50,
  methodName: 51,
  callerStack: 60,
} as const;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/** Deepest group nesting skipped inside a head before it is called malformed. */
const MAX_GROUP_DEPTH = 16;

const utf8Decoder = new TextDecoder();

function invalidHead(why: string): SrpcError {
  return new SrpcError(SrpcCode.InvalidPkgHead, `invalid package header: ${why}`);
}

// ---------------------------------------------------------------- encoding

function uint64Parts(value: bigint): [lo: number, hi: number] {
  const v = BigInt.asUintN(64, value);
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
}

function varintSize32(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function varintSize64(lo: number, hi: number): number {
  if (hi === 0) return varintSize32(lo);
  // 32 low bits take 4 full groups (28 bits) + 4 bits in the 5th group.
  let size = 5;
  let rest = hi >>> 3;
  while (rest !== 0) {
    size++;
    rest >>>= 7;
  }
  return size;
}

function writeVarint64(out: Uint8Array, pos: number, lo: number, hi: number): number {
  while (hi !== 0 || lo > 0x7f) {
    out[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[pos++] = lo;
  return pos;
}

/** Tag bytes for (field, wire type); all CRpcHead tags fit in two bytes. */
function tagOf(field: number, wire: number): number {
  return (field << 3) | wire;
}

type Piece = { tag: number; lo: number; hi: number; bytes?: Uint8Array };

function int32Parts(v: number): [number, number] {
  const n = v | 0;
  return n < 0 ? [n >>> 0, 0xffffffff] : [n, 0];
}

function textBytes(s: string): Uint8Array {
  return Buffer.from(s, "utf8");
}

function piecesOf(head: RpcHead): Piece[] {
  const pieces: Piece[] = [];
  const varint = (field: number, [lo, hi]: [number, number]) =>
    pieces.push({ tag: tagOf(field, WIRE_VARINT), lo, hi });
  const bytes = (field: number, s: string) =>
    pieces.push({ tag: tagOf(field, WIRE_LEN), lo: 0, hi: 0, bytes: textBytes(s) });
  varint(RpcHeadField.sequence, uint64Parts(head.sequence));
  if (head.coloring !== undefined) varint(RpcHeadField.coloring, [head.coloring >>> 0, 0]);
  if (head.colorId !== undefined) varint(RpcHeadField.colorId, uint64Parts(head.colorId));
  if (head.flowId !== undefined) varint(RpcHeadField.flowId, uint64Parts(head.flowId));
  if (head.err !== undefined) varint(RpcHeadField.err, int32Parts(head.err));
  if (head.result !== undefined) varint(RpcHeadField.result, int32Parts(head.result));
  if (head.errMsg !== undefined) bytes(RpcHeadField.errMsg, head.errMsg);
  if (head.caller !== undefined) bytes(RpcHeadField.caller, head.caller);
  bytes(RpcHeadField.methodName, head.methodName);
  for (const entry of head.callerStack ?? []) bytes(RpcHeadField.callerStack, entry);
  return pieces;
}

function piecesSize(pieces: readonly Piece[]): number {
  let size = 0;
  for (const p of pieces) {
    size += varintSize32(p.tag);
    size += p.bytes ? varintSize32(p.bytes.length) + p.bytes.length : varintSize64(p.lo, p.hi);
  }
  return size;
}

function writePieces(out: Uint8Array, pos: number, pieces: readonly Piece[]): number {
  for (const p of pieces) {
    pos = writeVarint64(out, pos, p.tag, 0);
    if (p.bytes) {
      pos = writeVarint64(out, pos, p.bytes.length, 0);
      out.set(p.bytes, pos);
      pos += p.bytes.length;
    } else {
      pos = writeVarint64(out, pos, p.lo, p.hi);
    }
  }
  return pos;
}

/** Serializes a head exactly as C++/Java protobuf would (field-number order, set fields only). */
export function encodeRpcHead(head: RpcHead): Uint8Array {
  const pieces = piecesOf(head);
  const out = Buffer.allocUnsafe(piecesSize(pieces));
  writePieces(out, 0, pieces);
  return out;
}

// ---------------------------------------------------------------- decoding

/** Cursor over head bytes; the varint just read is left in `lo`/`hi`. */
class HeadReader {
  pos: number;
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw invalidHead("truncated varint");
      const b = buf[this.pos++]!;
      if (i < 4) {
        lo |= (b & 0x7f) << shift;
      } else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x7f) >> 4;
      } else {
        hi |= (b & 0x7f) << (3 + 7 * (i - 5));
      }
      shift += 7;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw invalidHead("varint longer than 10 bytes");
  }

  uint64(): bigint {
    this.varint();
    return this.hi === 0 ? BigInt(this.lo) : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** Length of a length-delimited field, checked against the end of the head. */
  length(): number {
    this.varint();
    if (this.hi !== 0 || this.lo > this.end - this.pos) throw invalidHead("length past end");
    return this.lo;
  }

  text(): string {
    const len = this.length();
    const start = this.pos;
    this.pos += len;
    return bytesToText(this.buf, start, start + len);
  }

  skip(wire: number, field: number, depth = 0): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.advance(this.length());
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw invalidHead("groups nested too deep");
        for (;;) {
          this.varint();
          const tag = this.lo;
          if ((tag & 7) === WIRE_END_GROUP) {
            if (tag >>> 3 !== field) throw invalidHead("mismatched end group");
            return;
          }
          this.skip(tag & 7, tag >>> 3, depth + 1);
        }
      }
      default:
        throw invalidHead(`wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw invalidHead("field past end");
    this.pos += n;
  }
}

/** Longest bytes field decoded with the ASCII fast path before falling back to TextDecoder. */
const ASCII_FAST_PATH_MAX = 64;

function bytesToText(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= ASCII_FAST_PATH_MAX) {
    let s = "";
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b >= 0x80) return utf8Decoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return utf8Decoder.decode(buf.subarray(start, end));
}

/**
 * Parses a serialized head. Unknown fields are skipped (and known fields with
 * an unexpected wire type treated as unknown), like protobuf does; the last
 * value of a repeated scalar wins. Throws `SrpcError(-4)` when the bytes are
 * malformed or a required field (`sequence`, `method_name`) is missing.
 */
export function decodeRpcHead(bytes: Uint8Array, start = 0, end = bytes.length): RpcHead {
  const r = new HeadReader(bytes, start, end);
  let sequence: bigint | undefined;
  let methodName: string | undefined;
  const head: Partial<RpcHead> = {};
  while (r.pos < end) {
    r.varint();
    if (r.hi !== 0) throw invalidHead("tag out of range");
    const tag = r.lo;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw invalidHead("field number 0");
    if (wire === WIRE_VARINT) {
      switch (field) {
        case RpcHeadField.sequence:
          sequence = r.uint64();
          continue;
        case RpcHeadField.coloring:
          r.varint();
          head.coloring = r.lo;
          continue;
        case RpcHeadField.colorId:
          head.colorId = r.uint64();
          continue;
        case RpcHeadField.flowId:
          head.flowId = r.uint64();
          continue;
        case RpcHeadField.err:
          r.varint();
          head.err = r.lo | 0;
          continue;
        case RpcHeadField.result:
          r.varint();
          head.result = r.lo | 0;
          continue;
      }
    } else if (wire === WIRE_LEN) {
      switch (field) {
        case RpcHeadField.methodName:
          methodName = r.text();
          continue;
        case RpcHeadField.caller:
          head.caller = r.text();
          continue;
        case RpcHeadField.errMsg:
          head.errMsg = r.text();
          continue;
        case RpcHeadField.callerStack:
          (head.callerStack ??= []).push(r.text());
          continue;
      }
    } else if (wire === WIRE_END_GROUP) {
      throw invalidHead("unexpected end group");
    }
    r.skip(wire, field);
  }
  if (sequence === undefined) throw invalidHead("missing required field sequence");
  if (methodName === undefined) throw invalidHead("missing required field method_name");
  head.sequence = sequence;
  head.methodName = methodName;
  return head as RpcHead;
}

// ---------------------------------------------------------------- amending

/** Fields a server may change in an echoed head. */
export interface RpcHeadChanges {
  flowId?: bigint;
  err?: number;
  errMsg?: string;
}

/**
 * Returns `headBytes` with the given fields replaced (or inserted at their
 * field-number position), every other byte kept as it was — so unknown
 * fields and non-UTF-8 bytes survive the echo, and a canonical head comes out
 * exactly as C++ would re-serialize it (spec §1.7, V3).
 */
export function amendRpcHead(headBytes: Uint8Array, changes: RpcHeadChanges): Uint8Array {
  const inserts: Piece[] = [];
  if (changes.flowId !== undefined) {
    const [lo, hi] = uint64Parts(changes.flowId);
    inserts.push({ tag: tagOf(RpcHeadField.flowId, WIRE_VARINT), lo, hi });
  }
  if (changes.err !== undefined) {
    const [lo, hi] = int32Parts(changes.err);
    inserts.push({ tag: tagOf(RpcHeadField.err, WIRE_VARINT), lo, hi });
  }
  if (changes.errMsg !== undefined) {
    inserts.push({ tag: tagOf(RpcHeadField.errMsg, WIRE_LEN), lo: 0, hi: 0, bytes: textBytes(changes.errMsg) });
  }
  const replaced = new Set(inserts.map((p) => p.tag >>> 3));

  // Split the original into [field number, start, end] spans.
  const spans: Array<[number, number, number]> = [];
  const r = new HeadReader(headBytes, 0, headBytes.length);
  while (r.pos < headBytes.length) {
    const start = r.pos;
    r.varint();
    const field = r.lo >>> 3;
    r.skip(r.lo & 7, field);
    spans.push([field, start, r.pos]);
  }

  const kept = spans.filter(([field]) => !replaced.has(field));
  let size = piecesSize(inserts);
  for (const [, s, e] of kept) size += e - s;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  let next = 0;
  for (const [field, s, e] of kept) {
    while (next < inserts.length && inserts[next]!.tag >>> 3 < field) {
      pos = writePieces(out, pos, [inserts[next++]!]);
    }
    out.set(headBytes.subarray(s, e), pos);
    pos += e - s;
  }
  pos = writePieces(out, pos, inserts.slice(next));
  return out;
}

// ---------------------------------------------------------------- sequence

let lastSequence = (Math.random() * 0x100000000) >>> 0;

/**
 * A new 32-bit request sequence, never 0 (MSEC's `newseq()` is 32-bit too).
 * Successive values are consecutive from a random start, so calls in flight
 * on one connection never share a sequence.
 */
export function newSequence(): bigint {
  lastSequence = (lastSequence + 1) >>> 0;
  if (lastSequence === 0) lastSequence = 1;
  return BigInt(lastSequence);
}
