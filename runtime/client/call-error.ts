/**
 * The error every client call rejects with: an `SrpcError` (so `code` is the
 * SRPC code) that also says which address was called and whether the request
 * could have reached the server — a retry policy may resend a request that
 * was never sent.
 */
import { SrpcError, errorText } from "../errors.js";

export class SrpcCallError extends SrpcError {
  /** `ip:port` called (the service name when the failure is not tied to one address). */
  readonly address: string;
  /** False when the request certainly did not reach the server (e.g. connection refused). */
  readonly requestSent: boolean;

  constructor(code: number, detail: string | undefined, address: string, requestSent: boolean) {
    super(code, detail === undefined ? errorText(code) : `${errorText(code)}: ${detail}`);
    this.name = "SrpcCallError";
    this.address = address;
    this.requestSent = requestSent;
  }
}
