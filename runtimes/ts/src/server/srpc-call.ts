/**
 * One SRPC call: a complete frame in, a frame out (spec §1.7). The response
 * head is the request head byte for byte — amended only to fill a missing
 * flow id on success, or to add `err` (and `err_msg` when the message is not
 * the code's standard text) on failure. Shared by TCP connections and UDP.
 */
import { SrpcCode, errorText } from "../errors.js";
import { FRAME_HEAD_OFFSET, encodeFrame, view } from "../frame.js";
import type { ResponseBody } from "../handler.js";
import { type RpcHead, amendRpcHead, decodeRpcHead, newSequence } from "../rpc-head.js";
import { ServerCallContext } from "./call-context.js";
import type { ServerCore } from "./core.js";
import { failureOf, isPromiseLike, wrongFormat } from "./outcome.js";
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

/** Handles one complete, framing-checked frame (STX, lengths and ETX already verified). */
export function handleFrame(core: ServerCore, frame: Uint8Array, sink: FrameSink): FrameResult {
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
    core.stats.countRequest(UNKNOWN_METHOD_LABEL, sink.transport, SrpcCode.InvalidMethodName);
    sink.sendFrame(encodeFrame(amendRpcHead(headBytes, { err: SrpcCode.InvalidMethodName }), EMPTY));
    return FrameResult.Answered;
  }
  let flowId = head.flowId;
  let responseHead = headBytes;
  if (flowId === undefined || flowId === 0n) {
    flowId = newSequence();
    responseHead = amendRpcHead(headBytes, { flowId });
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
  );
  const call = new SrpcCall(core, sink, responseHead, ctx);
  core.stats.inFlight++;
  let result: ResponseBody | PromiseLike<ResponseBody>;
  try {
    result = method.invoke({ format: "binary", bytes: view(frame, headEnd, bodyLen) }, ctx);
  } catch (e) {
    call.fail(e);
    return FrameResult.Started;
  }
  if (isPromiseLike(result)) {
    result.then(
      (r) => call.complete(r),
      (e: unknown) => call.fail(e),
    );
  } else {
    call.complete(result);
  }
  return FrameResult.Started;
}

class SrpcCall {
  constructor(
    private readonly core: ServerCore,
    private readonly sink: FrameSink,
    private readonly responseHead: Uint8Array,
    private readonly ctx: ServerCallContext,
  ) {}

  complete(response: ResponseBody): void {
    if (response?.format !== "binary") {
      this.answerFailure(wrongFormat(this.ctx.method, this.ctx.log));
      return;
    }
    this.sink.sendResponse(this.responseHead, response.bytes);
    this.core.stats.countSuccess(this.ctx.method, this.sink.transport);
    this.done();
  }

  fail(e: unknown): void {
    this.answerFailure(failureOf(e, this.ctx.method, this.ctx.log));
  }

  private answerFailure({ code, message }: { code: number; message: string }): void {
    const head = amendRpcHead(
      this.responseHead,
      message === errorText(code) ? { err: code } : { err: code, errMsg: message },
    );
    this.sink.sendFrame(encodeFrame(head, EMPTY));
    this.core.stats.countRequest(this.ctx.method, this.sink.transport, code);
    this.done();
  }

  private done(): void {
    this.core.stats.inFlight--;
    this.sink.callFinished();
  }
}
