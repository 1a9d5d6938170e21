/**
 * The per-call `CallContext` the server hands to methods. Built for every
 * request, so it is a plain class whose logger is made on first use: most
 * calls never log, and a child logger per call would cost more than the call.
 */
import type { JsonWriteOptions } from "@bufbuild/protobuf";
import type { CallContext, WireFormat } from "../handler.js";
import type { Logger } from "../log.js";
import type { CallDeadline } from "./call-deadline.js";

/** JSON write options of the MSEC-compatible default: proto field names, enums as numbers. */
export const MSEC_JSON_WRITE_OPTIONS: Readonly<Partial<JsonWriteOptions>> = Object.freeze({
  useProtoFieldName: true,
  enumAsInteger: true,
});

/** JSON write options of canonical ProtoJSON (the server's `canonicalJson` option). */
export const CANONICAL_JSON_WRITE_OPTIONS: Readonly<Partial<JsonWriteOptions>> = Object.freeze({});

export class ServerCallContext implements CallContext {
  private childLog: Logger | undefined;

  constructor(
    readonly format: WireFormat,
    readonly method: string,
    readonly caller: string,
    readonly flowId: bigint,
    readonly coloring: number,
    readonly peer: string,
    /** The connection's (or UDP socket's) signal: client gone, shutdown past its drain timeout. */
    private readonly connectionSignal: AbortSignal,
    readonly jsonWriteOptions: Partial<JsonWriteOptions>,
    private readonly serverLog: Logger,
    /** From `timeout_ms` / `X-Msec-Timeout-Ms` (spec §14); undefined when the caller sent none. */
    private readonly callDeadline?: CallDeadline,
  ) {}

  get deadline(): number {
    return this.callDeadline === undefined ? Infinity : this.callDeadline.deadline;
  }

  get signal(): AbortSignal {
    return this.callDeadline === undefined ? this.connectionSignal : this.callDeadline.signal;
  }

  get log(): Logger {
    return (this.childLog ??= this.serverLog.child({
      flowId: this.flowId,
      method: this.method,
      caller: this.caller,
      coloring: this.coloring,
      peer: this.peer,
    }));
  }
}
