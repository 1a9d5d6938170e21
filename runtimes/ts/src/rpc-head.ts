/**
 * `srpc.CRpcHead` (spec §1.5), encoded and decoded by hand: the head is read
 * for every request, and a reflective codec would dominate the server's hot
 * path. Proto2 semantics: a property that is set is written, even when 0 or
 * empty; fields are written in field-number order, as C++ and Java do.
 */
import { allocBytes } from "./byte-slab.js";
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
  /**
   * Field 70 (msec-gen extension, uint32): the caller's remaining budget in ms
   * when the request was written; absent or 0 = no deadline. MSEC peers skip
   * it as an unknown field (spec "msec-gen extensions").
   */
  timeoutMs?: number;
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
  timeoutMs: 70,
} as const;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/** Deepest group nesting skipped inside a head before it is called malformed. */
const MAX_GROUP_DEPTH = 16;

function invalidHead(why: string): SrpcError {
  return new SrpcError(SrpcCode.InvalidPkgHead, `invalid package header: ${why}`);
}

// ---------------------------------------------------------------- encoding

function uint64Parts(value: bigint): [lo: number, hi: number] {
  split64(value);
  return [splitLo, splitHi];
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

function piecesSize(pieces: readonly Piece[]): number {
  let size = 0;
  for (const p of pieces) {
    size += varintSize32(p.tag);
    size += p.bytes ? varintSize32(p.bytes.length) + p.bytes.length : varintSize64(p.lo, p.hi);
  }
  return size;
}

function writePiece(out: Uint8Array, pos: number, p: Piece): number {
  pos = writeVarint64(out, pos, p.tag, 0);
  if (p.bytes) {
    pos = writeVarint64(out, pos, p.bytes.length, 0);
    out.set(p.bytes, pos);
    return pos + p.bytes.length;
  }
  return writeVarint64(out, pos, p.lo, p.hi);
}


/** Low and high 32 bits of the last `split64` input (scratch, to avoid an allocation per field). */
let splitLo = 0;
let splitHi = 0;

function split64(value: bigint): void {
  // Fast path for values below 2^32 (sequences, colour ids, most flow ids): no BigInt arithmetic.
  // Number() is exact below 2^53 and monotonic, so a range test on the number is exact.
  const n = Number(value);
  if (n >= 0 && n <= 0xffffffff) {
    splitLo = n;
    splitHi = 0;
    return;
  }
  const v = BigInt.asUintN(64, value);
  splitLo = Number(v & 0xffffffffn);
  splitHi = Number(v >> 32n);
}

/** Most distinct texts (method names, callers) whose UTF-8 bytes are remembered. */
const ENCODED_TEXT_CACHE_MAX = 256;
/** Longest text remembered. */
const ENCODED_TEXT_MAX = 128;
const encodedTexts = new Map<string, Uint8Array>();

/**
 * UTF-8 bytes of a head text. Method and caller names repeat on every call,
 * so their bytes are remembered (bounded: the cache stops growing when full).
 */
function headTextBytes(s: string): Uint8Array {
  let bytes = encodedTexts.get(s);
  if (bytes === undefined) {
    bytes = Buffer.from(s, "utf8");
    if (s.length <= ENCODED_TEXT_MAX && encodedTexts.size < ENCODED_TEXT_CACHE_MAX) encodedTexts.set(s, bytes);
  }
  return bytes;
}

/** Shortest byte run copied with `set` rather than a loop. */
const COPY_WITH_SET_MIN = 32;

/** Writes a length-delimited field with a two-byte tag. */
function writeBytesField(out: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  const len = bytes.length;
  pos = writeVarint64(out, pos, tag, 0);
  pos = writeVarint64(out, pos, len, 0);
  if (len < COPY_WITH_SET_MIN) {
    for (let i = 0; i < len; i++) out[pos + i] = bytes[i]!;
  } else {
    out.set(bytes, pos);
  }
  return pos + len;
}

const TAG_SEQUENCE = tagOf(RpcHeadField.sequence, WIRE_VARINT);
const TAG_COLORING = tagOf(RpcHeadField.coloring, WIRE_VARINT);
const TAG_COLOR_ID = tagOf(RpcHeadField.colorId, WIRE_VARINT);
const TAG_FLOW_ID = tagOf(RpcHeadField.flowId, WIRE_VARINT);
const TAG_ERR = tagOf(RpcHeadField.err, WIRE_VARINT);
const TAG_RESULT = tagOf(RpcHeadField.result, WIRE_VARINT);
const TAG_ERR_MSG = tagOf(RpcHeadField.errMsg, WIRE_LEN);
const TAG_CALLER = tagOf(RpcHeadField.caller, WIRE_LEN);
const TAG_METHOD_NAME = tagOf(RpcHeadField.methodName, WIRE_LEN);
const TAG_CALLER_STACK = tagOf(RpcHeadField.callerStack, WIRE_LEN);
const TAG_TIMEOUT_MS = tagOf(RpcHeadField.timeoutMs, WIRE_VARINT);

/** Serializes a head exactly as C++/Java protobuf would (field-number order, set fields only). */
export function encodeRpcHead(head: RpcHead): Uint8Array {
  return encodeRpcHeadInto(head, 0, 0);
}

/**
 * Serializes a head into a new buffer with `before` unwritten bytes ahead of
 * it and `after` behind it — so a frame is built in one allocation. The head
 * occupies `[before, length - after)`.
 */
export function encodeRpcHeadInto(head: RpcHead, before: number, after: number): Uint8Array {
  const { coloring, colorId, flowId, err, result, errMsg, caller, methodName, callerStack, timeoutMs } = head;
  // Pass 1: size. Every tag but sequence's (field 10) takes two bytes.
  split64(head.sequence);
  const seqLo = splitLo;
  const seqHi = splitHi;
  let size = 1 + varintSize64(seqLo, seqHi);
  if (coloring !== undefined) size += 2 + varintSize32(coloring >>> 0);
  let colorLo = 0;
  let colorHi = 0;
  if (colorId !== undefined) {
    split64(colorId);
    colorLo = splitLo;
    colorHi = splitHi;
    size += 2 + varintSize64(colorLo, colorHi);
  }
  let flowLo = 0;
  let flowHi = 0;
  if (flowId !== undefined) {
    split64(flowId);
    flowLo = splitLo;
    flowHi = splitHi;
    size += 2 + varintSize64(flowLo, flowHi);
  }
  if (err !== undefined) size += 2 + (err < 0 ? 10 : varintSize32(err | 0));
  if (result !== undefined) size += 2 + (result < 0 ? 10 : varintSize32(result | 0));
  const errMsgBytes = errMsg === undefined ? undefined : headTextBytes(errMsg);
  if (errMsgBytes !== undefined) size += 2 + varintSize32(errMsgBytes.length) + errMsgBytes.length;
  const callerBytes = caller === undefined ? undefined : headTextBytes(caller);
  if (callerBytes !== undefined) size += 2 + varintSize32(callerBytes.length) + callerBytes.length;
  const methodBytes = headTextBytes(methodName);
  size += 2 + varintSize32(methodBytes.length) + methodBytes.length;
  let stackBytes: Uint8Array[] | undefined;
  if (callerStack !== undefined && callerStack.length > 0) {
    stackBytes = callerStack.map(headTextBytes);
    for (const b of stackBytes) size += 2 + varintSize32(b.length) + b.length;
  }
  if (timeoutMs !== undefined) size += 2 + varintSize32(timeoutMs >>> 0);

  // Pass 2: write, in field-number order.
  const out = allocBytes(before + size + after);
  let pos = writeVarint64(out, before, TAG_SEQUENCE, 0);
  pos = writeVarint64(out, pos, seqLo, seqHi);
  if (coloring !== undefined) pos = writeVarint64(out, writeVarint64(out, pos, TAG_COLORING, 0), coloring >>> 0, 0);
  if (colorId !== undefined) pos = writeVarint64(out, writeVarint64(out, pos, TAG_COLOR_ID, 0), colorLo, colorHi);
  if (flowId !== undefined) pos = writeVarint64(out, writeVarint64(out, pos, TAG_FLOW_ID, 0), flowLo, flowHi);
  if (err !== undefined) {
    const [lo, hi] = int32Parts(err);
    pos = writeVarint64(out, writeVarint64(out, pos, TAG_ERR, 0), lo, hi);
  }
  if (result !== undefined) {
    const [lo, hi] = int32Parts(result);
    pos = writeVarint64(out, writeVarint64(out, pos, TAG_RESULT, 0), lo, hi);
  }
  if (errMsgBytes !== undefined) pos = writeBytesField(out, pos, TAG_ERR_MSG, errMsgBytes);
  if (callerBytes !== undefined) pos = writeBytesField(out, pos, TAG_CALLER, callerBytes);
  pos = writeBytesField(out, pos, TAG_METHOD_NAME, methodBytes);
  if (stackBytes !== undefined) for (const b of stackBytes) pos = writeBytesField(out, pos, TAG_CALLER_STACK, b);
  if (timeoutMs !== undefined) writeVarint64(out, writeVarint64(out, pos, TAG_TIMEOUT_MS, 0), timeoutMs >>> 0, 0);
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
    if (this.pos < this.end && buf[this.pos]! < 0x80) {
      // One-byte varints (small values, field 10's tag) are the common case.
      this.lo = buf[this.pos++]!;
      this.hi = 0;
      return;
    }
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

  text(recent?: RecentText): string {
    const len = this.length();
    const start = this.pos;
    this.pos += len;
    return recent ? recent.decode(this.buf, start, start + len) : bytesToText(this.buf, start, start + len);
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

/** UTF-8 text of `buf[start, end)`, with Node's native decoder (on a Buffer view, no copy). */
function bytesToText(buf: Uint8Array, start: number, end: number): string {
  if (start === end) return "";
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.toString("utf8", start, end);
}

/** Longest text remembered by a `RecentText`. */
const RECENT_TEXT_MAX = 128;

/**
 * Remembers the last text decoded for one field. Method and caller names
 * repeat from request to request, and comparing a few bytes is much cheaper
 * than decoding UTF-8 into a new string each time.
 */
class RecentText {
  private bytes = new Uint8Array(0);
  private text = "";

  decode(buf: Uint8Array, start: number, end: number): string {
    const len = end - start;
    const known = this.bytes;
    if (known.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (known[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.text;
    }
    const text = bytesToText(buf, start, end);
    if (len <= RECENT_TEXT_MAX) {
      this.bytes = Uint8Array.prototype.slice.call(buf, start, end); // a copy, not a view of the frame
      this.text = text;
    }
    return text;
  }
}

const recentMethodName = new RecentText();
const recentCaller = new RecentText();

/**
 * Parses a serialized head. Unknown fields are skipped (and known fields with
 * an unexpected wire type treated as unknown), like protobuf does; the last
 * value of a repeated scalar wins. Throws `SrpcError(-4)` when the bytes are
 * malformed or a required field (`sequence`, `method_name`) is missing.
 */
export function decodeRpcHead(bytes: Uint8Array, start = 0, end = bytes.length): RpcHead {
  const r = new HeadReader(bytes, start, end);
  // Required fields first, so every decoded head starts with the same object shape.
  const head: RpcHead = { sequence: 0n, methodName: "" };
  let hasSequence = false;
  let hasMethodName = false;
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
          head.sequence = r.uint64();
          hasSequence = true;
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
        case RpcHeadField.timeoutMs:
          // uint32: protobuf keeps the low 32 bits of a longer varint.
          r.varint();
          head.timeoutMs = r.lo;
          continue;
      }
    } else if (wire === WIRE_LEN) {
      switch (field) {
        case RpcHeadField.methodName:
          head.methodName = r.text(recentMethodName);
          hasMethodName = true;
          continue;
        case RpcHeadField.caller:
          head.caller = r.text(recentCaller);
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
  if (!hasSequence) throw invalidHead("missing required field sequence");
  if (!hasMethodName) throw invalidHead("missing required field method_name");
  return head;
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

  // One pass over the original: [field number, start, end] triples, flat.
  const spans: number[] = [];
  const r = new HeadReader(headBytes, 0, headBytes.length);
  let size = piecesSize(inserts);
  while (r.pos < headBytes.length) {
    const start = r.pos;
    r.varint();
    const field = r.lo >>> 3;
    r.skip(r.lo & 7, field);
    if (isReplaced(inserts, field)) continue;
    spans.push(field, start, r.pos);
    size += r.pos - start;
  }

  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  let next = 0;
  for (let i = 0; i < spans.length; i += 3) {
    const field = spans[i]!;
    while (next < inserts.length && inserts[next]!.tag >>> 3 < field) {
      pos = writePiece(out, pos, inserts[next++]!);
    }
    out.set(headBytes.subarray(spans[i + 1]!, spans[i + 2]!), pos);
    pos += spans[i + 2]! - spans[i + 1]!;
  }
  while (next < inserts.length) pos = writePiece(out, pos, inserts[next++]!);
  return out;
}

function isReplaced(inserts: readonly Piece[], field: number): boolean {
  for (const p of inserts) if (p.tag >>> 3 === field) return true;
  return false;
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
