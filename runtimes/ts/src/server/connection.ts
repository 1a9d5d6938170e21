/**
 * One accepted TCP connection. The first byte decides the protocol for the
 * connection's life: `(` (0x28) is SRPC, an ASCII capital letter A–Z is
 * HTTP/1.1 (every method token starts with one, spec §3.1); any other first
 * byte closes the connection at once (counted as malformed).
 *
 * Flow control, per connection: at most `maxInFlightPerConnection` calls run
 * at once — further requests wait in order and the socket is paused (never
 * dropped) until calls finish; the socket is also paused while more than
 * `maxPendingOutputBytes` of answers wait for the peer to read them.
 * Answers produced in the same tick go out in one write.
 *
 * Hostile input: a frame or HTTP request must be complete within
 * `requestTimeoutMs` of its first byte (bytes arriving do not extend it);
 * bad input closes only this connection, after answering the complete
 * requests that came before it. A peer that half-closes (sends its request,
 * then FIN) still gets its answers, then the connection closes.
 *
 * Deadlines (spec §14): each request is stamped with the arrival time of its
 * first byte; a caller's `timeout_ms` / `X-Msec-Timeout-Ms` counts from there,
 * time spent waiting in the backlog included.
 */
import type { Socket } from "node:net";
import { FRAME_ETX, FRAME_HEAD_OFFSET, FRAME_OVERHEAD, FRAME_STX, FrameDecoder, FrameStreamError, encodeFrame } from "../frame.js";
import type { HistogramSeries } from "../monitor.js";
import type { ServerCore } from "./core.js";
import { type HttpSink, handleHttpRequest } from "./http-call.js";
import { type HttpRequest, HttpParseError, HttpRequestParser } from "./http-request.js";
import { plainResponse } from "./json-envelope.js";
import { allowManyCallListeners } from "./call-deadline.js";
import { describeError } from "./outcome.js";
import { FrameResult, type FrameSink, handleFrame } from "./srpc-call.js";

/** Below this many bytes, answers of one tick are concatenated into one write; above, written as a batch (writev). */
const COALESCE_MAX_BYTES = 64 * 1024;
/** How long a connection the server has ended may linger waiting for the peer's FIN. */
const CLOSE_LINGER_MS = 2000;

const enum Mode {
  Unknown,
  Srpc,
  Http,
}

const HTTP_REASONS: Record<number, string> = {
  400: "Bad Request",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
};

export class Connection implements FrameSink, HttpSink {
  readonly transport = "tcp" as const;
  readonly peer: string;
  private readonly abortController = new AbortController();
  private mode = Mode.Unknown;
  private frames: FrameDecoder | undefined;
  private http: HttpRequestParser | undefined;
  private inFlight = 0;
  /** Requests received while `maxInFlightPerConnection` calls were running, with their arrival times. */
  private backlog: Queued[] = [];
  /** Queued output: complete chunks, or SRPC frame bodies whose head is at the same index of `outHeads`. */
  private out: Uint8Array[] = [];
  private outHeads: Array<Uint8Array | undefined> = [];
  private outBytes = 0;
  private flushScheduled = false;
  /**
   * Latency histograms and arrival times of the SRPC answers queued since the
   * last flush: observed at the flush, with one clock read for all of them.
   */
  private latencySeries: HistogramSeries[] = [];
  private latencyArrivals: number[] = [];
  private writeBlocked = false;
  private paused = false;
  private draining = false;
  private closed = false;
  /** HTTP: answers by slot, written strictly in slot order. */
  private httpAnswers = new Map<number, Buffer>();
  private httpNextSlot = 0;
  private httpWriteSlot = 0;
  /** HTTP: slot after which the connection closes (Connection: close, parse error); -1 = none. */
  private httpLastSlot = -1;
  /** HTTP: the last request to answer was received; later bytes are ignored. */
  private httpClosing = false;
  /** Close once everything received is answered: the peer half-closed, or sent bad bytes after good requests. */
  private closeWhenAnswered = false;
  /** When the request being received began (`performance.now()`), while one is incomplete. */
  private requestStartedAt = 0;
  private requestTimer: NodeJS.Timeout | undefined;
  /** `performance.now()` of the first byte of the request being received; 0 between requests. */
  private pendingSince = 0;
  /** While a chunk is handled: arrival of the first request it completes, and of the others. */
  private firstArrival = 0;
  private chunkArrival = 0;

