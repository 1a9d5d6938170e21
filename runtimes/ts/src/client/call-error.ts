/**
 * The error every client call rejects with: an `SrpcError` (so `code` is the
 * SRPC code) that also says which address was called, whether the request
 * could have reached the server — a retry policy may resend a request that
 * was never sent — and whether the code came from the server's reply.
 */
import { SrpcError, errorText } from "../errors.js";

export interface CallErrorFacts {
  /** `ip:port` called (the service name when the failure is not tied to one address). */
  address: string;
  /** False when the request certainly did not reach the server (e.g. connection refused). */
  requestSent: boolean;
  /** True when the server answered with this code in `CRpcHead.err`. */
  fromServer?: boolean;
}

export class SrpcCallError extends SrpcError {
  readonly address: string;
  readonly requestSent: boolean;
  readonly fromServer: boolean;

  /** The message is the code's MSEC text, followed by `: detail` when there is one. */
  constructor(code: number, detail: string | undefined, facts: CallErrorFacts) {
    super(code, detail === undefined || detail === "" ? errorText(code) : `${errorText(code)}: ${detail}`);
    this.name = "SrpcCallError";
    this.address = facts.address;
    this.requestSent = facts.requestSent;
    this.fromServer = facts.fromServer ?? false;
  }
}

/** `err` as an `SrpcCallError` with the same code and message (e.g. a routing failure), or `err` itself. */
export function toCallError(err: unknown, facts: CallErrorFacts): unknown {
  if (!(err instanceof SrpcError) || err instanceof SrpcCallError) return err;
  const converted = new SrpcCallError(err.code, undefined, facts);
  converted.message = err.message;
  return converted;
}
