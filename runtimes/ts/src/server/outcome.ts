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

export function failureOf(e: unknown, method: string, log: Logger): Failure {
  if (isSrpcError(e) && e.code !== 0) return { code: e.code, message: e.message };
  log.error("method failed with an exception", {
    method,
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
  });
  return { code: SrpcCode.ServiceImplFailed, message: errorText(SrpcCode.ServiceImplFailed) };
}

/** Failure for a method that answered in the wrong format (a programming error in generated code). */
export function wrongFormat(method: string, log: Logger): Failure {
  return failureOf(new Error(`method ${method} returned a response in the wrong format`), method, log);
}

/** True when `value` is a thenable: the method answered asynchronously. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