  constructor(
    private readonly core: ServerCore,
    private readonly socket: Socket,
    private readonly onClosed: (conn: Connection) => void,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    allowManyCallListeners(this.abortController.signal);
    socket.setNoDelay(true);
    socket.setTimeout(core.limits.idleTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("timeout", () => this.onIdle());
    socket.on("end", () => this.onPeerEnd());
    socket.on("error", () => {
      // 'close' follows; a reset peer is not the server's problem.
    });
    socket.on("close", () => this.onClose());
    socket.on("drain", () => {
      this.writeBlocked = false;
      this.updateReading();
    });
  }

  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  /** True when nothing is running, queued or unsent. */
  get idle(): boolean {
    return this.inFlight === 0 && this.backlog.length === 0 && this.out.length === 0;
  }

  /** Stop reading new requests; finish what was received, then close. */
  beginDrain(): void {
    if (this.draining) return;
    this.draining = true;
    this.updateReading();
    this.closeIfDrained();
  }

  /** Close now, aborting running calls (drain timeout passed). */
  destroy(): void {
    this.abortController.abort();
    this.socket.destroy();
  }

  /** The peer sent FIN: nothing more will arrive. Answer what was received, then close. */
  private onPeerEnd(): void {
    this.stopRequestTimer();
    if (this.closed) return;
    this.closeWhenAnswered = true;
    this.closeIfDrained();
  }

  // ---------------------------------------------------------------- input

  private onData(chunk: Buffer): void {
    if (this.closed || this.closeWhenAnswered) return;
    try {
      const completed = this.consume(chunk);
      this.trackRequestDeadline(completed);
    } catch (e) {
      // A bug of ours must cost one connection, never the process.
      this.core.logger.error("connection failed while handling input; closing it", {
        peer: this.peer,
        error: describeError(e),
      });
      this.malformed();
    }
  }

  /** True while a frame or HTTP request has begun arriving and is not complete. */
  private get receiving(): boolean {
    if (this.mode === Mode.Srpc) return this.frames!.pendingBytes > 0;
    if (this.mode === Mode.Http) return !this.httpClosing && this.http!.inProgress;
    return false;
  }

  /**
   * Starts the `requestTimeoutMs` clock when a request is incomplete after a
   * read, keeps it running while the same request keeps arriving, and stops
   * it once nothing is incomplete. `completed` tells whether requests were
   * completed in this read (then an incomplete one is a new request).
   */
  private trackRequestDeadline(completed: boolean): void {
    const timeout = this.core.limits.requestTimeoutMs;
    if (timeout === 0 || this.closed) return;
    if (!this.receiving || this.closeWhenAnswered) {
      this.stopRequestTimer();
      return;
    }
    if (this.requestStartedAt === 0 || completed) this.requestStartedAt = performance.now();
    if (this.requestTimer === undefined) this.armRequestTimer(timeout);
  }

  private armRequestTimer(delayMs: number): void {
    this.requestTimer = setTimeout(onRequestTimer, Math.max(1, Math.ceil(delayMs)), this);
    this.requestTimer.unref();
  }

  private stopRequestTimer(): void {
    this.requestStartedAt = 0;
    if (this.requestTimer !== undefined) {
      clearTimeout(this.requestTimer);
      this.requestTimer = undefined;
    }
  }

  /** The request timer fired: close if the request being received is past its deadline. */
  checkRequestDeadline(): void {
    this.requestTimer = undefined;
    if (this.closed || !this.receiving) {
      this.requestStartedAt = 0;
      return;
    }
    const timeout = this.core.limits.requestTimeoutMs;
    if (this.paused) {
      // We stopped reading (calls running, peer not reading answers): the rest cannot arrive; not the sender's delay.
      this.requestStartedAt = performance.now();
      this.armRequestTimer(timeout);
      return;
    }
    const left = this.requestStartedAt + timeout - performance.now();
    if (left > 0) {
      this.armRequestTimer(left);
      return;
    }
    this.core.stats.timeouts[this.mode === Mode.Http ? "http" : "tcp"]++;
    this.closed = true;
    this.backlog = [];
    this.socket.destroy();
  }

  /** Handles a chunk; returns whether it completed at least one request. */
  private consume(chunk: Buffer): boolean {
    const now = performance.now();
    // The first request completed by this chunk began when the one in progress did; the others began now.
    this.firstArrival = this.pendingSince !== 0 ? this.pendingSince : now;
    this.chunkArrival = now;
    const completed = this.consumeChunk(chunk);
    this.pendingSince = !this.closed && this.receiving ? (completed || this.pendingSince === 0 ? now : this.pendingSince) : 0;
    return completed;
  }

  private consumeChunk(chunk: Buffer): boolean {
    if (this.mode === Mode.Unknown) {
      const first = chunk[0]!;
      if (first === FRAME_STX) {
        this.mode = Mode.Srpc;
        this.frames = new FrameDecoder({ maxFrameBytes: this.core.limits.maxFrameBytes });
      } else if (first < 0x41 || first > 0x5a) {
        // Not `(` and not a capital letter: neither SRPC nor an HTTP method.
        this.malformed();
        return false;
      } else {
        this.mode = Mode.Http;
        this.http = new HttpRequestParser(
          { maxHeaderBytes: this.core.limits.maxHttpHeaderBytes, maxBodyBytes: this.core.limits.maxFrameBytes },
          () => this.sendContinue(),
        );
      }
    }
    return this.mode === Mode.Srpc ? this.onSrpcData(chunk) : this.onHttpData(chunk);
  }

  private onSrpcData(chunk: Buffer): boolean {
    let frames: Uint8Array[];
    let broken = false;
    try {
      frames = this.frames!.push(chunk);
    } catch (e) {
      if (!(e instanceof FrameStreamError) || e.frames.length === 0) {
        this.malformed();
        return false;
      }
      // Good frames, then bad bytes: answer the frames, then close.
      this.core.stats.malformed.tcp++;
      frames = e.frames;
      broken = true;
    }
    for (let i = 0; i < frames.length; i++) {
      if (this.closed) return true;
      const frame = frames[i]!;
      const arrivedAt = i === 0 ? this.firstArrival : this.chunkArrival;
      if (this.backlog.length > 0 || this.inFlight >= this.core.limits.maxInFlightPerConnection) {
        this.backlog.push({ item: frame, arrivedAt });
      } else {
        this.startFrame(frame, arrivedAt);
      }
    }
    if (broken && !this.closed) {
      this.closeWhenAnswered = true;
      this.closeIfDrained();
    }
    this.updateReading();
    return frames.length > 0;
  }

  private startFrame(frame: Uint8Array, arrivedAt: number): void {
    // Counted before the call runs: a synchronous method finishes inside handleFrame.
    this.inFlight++;
    const result = handleFrame(this.core, frame, this, arrivedAt);
    if (result !== FrameResult.Started) this.inFlight--;
    if (result === FrameResult.Malformed) this.malformed();
  }

  private onHttpData(chunk: Buffer): boolean {
    if (this.httpClosing) return false; // closing after an earlier answer; ignore the rest
    let requests: HttpRequest[];
    let parseError: HttpParseError | undefined;
    try {
      requests = this.http!.push(chunk);
    } catch (e) {
      parseError = e instanceof HttpParseError ? e : new HttpParseError(400, "bad request");
      // The requests completed before the bad bytes are answered first.
      requests = parseError.completed;
    }
    const completed = requests.length > 0;
    const items: Array<HttpRequest | HttpParseError> = requests;
    if (parseError !== undefined) {
      this.core.stats.malformed.http++;
      items.push(parseError);
    }
    for (let i = 0; i < items.length; i++) {
      if (this.httpClosing) break;
      const item = items[i]!;
      const arrivedAt = i === 0 ? this.firstArrival : this.chunkArrival;
      // A parse error or `Connection: close` is the last request this connection answers.
      if (item instanceof HttpParseError || !item.keepAlive) this.httpClosing = true;
      if (this.backlog.length > 0 || this.inFlight >= this.core.limits.maxInFlightPerConnection) {
        this.backlog.push({ item, arrivedAt });
      } else {
        this.startHttp(item, arrivedAt);
      }
    }
    this.updateReading();
    return completed;
  }

  /** Interim `100 Continue`, only when every earlier answer is out (it must not overtake them). */
  private sendContinue(): void {
    if (this.httpWriteSlot === this.httpNextSlot && this.out.length === 0 && !this.closed) {
      this.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
  }

  /** Reserves the next answer slot; `last` marks it as the final answer on this connection. */
  private reserveHttpSlot(last: boolean): number {
    const slot = this.httpNextSlot++;
    if (last) this.httpLastSlot = slot;
    return slot;
  }

  private startHttp(req: HttpRequest | HttpParseError, arrivedAt: number): void {
    if (req instanceof HttpParseError) {
      // Answer the bad request in its turn, then close.
      const slot = this.reserveHttpSlot(true);
      this.respond(
        slot,
        plainResponse(
          req.status,
          HTTP_REASONS[req.status] ?? "Bad Request",
          "text/plain; charset=utf-8",
          `${req.message}\n`,
          "Connection: close\r\n",
        ),
      );
      return;
    }
    const slot = this.reserveHttpSlot(!req.keepAlive);
    this.inFlight++;
    const started = handleHttpRequest(this.core, req, slot, this, arrivedAt);
    if (!started) this.inFlight--;
  }

  private startQueued(): void {
    const max = this.core.limits.maxInFlightPerConnection;
    while (this.backlog.length > 0 && this.inFlight < max && !this.closed) {
      const { item, arrivedAt } = this.backlog.shift()!;
      if (item instanceof Uint8Array) this.startFrame(item, arrivedAt);
      else this.startHttp(item, arrivedAt);
    }
  }

  // ---------------------------------------------------------------- output

  sendFrame(frame: Uint8Array): void {
    this.queue(frame, undefined);
  }

  sendResponse(head: Uint8Array, body: Uint8Array): void {
    this.queue(body, head);
  }

  recordLatency(series: HistogramSeries, arrivedAt: number): void {
    if (!this.flushScheduled) {
      // Nothing queued (the connection closed): the answer went nowhere; its latency ends now.
      series.observe((performance.now() - arrivedAt) / 1000);
      return;
    }
    this.latencySeries.push(series);
    this.latencyArrivals.push(arrivedAt);
  }

  /** Observes the latencies of the answers being written, reading the clock once. */
  private observeLatencies(): void {
    const now = performance.now();
    const series = this.latencySeries;
    const arrivals = this.latencyArrivals;
    for (let i = 0; i < series.length; i++) series[i]!.observe((now - arrivals[i]!) / 1000);
    series.length = 0;
    arrivals.length = 0;
  }

  respond(slot: number, response: Buffer): void {
    this.httpAnswers.set(slot, response);
    for (;;) {
      const next = this.httpAnswers.get(this.httpWriteSlot);
      if (next === undefined) break;
      this.httpAnswers.delete(this.httpWriteSlot);
      this.queue(next, undefined);
      if (this.httpWriteSlot === this.httpLastSlot) {
        this.flush();
        this.socket.end();
        this.closed = true;
        this.stopRequestTimer();
        return;
      }
      this.httpWriteSlot++;
    }
  }

  callFinished(): void {
    this.inFlight--;
    if (this.backlog.length > 0) this.startQueued();
    this.updateReading();
    this.closeIfDrained();
  }

  private queue(bytes: Uint8Array, head: Uint8Array | undefined): void {
    if (this.closed) return;
    this.out.push(bytes);
    this.outHeads.push(head);
    this.outBytes += head === undefined ? bytes.length : FRAME_OVERHEAD + head.length + bytes.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the current tick's microtasks: answers of async methods resolved together share a write.
      process.nextTick(flushConnection, this);
    }
  }

  /**
   * Writes everything queued: up to `COALESCE_MAX_BYTES`, all frames are
   * built straight into one buffer (one allocation, one write); above it,
   * each goes out as its own chunk of one corked batch (writev), so large
   * bodies are not copied twice.
   */
  flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    const heads = this.outHeads;
    const total = this.outBytes;
    this.out = [];
    this.outHeads = [];
    this.outBytes = 0;
    if (this.latencySeries.length > 0) this.observeLatencies();
    if (out.length === 0 || this.socket.destroyed) return;
    let ok: boolean;
    if (out.length === 1 && heads[0] === undefined) {
      ok = this.socket.write(out[0]!);
    } else if (total <= COALESCE_MAX_BYTES) {
      const buf = Buffer.allocUnsafe(total);
      let pos = 0;
      for (let i = 0; i < out.length; i++) {
        const head = heads[i];
        pos = head === undefined ? copyInto(buf, pos, out[i]!) : writeFrameInto(buf, pos, head, out[i]!);
      }
      ok = this.socket.write(buf);
    } else {
      this.socket.cork();
      ok = true;
      for (let i = 0; i < out.length; i++) {
        const head = heads[i];
        ok = this.socket.write(head === undefined ? out[i]! : encodeFrame(head, out[i]!)) && ok;
      }
      this.socket.uncork();
    }
    // `write` returns false above the socket's 16 KiB high-water mark; reading stops only
    // above maxPendingOutputBytes, and resumes on 'drain' (everything written out).
    if (!ok && this.socket.writableLength > this.core.limits.maxPendingOutputBytes) {
      this.writeBlocked = true;
      this.updateReading();
    }
    this.closeIfDrained();
  }

