/**
 * One persistent TCP connection to an SRPC server, carrying many calls at
 * once: each request gets a sequence number unique on the connection (random
 * 32-bit start, +1), and replies are matched to calls by the sequence the
 * server echoes, in whatever order they come back.
 *
 * Failure mapping (spec §2 codes):
 * * timeout → -10, or -12 when part of that call's reply had arrived (its
 *   frame was being received: the partial frame's head carries its sequence,
 *   or it is the only call in flight);
 * * connection refused, reset or closed → -13 for every call in flight
 *   (`requestSent` false when the connection never came up); the pool then
 *   drops the connection and the next call reconnects;
 * * a reply whose sequence matches no call in flight: dropped quietly if it
 *   belongs to a call that already timed out or was aborted; otherwise, if
 *   exactly one call is in flight it is that call's reply with a wrong
 *   sequence → -16 for it; otherwise dropped and logged (it cannot be
 *   attributed);
 * * a reply head that does not parse → -4, attributed the same way;
 * * a byte stream that is not SRPC → -3 for every call in flight, and the
 *   connection is closed;
 * * `CRpcHead.err ≠ 0` → that code, with `err_msg` appended when present.
 *
 * Per call it costs one promise and one small record: timeouts are kept by
 * one timer per connection, armed for the earliest deadline in flight (calls
 * made together share a timeout, so it rarely moves), not a timer per call.
 */
import { type Socket, connect } from "node:net";
import { SrpcCode, SrpcError } from "../errors.js";
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEAD_OFFSET, FRAME_OVERHEAD, FrameDecoder, decodeFrame, view } from "../frame.js";
import type { Logger } from "../log.js";
import { SrpcCallError } from "./call-error.js";
import { plainReplySequence } from "./reply-head.js";
import { type RequestHead, encodeRequestFrame } from "./request-frame.js";

export { type RequestHead, requestHead } from "./request-frame.js";

/** Sequences of abandoned calls (timed out / aborted) remembered per connection, so their late replies are dropped quietly. */
export const ABANDONED_SEQUENCES_KEPT = 1024;

/** Bytes of a partially received frame kept to read its sequence: frame header, tag 0x50, a 10-byte varint. */
const PEEK_BYTES = FRAME_HEAD_OFFSET + 1 + 10;
/** `CRpcHead.sequence` (field 10, varint) tag byte; encoders write it first. */
const SEQUENCE_TAG = 0x50;
/** Largest request frame copied into a batch buffer; larger frames are written as they are. */
const BATCH_COPY_MAX_BYTES = 16 * 1024;
/** Size of the buffers small request frames of one tick are copied into. */
const BATCH_BUFFER_BYTES = 256 * 1024;

/** Told of a call's outcome just before its promise settles (`callMethod` reports to the balancer and the monitor this way). */
export interface CallOutcome {
  /** `undefined` for a reply, else the error the call rejects with. */
  settled(err: SrpcCallError | undefined): void;
}

interface PendingCall {
  readonly sequence: number;
  readonly resolve: (body: Uint8Array) => void;
  readonly reject: (err: SrpcCallError) => void;
  readonly outcome: CallOutcome | undefined;
  /** `performance.now()` time at which the call times out. */
  readonly deadline: number;
  readonly timeoutMs: number;
  written: boolean;
  detach: (() => void) | undefined;
}

