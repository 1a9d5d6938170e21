/**
 * One SRPC call: a complete frame in, a frame out (spec §1.7). The response
 * head is the request head byte for byte — amended only to fill a missing
 * flow id on success, or to add `err` (and `err_msg` when the message is not
 * the code's standard text) on failure. Shared by TCP connections and UDP.
 *
 * A head with `timeout_ms` (field 70, spec §14) gives the call a deadline,
 * counted from the arrival of the frame's first byte: past it, the call is
 * answered -10 "deadline exceeded (timeout_ms=N)" and its `ctx.signal` fires;
 * a frame whose deadline passed before its handler could start (it waited
 * behind `maxInFlightPerConnection`) is answered so without running it. The
 * call keeps its in-flight place until its handler returns, so the limits
 * still bound running handlers; what the handler returns late is dropped.
 */
import { SrpcCode, errorText } from "../errors.js";
import { FRAME_HEAD_OFFSET, FRAME_OVERHEAD, encodeFrame, view } from "../frame.js";
import type { ResponseBody } from "../handler.js";
import { type RpcHead, amendRpcHead, decodeRpcHead, newSequence } from "../rpc-head.js";
import { CallDeadline, deadlineExceededMessage } from "./call-deadline.js";
import { ServerCallContext } from "./call-context.js";
import type { ServerCore } from "./core.js";
import { failureOf, isPromiseLike, whenSettled, wrongFormat } from "./outcome.js";
import type { HistogramSeries } from "../monitor.js";
import { type Transport, UNKNOWN_METHOD_LABEL } from "./stats.js";

const EMPTY = new Uint8Array(0);

/** Where a call's answer goes: a TCP connection or a UDP peer. */
export interface FrameSink {
  readonly transport: Transport;
  readonly peer: string;
  readonly signal: AbortSignal;
  sendFrame(frame: Uint8Array): void;
  /** Sends the frame `head` + `body` (the sink may build it straight into its output). */
  sendResponse(head: Uint8Array, body: Uint8Array): void;
  /** Called once when a call that `handleFrame` started has been answered. */
  callFinished(): void;
  /**
   * Observes, in `series`, the seconds from `arrivedAt` (`performance.now()`)
   * to the answer just sent being handed to the socket.
   */
  recordLatency(series: HistogramSeries, arrivedAt: number): void;
}

/** How `handleFrame` dealt with a frame. */
export const enum FrameResult {
  /** The frame was malformed; nothing was sent — the caller closes the connection or drops the datagram. */
  Malformed,
  /** Answered at once (unknown method); no call is in flight. */
  Answered,
  /** A call was started; `sink.callFinished()` follows. */
  Started,
}

function readInt32BE(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) | 0;
}

/**
 * Handles one complete, framing-checked frame (STX, lengths and ETX already
 * verified); `arrivedAt` is the `performance.now()` of its first byte.
 */
export function handleFrame(core: ServerCore, frame: Uint8Array, sink: FrameSink, arrivedAt: number): FrameResult {
  const headLen = readInt32BE(frame, 1);
  const bodyLen = readInt32BE(frame, 5);
  if (headLen <= 0) return FrameResult.Malformed;
  const headEnd = FRAME_HEAD_OFFSET + headLen;
  let head: RpcHead;
  try {
    head = decodeRpcHead(frame, FRAME_HEAD_OFFSET, headEnd);
  } catch {
    return FrameResult.Malformed;
  }
  const headBytes = view(frame, FRAME_HEAD_OFFSET, headLen);
  const method = core.methods.get(head.methodName);
  if (method === undefined) {
    answerAtOnce(core, sink, head, UNKNOWN_METHOD_LABEL, frame.length, arrivedAt, head.flowId ?? 0n,
      encodeFrame(amendRpcHead(headBytes, { err: SrpcCode.InvalidMethodName }), EMPTY), SrpcCode.InvalidMethodName);
    return FrameResult.Answered;
  }
  let flowId = head.flowId;
  let responseHead = headBytes;
  if (flowId === undefined || flowId === 0n) {
    flowId = newSequence();
    responseHead = amendRpcHead(headBytes, { flowId });
  }
  const timeoutMs = head.timeoutMs ?? 0;
  let deadline: CallDeadline | undefined;
  if (timeoutMs > 0) {
    deadline = new CallDeadline(timeoutMs, arrivedAt, sink.signal, () => call.expire());
    if (deadline.expired) {
      core.stats.countDeadlineExceeded(head.methodName);
      const message = deadlineExceededMessage(timeoutMs);
      answerAtOnce(core, sink, head, head.methodName, frame.length, arrivedAt, flowId,
        encodeFrame(amendRpcHead(responseHead, { err: SrpcCode.Timeout, errMsg: message }), EMPTY), SrpcCode.Timeout);
      return FrameResult.Answered;
    }
  }
  const ctx = new ServerCallContext(
    "binary",
    head.methodName,
    head.caller ?? "",
    flowId,
    head.coloring ?? 0,
    sink.peer,
    sink.signal,
    core.jsonWriteOptions,
    core.logger,
    deadline,
  );
  const call = new SrpcCall(core, sink, responseHead, ctx, deadline, arrivedAt, frame.length);
  core.stats.inFlight++;
  deadline?.start();
  try {
    const result = method.invoke({ format: "binary", bytes: view(frame, headEnd, bodyLen) }, ctx);
    if (isPromiseLike(result)) whenSettled(result, (r) => call.handlerReturned(r), (e) => call.handlerThrew(e), core.logger);
    else call.handlerReturned(result);
  } catch (e) {
    call.handlerThrew(e);
  }
  return FrameResult.Started;
}

