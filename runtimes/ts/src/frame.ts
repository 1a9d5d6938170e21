/**
 * SRPC frames (spec §1.1): STX 0x28, big-endian int32 head and body lengths,
 * the `srpc.CRpcHead`, the body, ETX 0x29. Decoding never copies the body:
 * it is a view into the buffer the frame arrived in.
 */
import { allocBytes } from "./byte-slab.js";
import { InputBuffer } from "./input-buffer.js";
import { SrpcCode, SrpcError } from "./errors.js";
import { type RpcHead, decodeRpcHead, encodeRpcHeadInto } from "./rpc-head.js";

/** First byte of every frame, ASCII `(`. */
export const FRAME_STX = 0x28;
/** Last byte of every frame, ASCII `)`. */
export const FRAME_ETX = 0x29;
/** Bytes a frame adds around head and body: STX, two int32 lengths, ETX. */
export const FRAME_OVERHEAD = 10;
/** Offset of the head within a frame. */
export const FRAME_HEAD_OFFSET = 9;
/**
 * Default largest frame a decoder accepts, 16 MiB — the size of MSEC's
 * proxy↔worker queue (spec §1.9). Larger frames are rejected from their
 * announced length, before any of the body is buffered.
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** A decoded frame. `headBytes` and `body` are views into the input buffer (no copy). */
export interface DecodedFrame {
  readonly head: RpcHead;
  readonly headBytes: Uint8Array;
  readonly body: Uint8Array;
}

function readInt32BE(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) | 0;
}

/**
 * Builds a frame around a head (a head object, or head bytes already encoded —
 * e.g. an echoed request head) and a body (may be empty).
 */
export function encodeFrame(head: RpcHead | Uint8Array, body: Uint8Array): Uint8Array {
  const b = body.length;
  let out: Uint8Array;
  let h: number;
  if (head instanceof Uint8Array) {
    h = head.length;
    out = allocBytes(FRAME_OVERHEAD + h + b);
    out.set(head, FRAME_HEAD_OFFSET);
  } else {
    // The head is written in place: one allocation for the whole frame.
    out = encodeRpcHeadInto(head, FRAME_HEAD_OFFSET, b + 1);
    h = out.length - FRAME_OVERHEAD - b;
  }
  out[0] = FRAME_STX;
  writeInt32BE(out, 1, h);
  writeInt32BE(out, 5, b);
  out.set(body, FRAME_HEAD_OFFSET + h);
  out[FRAME_OVERHEAD - 1 + h + b] = FRAME_ETX;
  return out;
}

function writeInt32BE(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/**
 * MSEC's completeness check `SrpcCheckPkgLen` (spec §1.2), in its exact order:
 * `-1` for an empty buffer, `0` while 10 or fewer bytes are there (the first
 * byte is not looked at yet), `-3` for a wrong STX, negative lengths or both
 * lengths zero, `0` while the frame is incomplete, `-3` for a wrong ETX,
 * otherwise the frame's total length (trailing bytes are allowed).
 */
export function checkFrame(buf: Uint8Array): number {
  const len = buf.length;
  if (len <= 0) return SrpcCode.ParaError;
  if (len <= FRAME_OVERHEAD) return 0;
  if (buf[0] !== FRAME_STX) return SrpcCode.InvalidPkg;
  const headLen = readInt32BE(buf, 1);
  const bodyLen = readInt32BE(buf, 5);
  const total = FRAME_OVERHEAD + headLen + bodyLen;
  if (headLen < 0 || bodyLen < 0 || total <= FRAME_OVERHEAD) return SrpcCode.InvalidPkg;
  if (len < total) return 0;
  if (buf[total - 1] !== FRAME_ETX) return SrpcCode.InvalidPkg;
  return total;
}

/**
 * Decodes exactly one frame (MSEC's `SrpcUnpackPkg`, spec §1.3): the buffer
 * must be the whole frame and nothing else. Throws `SrpcError(-3)` for bad
 * framing and `SrpcError(-4)` for a head that does not parse.
 */
export function decodeFrame(buf: Uint8Array): DecodedFrame {
  const len = buf.length;
  if (len <= FRAME_OVERHEAD || buf[0] !== FRAME_STX || buf[len - 1] !== FRAME_ETX) {
    throw new SrpcError(SrpcCode.InvalidPkg);
  }
  const headLen = readInt32BE(buf, 1);
  const bodyLen = readInt32BE(buf, 5);
  if (headLen <= 0 || bodyLen < 0 || FRAME_OVERHEAD + headLen + bodyLen !== len) {
    throw new SrpcError(SrpcCode.InvalidPkg);
  }
  const bodyStart = FRAME_HEAD_OFFSET + headLen;
  return new FrameView(decodeRpcHead(buf, FRAME_HEAD_OFFSET, bodyStart), buf, headLen, view(buf, bodyStart, bodyLen));
}

/**
 * A view of `length` bytes of `buf` from `start`: a plain `Uint8Array` over the
 * same memory (cheaper to make than `Buffer#subarray`).
 */
export function view(buf: Uint8Array, start: number, length: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, length);
}

