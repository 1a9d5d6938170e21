/**
 * Turning what a method threw into an SRPC code: an `SrpcError` keeps its
 * code and message; anything else is -18 (service implement failed) and is
 * logged, never rethrown — one failing handler must not take the server down.
 */
import { SrpcCode, errorText } from "../errors.js";
import type { Logger } from "../log.js";

export interface Failure {
  code: number;
  message: string;
}

/**
 * Recognises `SrpcError` by shape rather than `instanceof`, so an error from a
 * second copy of the runtime (e.g. generated code resolving another install)
 * still keeps its code.
 */
function isSrpcError(e: unknown): e is Error & { code: number } {
  return e instanceof Error && e.name === "SrpcError" && Number.isInteger((e as { code?: unknown }).code);
}

const implFailed: Failure = { code: SrpcCode.ServiceImplFailed, message: errorText(SrpcCode.ServiceImplFailed) };

/**
 * Text of anything thrown, for a log line; never throws itself. `String(e)`
 * throws for `Object.create(null)` and for objects whose `toString` throws,
 * and reading `stack` may run a getter that throws.
 */
export function describeError(e: unknown): string {
  try {
    if (e instanceof Error) {
      const text = e.stack ?? e.message;
      return typeof text === "string" ? text : Object.prototype.toString.call(e);
    }
    if (typeof e === "symbol") return e.toString();
    return String(e);
  } catch {
    try {
      return Object.prototype.toString.call(e);
    } catch {
      return "(an unprintable value)";
    }
  }
}

export function failureOf(e: unknown, method: string, log: Logger): Failure {
  try {
    if (isSrpcError(e) && e.code !== 0) {
      const message = e.message;
      if (typeof message === "string") return { code: e.code, message };
    }
  } catch {
    // An error-like value whose properties throw: treated as any other failure.
  }
  try {
    log.error("method failed with an exception", { method, error: describeError(e) });
  } catch {
    // Logging must not turn a failed call into an unanswered one.
  }
  return implFailed;
}

/** Failure for a method that answered in the wrong format (a programming error in generated code). */
export function wrongFormat(method: string, log: Logger): Failure {
  return failureOf(new Error(`method ${method} returned a response in the wrong format`), method, log);
}

/** True when `value` is a thenable: the method answered asynchronously. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/**
 * Runs `complete` or `fail` once `result` settles. A rejection with any value
 * (an Error or not) goes to `fail`; nothing escapes as an unhandled
 * rejection, even if `complete` or `fail` throw, or `result` is a thenable
 * whose `then` throws.
 */
export function whenSettled<T>(
  result: PromiseLike<T>,
  complete: (value: T) => void,
  fail: (e: unknown) => void,
  log: Logger,
): void {
  Promise.resolve(result)
    .then(complete, fail)
    .then(undefined, (e: unknown) => {
      try {
        log.error("answering a call failed", { error: describeError(e) });
      } catch {
        // nothing left to do
      }
    });
}
