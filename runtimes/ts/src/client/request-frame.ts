/**
 * Request frames of the common call (spec §1.1, §1.5), built without
 * re-encoding the head each time. A head as `callMethod` writes it — sequence,
 * coloring, color_id, flow_id = color_id XOR sequence, caller, method_name,
 * timeout_ms — changes from call to call only in sequence, flow id and
 * timeout. The rest is encoded once per method (a `RequestHeadTemplate`), and
 * a frame then costs three varints and two copies: no BigInt arithmetic, no
 * object spread, no UTF-8 work per call. The bytes are exactly
 * `encodeFrame(requestHead(head, sequence), body)`'s (test: test/request-frame.test.ts);
 * any other head takes that general path.
 */
import { allocBytes } from "../byte-slab.js";
import { FRAME_ETX, FRAME_HEAD_OFFSET, FRAME_OVERHEAD, FRAME_STX, encodeFrame } from "../frame.js";
import type { RpcHead } from "../rpc-head.js";

/** Head fields a call sets besides the sequence (see `requestHead`). */
export type RequestHead = Omit<RpcHead, "sequence">;

/** The full head of a request: `head` plus `sequence`, and the derived flow id when none is given. */
export function requestHead(head: RequestHead, sequence: bigint): RpcHead {
  const full: RpcHead = { ...head, sequence };
  if (full.flowId === undefined && full.colorId !== undefined) full.flowId = full.colorId ^ sequence;
  return full;
}

/** Tag bytes (varints) of the fields a template writes; field numbers as in `RpcHeadField`. */
const TAG_SEQUENCE = 0x50; // field 10, varint
const TAG_COLORING = [0xa0, 0x01]; // field 20, varint
const TAG_COLOR_ID = [0xa8, 0x01]; // field 21, varint
const TAG_FLOW_ID_0 = 0xf0; // field 30, varint
const TAG_FLOW_ID_1 = 0x01;
const TAG_CALLER = [0x92, 0x03]; // field 50, length-delimited
const TAG_METHOD_NAME = [0x9a, 0x03]; // field 51, length-delimited
const TAG_TIMEOUT_MS_0 = 0xb0; // field 70, varint
const TAG_TIMEOUT_MS_1 = 0x04;

/** Most methods whose templates are kept (a process calls few; the cache stops growing when full). */
export const REQUEST_TEMPLATES_MAX = 256;

/** The constant parts of a request head for one method, caller, coloring and color id. */
class RequestHeadTemplate {
  /** coloring and color_id fields (between sequence and flow_id). */
  readonly middle: Uint8Array;
  /** caller and method_name fields (between flow_id and timeout_ms). */
  readonly names: Uint8Array;

  constructor(
    readonly methodName: string,
    readonly caller: string | undefined,
    readonly coloring: number | undefined,
    readonly colorId: bigint,
    /** `colorId` as a number (it is below 2^32). */
    readonly color: number,
  ) {
    const middle: number[] = [];
    if (coloring !== undefined) middle.push(...TAG_COLORING, ...varint(coloring >>> 0));
    middle.push(...TAG_COLOR_ID, ...varint(color));
    this.middle = Uint8Array.from(middle);
    const names: number[] = [];
    if (caller !== undefined) names.push(...TAG_CALLER, ...lengthDelimited(caller));
    names.push(...TAG_METHOD_NAME, ...lengthDelimited(methodName));
    this.names = Uint8Array.from(names);
  }
}

function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
  return out;
}

function lengthDelimited(text: string): number[] {
  const bytes = Buffer.from(text, "utf8");
  return [...varint(bytes.length), ...bytes];
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v > 0x7f) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

function copy(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  const len = bytes.length;
  for (let i = 0; i < len; i++) out[pos + i] = bytes[i]!;
  return pos + len;
}

const templates = new Map<string, RequestHeadTemplate>();

/** The template for `head`, or undefined when the head has fields a template does not write. */
function templateFor(head: RequestHead): RequestHeadTemplate | undefined {
  const colorId = head.colorId;
  if (
    colorId === undefined ||
    head.flowId !== undefined ||
    head.err !== undefined ||
    head.result !== undefined ||
    head.errMsg !== undefined ||
    head.callerStack !== undefined
  ) {
    return undefined;
  }
  const known = templates.get(head.methodName);
  if (known !== undefined && known.caller === head.caller && known.coloring === head.coloring && known.colorId === colorId) return known;
  if (colorId < 0n || colorId > 0xffffffffn) return undefined;
  const made = new RequestHeadTemplate(head.methodName, head.caller, head.coloring, colorId, Number(colorId));
  if (known !== undefined || templates.size < REQUEST_TEMPLATES_MAX) templates.set(head.methodName, made);
  return made;
}

/**
 * The frame of a request: `head` with `sequence` (a 32-bit number, as the
 * client's sequences are) around `body`. Same bytes as
 * `encodeFrame(requestHead(head, BigInt(sequence)), body)`.
 */
export function encodeRequestFrame(head: RequestHead, sequence: number, body: Uint8Array): Uint8Array {
  const t = templateFor(head);
  if (t === undefined) return encodeFrame(requestHead(head, BigInt(sequence)), body);
  const flow = (t.color ^ sequence) >>> 0;
  const timeoutMs = head.timeoutMs;
  const timeout = timeoutMs === undefined ? 0 : timeoutMs >>> 0;
  let headLen = 1 + varintSize(sequence) + t.middle.length + 2 + varintSize(flow) + t.names.length;
  if (timeoutMs !== undefined) headLen += 2 + varintSize(timeout);
  const bodyLen = body.length;
  const out = allocBytes(FRAME_OVERHEAD + headLen + bodyLen);
  out[0] = FRAME_STX;
  out[1] = headLen >>> 24;
  out[2] = headLen >>> 16;
  out[3] = headLen >>> 8;
  out[4] = headLen;
  out[5] = bodyLen >>> 24;
  out[6] = bodyLen >>> 16;
  out[7] = bodyLen >>> 8;
  out[8] = bodyLen;
  let pos = FRAME_HEAD_OFFSET;
  out[pos++] = TAG_SEQUENCE;
  pos = writeVarint(out, pos, sequence);
  pos = copy(out, pos, t.middle);
  out[pos++] = TAG_FLOW_ID_0;
  out[pos++] = TAG_FLOW_ID_1;
  pos = writeVarint(out, pos, flow);
  pos = copy(out, pos, t.names);
  if (timeoutMs !== undefined) {
    out[pos++] = TAG_TIMEOUT_MS_0;
    out[pos++] = TAG_TIMEOUT_MS_1;
    pos = writeVarint(out, pos, timeout);
  }
  if (bodyLen < 64) pos = copy(out, pos, body);
  else {
    out.set(body, pos);
    pos += bodyLen;
  }
  out[pos] = FRAME_ETX;
  return out;
}