/** `decodeFrame`'s result: `headBytes` is made on first use, as most callers never need it. */
class FrameView implements DecodedFrame {
  constructor(
    readonly head: RpcHead,
    private readonly frame: Uint8Array,
    private readonly headLength: number,
    readonly body: Uint8Array,
  ) {}

  get headBytes(): Uint8Array {
    return view(this.frame, FRAME_HEAD_OFFSET, this.headLength);
  }
}

/** Options of a `FrameDecoder`. */
export interface FrameDecoderOptions {
  /** Largest total frame length accepted; default `DEFAULT_MAX_FRAME_BYTES`. */
  maxFrameBytes?: number;
}

/**
 * Thrown by `FrameDecoder.push` when the stream cannot be SRPC. `frames` are
 * the complete frames that came before the bad bytes in the same push: a
 * server answers them, then closes the connection.
 */
export class FrameStreamError extends SrpcError {
  constructor(
    message: string,
    readonly frames: Uint8Array[],
  ) {
    super(SrpcCode.InvalidPkg, message);
  }
}

/**
 * Splits a byte stream into frames: pipelined frames in one chunk, frames
 * spread over many chunks (down to one byte at a time). Complete frames are
 * views into the chunk they arrived in when they arrived whole; the bytes of
 * an incomplete frame are copied into one buffer of the decoder's own
 * (`InputBuffer`), so its memory is proportional to the bytes received
 * whatever the segmentation, and a frame that spans chunks is a view into
 * that buffer.
 *
 * Throws `FrameStreamError` (an `SrpcError(-3)`) on a byte stream that
 * cannot be SRPC (wrong STX, negative or zero lengths, wrong ETX) and on a
 * frame that announces more than `maxFrameBytes`; after that the decoder
 * must not be used again.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  private readonly pending = new InputBuffer();
  /** Total length of the frame being assembled, once its lengths are known; else 0. */
  private expected = 0;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.pending.length;
  }

  /** Feeds a chunk; returns the frames it completed, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    let buf: Uint8Array;
    if (this.pending.length === 0) {
      buf = chunk;
    } else {
      const limit = this.expected === 0 ? FRAME_HEAD_OFFSET : this.expected;
      if (this.expected === 0 || this.pending.length + chunk.length <= this.expected) {
        this.pending.append(chunk, limit);
        if (this.pending.length < (this.expected === 0 ? FRAME_HEAD_OFFSET : this.expected)) return [];
        buf = this.pending.take();
      } else {
        // The chunk completes the frame and carries more: one buffer for both.
        this.pending.append(chunk);
        buf = this.pending.take();
      }
    }
    const frames: Uint8Array[] = [];
    let at = 0;
    const len = buf.length;
    this.expected = 0;
    while (at < len) {
      if (buf[at] !== FRAME_STX) throw new FrameStreamError("invalid package: bad start byte", frames);
      if (len - at < FRAME_HEAD_OFFSET) break;
      const headLen = readInt32BE(buf, at + 1);
      const bodyLen = readInt32BE(buf, at + 5);
      if (headLen < 0 || bodyLen < 0 || headLen + bodyLen === 0) {
        throw new FrameStreamError("invalid package: bad lengths", frames);
      }
      const total = FRAME_OVERHEAD + headLen + bodyLen;
      if (total > this.maxFrameBytes) {
        throw new FrameStreamError(
          `invalid package: frame of ${total} bytes exceeds the limit of ${this.maxFrameBytes}`,
          frames,
        );
      }
      if (len - at < total) {
        this.expected = total;
        break;
      }
      if (buf[at + total - 1] !== FRAME_ETX) throw new FrameStreamError("invalid package: bad end byte", frames);
      frames.push(view(buf, at, total));
      at += total;
    }
    if (at < len) this.pending.append(view(buf, at, len - at), this.expected === 0 ? FRAME_HEAD_OFFSET : this.expected);
    return frames;
  }
}
