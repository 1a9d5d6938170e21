/**
 * The common reply, read without decoding its head: a frame whose head is
 * well formed, carries `sequence` (< 2^32) and `method_name`, and has no `err`
 * other than 0 and no `err_msg`. For such a frame
 * `decodeFrame` could only say "a good reply with this sequence", so the
 * client takes that answer here — no head object, no BigInt — and leaves
 * every other frame (errors, anything unusual or malformed) to `decodeFrame`,
 * which decides exactly as before.
 */
import { FRAME_ETX, FRAME_HEAD_OFFSET, FRAME_OVERHEAD, FRAME_STX } from "../frame.js";

/** Field numbers (see `RpcHeadField`) the scan looks at. */
const SEQUENCE = 10;
const ERR = 40;
const ERR_MSG = 42;
const METHOD_NAME = 51;

/** The sequence of a plain good reply in `frame`, or -1 when `decodeFrame` must look at it. */
export function plainReplySequence(frame: Uint8Array): number {
  const len = frame.length;
  if (len <= FRAME_OVERHEAD || frame[0] !== FRAME_STX || frame[len - 1] !== FRAME_ETX) return -1;
  const headLen = ((frame[1]! << 24) | (frame[2]! << 16) | (frame[3]! << 8) | frame[4]!) >>> 0;
  const bodyLen = ((frame[5]! << 24) | (frame[6]! << 16) | (frame[7]! << 8) | frame[8]!) >>> 0;
  if (headLen === 0 || headLen >= 0x80000000 || bodyLen >= 0x80000000 || FRAME_OVERHEAD + headLen + bodyLen !== len) return -1;
  const end = FRAME_HEAD_OFFSET + headLen;
  let pos = FRAME_HEAD_OFFSET;
  let sequence = -1;
  let named = false;
  while (pos < end) {
    // Tag: one or two bytes (fields up to 2047, which covers CRpcHead); anything longer goes the long way.
    let tag = frame[pos++]!;
    if (tag >= 0x80) {
      if (pos >= end) return -1;
      const b = frame[pos++]!;
      if (b >= 0x80) return -1;
      tag = (tag & 0x7f) | (b << 7);
    }
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) return -1;
    if (wire === 0) {
      // A varint of at most 10 bytes; the value is kept only for the sequence (at most 5 bytes, < 2^32).
      const from = pos;
      while (pos < end && frame[pos]! >= 0x80) pos++;
      if (pos >= end || pos - from >= 10) return -1;
      pos++;
      if (field === SEQUENCE) {
        const bytes = pos - from;
        if (bytes > 5) return -1;
        let value = 0;
        for (let i = bytes - 1; i >= 0; i--) value = value * 128 + (frame[from + i]! & 0x7f);
        if (value > 0xffffffff) return -1;
        sequence = value;
      } else if (field === ERR && (pos - from !== 1 || frame[from] !== 0)) {
        return -1;
      }
    } else if (wire === 2) {
      // Text and bytes fields are skipped: decoding text never fails (invalid UTF-8 becomes U+FFFD).
      let size = 0;
      let shift = 0;
      for (;;) {
        if (pos >= end || shift > 21) return -1;
        const b = frame[pos++]!;
        size |= (b & 0x7f) << shift;
        if (b < 0x80) break;
        shift += 7;
      }
      if (size > end - pos || field === ERR_MSG) return -1;
      if (field === METHOD_NAME) named = true;
      pos += size;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
      if (pos > end) return -1;
    } else {
      return -1;
    }
  }
  return named ? sequence : -1;
}