  // ---------------------------------------------------------------- lifecycle

  private updateReading(): void {
    if (this.closed) return;
    const stop =
      this.draining ||
      this.writeBlocked ||
      this.backlog.length > 0 ||
      this.inFlight >= this.core.limits.maxInFlightPerConnection;
    if (stop && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!stop && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private closeIfDrained(): void {
    if ((this.draining || this.closeWhenAnswered) && !this.closed && this.idle && !this.flushScheduled) {
      this.closed = true;
      this.stopRequestTimer();
      this.socket.end();
      // Read (and drop) what the peer still sends so its FIN is seen and 'close' fires: a
      // paused socket would never close and shutdown would wait for its drain timeout. A peer
      // that neither closes nor stops sending is cut after a short linger.
      this.socket.resume();
      setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
    }
  }

  private malformed(): void {
    this.core.stats.malformed.tcp++;
    this.closed = true;
    this.backlog = [];
    this.stopRequestTimer();
    this.socket.destroy();
  }

  private onIdle(): void {
    if (this.inFlight > 0 || this.backlog.length > 0) return; // busy, not idle; the timer re-arms
    this.core.stats.idleClosed++;
    this.closed = true;
    this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    this.stopRequestTimer();
    this.backlog = [];
    this.abortController.abort();
    this.onClosed(this);
  }
}

/** A request waiting for a free in-flight place, with the arrival time of its first byte. */
interface Queued {
  readonly item: Uint8Array | HttpRequest | HttpParseError;
  readonly arrivedAt: number;
}

function copyInto(buf: Buffer, pos: number, bytes: Uint8Array): number {
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/** Writes one SRPC frame at `pos` (same layout as `encodeFrame`); returns the position after it. */
function writeFrameInto(buf: Buffer, pos: number, head: Uint8Array, body: Uint8Array): number {
  buf[pos] = FRAME_STX;
  buf.writeInt32BE(head.length, pos + 1);
  buf.writeInt32BE(body.length, pos + 5);
  buf.set(head, pos + FRAME_HEAD_OFFSET);
  const bodyAt = pos + FRAME_HEAD_OFFSET + head.length;
  buf.set(body, bodyAt);
  buf[bodyAt + body.length] = FRAME_ETX;
  return bodyAt + body.length + 1;
}

function flushConnection(conn: Connection): void {
  conn.flush();
}

function onRequestTimer(conn: Connection): void {
  conn.checkRequestDeadline();
}