/** The resolve/reject pair of the promise being made (`new Promise(capture)` needs no closure per call). */
let capturedResolve: (body: Uint8Array) => void = () => {};
let capturedReject: (err: SrpcCallError) => void = () => {};
function capture(resolve: (body: Uint8Array) => void, reject: (err: SrpcCallError) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** Settles a call: its outcome is reported first, then its promise. */
function succeed(call: PendingCall, body: Uint8Array): void {
  call.outcome?.settled(undefined);
  call.resolve(body);
}

function fail(call: PendingCall, err: SrpcCallError): void {
  call.outcome?.settled(err);
  call.reject(err);
}

/** A promise rejected with `err`, reported to `outcome` first. */
function rejected(err: SrpcCallError, outcome: CallOutcome | undefined): Promise<Uint8Array> {
  outcome?.settled(err);
  return Promise.reject(err);
}

export interface ConnectionOptions {
  /** Largest reply frame accepted; default 16 MiB. */
  maxFrameBytes?: number;
  /** Where unattributable replies are logged. */
  logger?: Logger;
}

function readSequence(prefix: Uint8Array): number | undefined {
  if (prefix.length <= FRAME_HEAD_OFFSET + 1 || prefix[FRAME_HEAD_OFFSET] !== SEQUENCE_TAG) return undefined;
  let value = 0;
  let scale = 1;
  for (let i = FRAME_HEAD_OFFSET + 1; i < prefix.length && i < FRAME_HEAD_OFFSET + 11; i++) {
    const b = prefix[i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
  return undefined;
}

/** A multiplexed SRPC connection; create through the connection pool. */
export class SrpcConnection {
  readonly address: string;
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly logger: Logger | undefined;
  private readonly inFlight = new Map<number, PendingCall>();
  private readonly abandoned = new Set<number>();
  private nextSequence = ((Math.random() * 0x100000000) >>> 0) || 1;
  /** Start of the frame being received, up to `PEEK_BYTES`; undefined between frames. */
  private partial: Uint8Array | undefined;
  private connected = false;
  /** Request frames of this tick not yet handed to the socket, and their calls (see `write`). */
  private batch: Uint8Array[] = [];
  private batchCalls: PendingCall[] = [];
  private batchBytes = 0;
  private closedWith: SrpcCallError | undefined;
  private lastError: string | undefined;
  /** The one timeout timer (unref'd: a call in flight refs the socket), and the deadline it is armed for. */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(host: string, port: number, address: string, onClose: (conn: SrpcConnection) => void, options: ConnectionOptions = {}) {
    this.address = address;
    this.logger = options.logger;
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES });
    this.socket = connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.unref();
    this.socket.on("connect", () => {
      this.connected = true;
    });
    this.socket.on("data", (chunk: Buffer) => this.receive(chunk));
    this.socket.on("error", (err: NodeJS.ErrnoException) => {
      this.lastError = err.code ?? err.message;
    });
    this.socket.on("close", () => {
      const why = this.lastError ?? "closed by peer";
      this.shutdown(
        SrpcCode.SendRecvFailed,
        this.connected ? `connection to ${address} lost (${why})` : `cannot connect to ${address} (${why})`,
      );
      onClose(this);
    });
  }

  /** Whether the connection can take calls. */
  get usable(): boolean {
    return this.closedWith === undefined;
  }

  /**
   * Sends one request and resolves with the reply body (a view into the
   * received bytes). `timeoutMs` covers writing and the reply, counted from
   * `now` (`performance.now()`, passed by a caller that just read it).
   * `outcome` hears the result just before the promise settles.
   */
  call(head: RequestHead, body: Uint8Array, timeoutMs: number, signal?: AbortSignal, outcome?: CallOutcome, now = performance.now()): Promise<Uint8Array> {
    if (this.closedWith) return rejected(this.closedWith, outcome);
    if (signal?.aborted) {
      return rejected(new SrpcCallError(SrpcCode.Timeout, `call aborted (${this.address})`, { address: this.address, requestSent: false }), outcome);
    }
    const sequence = this.nextSequence;
    this.nextSequence = (this.nextSequence + 1) >>> 0 || 1;
    const frame = encodeRequestFrame(head, sequence, body);
    const promise = new Promise<Uint8Array>(capture);
    const call: PendingCall = {
      sequence,
      resolve: capturedResolve,
      reject: capturedReject,
      outcome,
      deadline: now + timeoutMs,
      timeoutMs,
      written: false,
      detach: undefined,
    };
    this.inFlight.set(sequence, call);
    if (this.inFlight.size === 1) this.socket.ref();
    if (call.deadline < this.timerAt) this.armTimer(call.deadline, now);
    if (signal) {
      const onAbort = () => {
        this.abandon(call);
        fail(call, new SrpcCallError(SrpcCode.Timeout, `call aborted (${this.address})`, { address: this.address, requestSent: call.written }));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      call.detach = () => signal.removeEventListener("abort", onAbort);
    }
    this.write(frame, call);
    return promise;
  }

  /** Arms the timeout timer for `deadline` (earlier than the one it is armed for). */
  private armTimer(deadline: number, now: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(this.expireDue, Math.max(1, Math.ceil(deadline - now)));
    this.timer.unref();
  }

  /** Times out every call whose deadline has come, then re-arms for the earliest one left. */
  private readonly expireDue = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const call of this.inFlight.values()) {
      if (call.deadline <= now) this.expire(call);
      else if (call.deadline < next) next = call.deadline;
    }
    if (next !== Infinity && this.closedWith === undefined) this.armTimer(next, now);
  };

  /**
   * Queues a request frame. Frames queued in the same tick (calls issued
   * together, or issued while handling one batch of replies) are copied into
   * one buffer on the next tick and leave in one socket write: one write per
   * call cost a third of a loaded caller's CPU time, and a corked `writev` of
   * many small frames still a fifth (`npm run bench:callers` profiles).
   */
  private write(frame: Uint8Array, call: PendingCall): void {
    if (this.batch.length === 0) process.nextTick(this.flush);
    this.batch.push(frame);
    this.batchCalls.push(call);
    this.batchBytes += frame.length;
  }

  /** Writes the queued frames: small ones copied into shared buffers, large ones as they are (no copy). */
  private readonly flush = (): void => {
    const frames = this.batch;
    const calls = this.batchCalls;
    const total = this.batchBytes;
    this.batch = [];
    this.batchCalls = [];
    this.batchBytes = 0;
    const sent = (err: Error | null | undefined): void => {
      if (!err) for (const call of calls) call.written = true;
    };
    // Chunks to write: runs of small frames joined into shared buffers, large frames on their own.
    const chunks: Uint8Array[] = [];
    let joined: Uint8Array | undefined;
    let pos = 0;
    for (const frame of frames) {
      if (frames.length === 1 || frame.length > BATCH_COPY_MAX_BYTES) {
        if (joined !== undefined) chunks.push(joined.subarray(0, pos));
        joined = undefined;
        chunks.push(frame);
        continue;
      }
      if (joined !== undefined && pos + frame.length > joined.length) {
        chunks.push(joined.subarray(0, pos));
        joined = undefined;
      }
      if (joined === undefined) {
        joined = Buffer.allocUnsafe(Math.min(total, BATCH_BUFFER_BYTES));
        pos = 0;
      }
      joined.set(frame, pos);
      pos += frame.length;
    }
    if (joined !== undefined) chunks.push(joined.subarray(0, pos));
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!, sent);
      return;
    }
    // The last write's callback runs after every earlier write has completed.
    this.socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!);
    this.socket.write(chunks[chunks.length - 1]!, sent);
    this.socket.uncork();
  };

  /** Closes the connection; calls in flight fail with -13. */
  close(): void {
    this.socket.destroy();
  }

  private expire(call: PendingCall): void {
    const timeoutMs = call.timeoutMs;
    const receiving =
      call.written &&
      this.partial !== undefined &&
      (readSequence(this.partial) ?? (this.inFlight.size === 1 ? call.sequence : undefined)) === call.sequence;
    this.abandon(call);
    fail(
      call,
      receiving
        ? new SrpcCallError(SrpcCode.RecvTimeout, `reply from ${this.address} incomplete after ${timeoutMs} ms`, { address: this.address, requestSent: true })
        : new SrpcCallError(
            SrpcCode.Timeout,
            call.written ? `no reply from ${this.address} within ${timeoutMs} ms` : `request to ${this.address} not sent within ${timeoutMs} ms`,
            { address: this.address, requestSent: call.written },
          ),
    );
  }

  /** Forgets a call that will not wait for its reply. */
  private abandon(call: PendingCall): void {
    this.settle(call);
    this.abandoned.add(call.sequence);
    if (this.abandoned.size > ABANDONED_SEQUENCES_KEPT) {
      this.abandoned.delete(this.abandoned.values().next().value!);
    }
  }

  private settle(call: PendingCall): void {
    this.inFlight.delete(call.sequence);
    call.detach?.();
    if (this.inFlight.size === 0) this.socket.unref();
  }

  private receive(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const code = err instanceof SrpcError ? err.code : SrpcCode.InvalidPkg;
      this.shutdown(code, `bad reply stream from ${this.address} (${(err as Error).message.replace(/^invalid package: /, "")})`);
      this.socket.destroy();
      return;
    }
    this.trackPartial(chunk);
    for (const frame of frames) this.deliver(frame);
  }

  /** Keeps the first bytes of a frame still being received, to tell -12 from -10 on timeout. */
  private trackPartial(chunk: Buffer): void {
    const pending = this.decoder.pendingBytes;
    if (pending === 0) {
      this.partial = undefined;
    } else if (pending <= chunk.length) {
      const start = chunk.length - pending;
      this.partial = chunk.subarray(start, Math.min(chunk.length, start + PEEK_BYTES));
    } else if (this.partial !== undefined && this.partial.length < PEEK_BYTES) {
      this.partial = Buffer.concat([this.partial, chunk.subarray(0, PEEK_BYTES - this.partial.length)]);
    }
  }

  private deliver(frame: Uint8Array): void {
    const plain = plainReplySequence(frame);
    if (plain >= 0) {
      const call = this.inFlight.get(plain);
      if (call !== undefined) {
        this.settle(call);
        const headLen = ((frame[1]! << 24) | (frame[2]! << 16) | (frame[3]! << 8) | frame[4]!) >>> 0;
        succeed(call, view(frame, FRAME_HEAD_OFFSET + headLen, frame.length - FRAME_OVERHEAD - headLen));
        return;
      }
    }
    let decoded;
    try {
      decoded = decodeFrame(frame);
    } catch (err) {
      this.unattributed(err instanceof SrpcError ? err.code : SrpcCode.InvalidPkgHead, (err as Error).message, undefined);
      return;
    }
    const { head, body } = decoded;
    const sequence = head.sequence <= 0xffffffffn ? Number(head.sequence) : -1;
    const call = this.inFlight.get(sequence);
    if (call === undefined) {
      if (this.abandoned.delete(sequence)) {
        this.logger?.debug("late reply dropped", { peer: this.address, sequence: head.sequence });
        return;
      }
      this.unattributed(SrpcCode.InvalidSequence, `reply carries sequence ${head.sequence}`, head.sequence);
      return;
    }
    this.settle(call);
    const err = head.err ?? 0;
    if (err !== 0) {
      fail(call, new SrpcCallError(err, head.errMsg, { address: this.address, requestSent: true, fromServer: true }));
    } else {
      succeed(call, body);
    }
  }

  /** A reply that matches no call: the only call in flight takes the blame, else it is logged and dropped. */
  private unattributed(code: number, detail: string, sequence: bigint | undefined): void {
    if (this.inFlight.size === 1) {
      const call = this.inFlight.values().next().value!;
      this.settle(call);
      const expected = code === SrpcCode.InvalidSequence ? `, expected ${call.sequence}` : "";
      fail(call, new SrpcCallError(code, `${detail}${expected} (${this.address})`, { address: this.address, requestSent: true }));
      return;
    }
    this.logger?.error("reply dropped: matches no call in flight", {
      peer: this.address,
      code,
      detail,
      ...(sequence === undefined ? {} : { sequence }),
      inFlight: this.inFlight.size,
    });
  }

  /** Marks the connection unusable and fails every call in flight with `code`. */
  private shutdown(code: number, detail: string): void {
    if (this.closedWith) return;
    this.closedWith = new SrpcCallError(code, detail, { address: this.address, requestSent: false });
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const call of [...this.inFlight.values()]) {
      this.settle(call);
      fail(call, new SrpcCallError(code, detail, { address: this.address, requestSent: this.connected && call.written }));
    }
  }
}
