/**
 * The deadline a caller sent with a call (msec-gen extension, spec §14):
 * `CRpcHead.timeout_ms` (field 70) or the HTTP header `X-Msec-Timeout-Ms`,
 * counted from the arrival of the request's first byte. When it passes
 * before the handler finishes, the call's own abort signal fires (so the
 * handler and the downstream calls made with its context stop) and the
 * server answers -10 "deadline exceeded (timeout_ms=N)" — the caller has
 * given up; the answer only keeps the connection's bookkeeping in order.
 */
import { setMaxListeners } from "node:events";
import { MAX_TIMEOUT_MS } from "../client/call-options.js";

/** HTTP request header carrying the caller's budget in ms (same meaning as `timeout_ms`). */
export const TIMEOUT_HEADER = "x-msec-timeout-ms";

/** Largest `timeout_ms` (uint32). */
const MAX_UINT32 = 0xffffffff;

/** `err_msg` of the -10 answer sent when a call's deadline passes. */
export function deadlineExceededMessage(timeoutMs: number): string {
  return `deadline exceeded (timeout_ms=${timeoutMs})`;
}

/**
 * The budget of an `X-Msec-Timeout-Ms` value: a decimal uint32, 0 = none.
 * Anything else (sign, spaces inside, letters, > 2^32 - 1) is ignored like an
 * absent header — a malformed optional hint must not fail the call.
 */
export function parseTimeoutHeader(value: string | undefined): number {
  if (value === undefined) return 0;
  const text = value.trim();
  if (!/^[0-9]{1,10}$/.test(text)) return 0;
  const n = Number(text);
  return n <= MAX_UINT32 ? n : 0;
}

/**
 * Lets a connection's (or the server's) abort signal have a listener per call
 * with a deadline without Node's "possible EventTarget memory leak" warning:
 * each listener is removed when its call ends.
 */
export function allowManyCallListeners(signal: AbortSignal): void {
  setMaxListeners(0, signal);
}

/**
 * One call's deadline: the timer that expires it and its abort signal. Every
 * call from an msec-gen caller has one, so the hot path is one object and one
 * timer: the abort controller is made only when the handler reads `signal`.
 */
export class CallDeadline {
  private controller: AbortController | undefined;
  private listening = false;
  private fired = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Deadline on the `performance.now()` clock, which does not jump with the wall clock. */
  private readonly due: number;
  private readonly onParentAbort = () => this.controller!.abort(this.parent.reason);

  /**
   * @param timeoutMs the caller's budget (> 0)
   * @param arrivedAt `performance.now()` when the request's first byte arrived
   * @param parent the connection's signal (client gone, shutdown)
   * @param onExpire runs once when the deadline passes, before the signal fires
   */
  constructor(
    readonly timeoutMs: number,
    arrivedAt: number,
    private readonly parent: AbortSignal,
    private readonly onExpire: () => void,
  ) {
    this.due = arrivedAt + timeoutMs;
  }

  /** Absolute deadline, `Date.now()` scale (what `CallContext.deadline` says). */
  get deadline(): number {
    return Date.now() + (this.due - performance.now());
  }

  /** The signal handlers see: aborted at the deadline, or when the connection's signal aborts. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.fired) {
        this.controller.abort(new DeadlineExceededError(this.timeoutMs));
      } else if (this.parent.aborted) {
        this.controller.abort(this.parent.reason);
      } else if (!this.stopped) {
        this.parent.addEventListener("abort", this.onParentAbort, { once: true });
        this.listening = true;
      }
    }
    return this.controller.signal;
  }

  /** True when the deadline has already passed (e.g. the request waited in the backlog). */
  get expired(): boolean {
    return performance.now() >= this.due;
  }

  /** Arms the timer; `stop()` disarms it. */
  start(): void {
    this.arm();
  }

  /** The call is over: no timer, no listener on the connection's signal. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.listening) {
      this.parent.removeEventListener("abort", this.onParentAbort);
      this.listening = false;
    }
  }

  private arm(): void {
    // A Node timer holds at most MAX_TIMEOUT_MS (~24.8 days); longer budgets re-arm.
    const left = Math.min(Math.max(1, Math.ceil(this.due - performance.now())), MAX_TIMEOUT_MS);
    this.timer = setTimeout(fireDeadline, left, this);
  }

  /** The timer fired: re-arm if it was cut short, else expire. */
  fire(): void {
    this.timer = undefined;
    if (this.stopped) return;
    if (!this.expired) {
      this.arm();
      return;
    }
    this.fired = true;
    this.onExpire();
    const controller = this.controller;
    this.stop();
    controller?.abort(new DeadlineExceededError(this.timeoutMs));
  }
}

function fireDeadline(d: CallDeadline): void {
  d.fire();
}

/** The abort reason of a call whose deadline passed. */
export class DeadlineExceededError extends Error {
  constructor(readonly timeoutMs: number) {
    super(deadlineExceededMessage(timeoutMs));
    this.name = "DeadlineExceededError";
  }
}