/** Sends an answer decided before any handler ran (unknown method, deadline already passed), counting and logging it. */
function answerAtOnce(
  core: ServerCore,
  sink: FrameSink,
  head: RpcHead,
  label: string,
  bytesIn: number,
  arrivedAt: number,
  flowId: bigint,
  response: Uint8Array,
  code: number,
): void {
  sink.sendFrame(response);
  sink.recordLatency(core.stats.countRequest(label, sink.transport, code), arrivedAt);
  core.accessLog?.write({
    method: head.methodName,
    caller: head.caller ?? "",
    peer: sink.peer,
    transport: sink.transport,
    format: "binary",
    code,
    arrivedAt,
    bytesIn,
    bytesOut: response.length,
    flowId,
  });
}

/** The response bytes of a binary answer; `undefined` for anything else (reading it may throw). */
function binaryBytes(response: ResponseBody): Uint8Array | undefined {
  return response?.format === "binary" && response.bytes instanceof Uint8Array ? response.bytes : undefined;
}

class SrpcCall {
  /** Whether the call was answered; a call is answered once, whatever its handler does. */
  private answered = false;
  /** Whether the handler returned or threw. */
  private handlerDone = false;
  /** Whether the call gave back its in-flight place (answered and handler done). */
  private released = false;

  constructor(
    private readonly core: ServerCore,
    private readonly sink: FrameSink,
    private readonly responseHead: Uint8Array,
    private readonly ctx: ServerCallContext,
    private readonly deadline: CallDeadline | undefined,
    /** `performance.now()` of the frame's first byte. */
    private readonly arrivedAt: number,
    /** Size of the request frame (for the access log). */
    private readonly bytesIn: number,
  ) {}

  handlerReturned(response: ResponseBody): void {
    try {
      this.complete(response);
    } finally {
      this.handlerFinished();
    }
  }

  handlerThrew(e: unknown): void {
    try {
      this.fail(e);
    } finally {
      this.handlerFinished();
    }
  }

  /** The deadline passed before the handler finished: answer -10 now; the handler's result will be dropped. */
  expire(): void {
    if (this.answered) return;
    this.core.stats.countDeadlineExceeded(this.ctx.method);
    this.answerFailure({ code: SrpcCode.Timeout, message: deadlineExceededMessage(this.deadline!.timeoutMs) });
  }

  private complete(response: ResponseBody): void {
    if (this.answered) return;
    let bytes: Uint8Array | undefined;
    try {
      bytes = binaryBytes(response);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (bytes === undefined) {
      this.answerFailure(wrongFormat(this.ctx.method, this.ctx.log));
      return;
    }
    this.answered = true;
    this.sink.sendResponse(this.responseHead, bytes);
    this.sink.recordLatency(this.core.stats.countSuccess(this.ctx.method, this.sink.transport), this.arrivedAt);
    if (this.core.accessLog !== undefined) this.logAccess(0, FRAME_OVERHEAD + this.responseHead.length + bytes.length);
    this.done();
  }

  private fail(e: unknown): void {
    if (this.answered) return;
    this.answerFailure(failureOf(e, this.ctx.method, this.ctx.log));
  }

  private answerFailure({ code, message }: { code: number; message: string }): void {
    if (this.answered) return;
    this.answered = true;
    const head = amendRpcHead(
      this.responseHead,
      message === errorText(code) ? { err: code } : { err: code, errMsg: message },
    );
    const frame = encodeFrame(head, EMPTY);
    this.sink.sendFrame(frame);
    this.sink.recordLatency(this.core.stats.countRequest(this.ctx.method, this.sink.transport, code), this.arrivedAt);
    if (this.core.accessLog !== undefined) this.logAccess(code, frame.length);
    this.done();
  }

  private logAccess(code: number, bytesOut: number): void {
    this.core.accessLog!.write({
      method: this.ctx.method,
      caller: this.ctx.caller,
      peer: this.sink.peer,
      transport: this.sink.transport,
      format: "binary",
      code,
      arrivedAt: this.arrivedAt,
      bytesIn: this.bytesIn,
      bytesOut,
      flowId: this.ctx.flowId,
    });
  }

  private handlerFinished(): void {
    this.handlerDone = true;
    this.deadline?.stop();
    this.done();
  }

  /** Gives back the call's place once it is answered and its handler has finished, whichever comes last. */
  private done(): void {
    if (!this.answered || !this.handlerDone || this.released) return;
    this.released = true;
    this.core.stats.inFlight--;
    this.sink.callFinished();
  }
}
