/**
 * The contract between the server runtime and generated service code.
 *
 * The runtime owns sockets, framing, the HTTP/JSON edge, limits and the
 * envelope; generated code owns decoding the request body (protobuf or JSON),
 * calling the user's typed handler and encoding the response. They meet only
 * through the types in this file.
 */
import type { JsonValue, JsonWriteOptions } from "@bufbuild/protobuf";
import type { Logger } from "./log.js";

/** How a request arrived: an SRPC frame (protobuf body) or HTTP POST with a JSON body. */
export type WireFormat = "binary" | "json";

/** Per-call facts handed to every handler. */
export interface CallContext {
  /** Format of the request; the response is written in the same format. */
  readonly format: WireFormat;
  /** Full wire method name, e.g. `crawl.CrawlService.GetMP3List`. */
  readonly method: string;
  /** Caller name from `CRpcHead.caller` or the HTTP `caller` header (default `http.json`). */
  readonly caller: string;
  /** End-to-end request id (`CRpcHead.flow_id`), propagated to downstream calls. */
  readonly flowId: bigint;
  /** `CRpcHead.coloring`: 1 forces logging at every level along the call chain. */
  readonly coloring: number;
  /**
   * Absolute deadline in ms since the epoch (Date.now() scale): the arrival of
   * the request's first byte + the caller's `timeout_ms` (SRPC head field 70)
   * or `X-Msec-Timeout-Ms` header; Infinity when the caller sent none. Calls
   * made with `{ context: ctx }` get at most the time left.
   */
  readonly deadline: number;
  /** Remote peer address `ip:port`. */
  readonly peer: string;
  /** Logger that stamps every line with flow id, method and caller, honouring colouring. */
  readonly log: Logger;
  /**
   * Aborted when the client goes away, the server shuts down past its drain
   * timeout, or `deadline` passes (the call is then already answered -10 and
   * whatever the handler returns is dropped). Calls made with
   * `{ context: ctx }` are aborted with it.
   */
  readonly signal: AbortSignal;
  /**
   * How JSON responses are written. Default (MSEC-compatible): proto field
   * names and enums as numbers; the server's `canonicalJson` option switches to
   * canonical ProtoJSON (lowerCamel names, enum names).
   */
  readonly jsonWriteOptions: Partial<JsonWriteOptions>;
}

/** Request body as delivered to a method: bytes for binary, text for JSON. */
export type RequestBody =
  | { readonly format: "binary"; readonly bytes: Uint8Array }
  | { readonly format: "json"; readonly text: string };

/**
 * Encoded response: bytes for binary requests; for JSON requests the
 * `resultObj` value as a JSON tree (e.g. from `toJson`). The runtime writes it
 * into the MSEC envelope `{"ret":0, "errmsg":"", "resultObj": …}` with MSEC's
 * separators (`": "`, `", "`).
 */
export type ResponseBody =
  | { readonly format: "binary"; readonly bytes: Uint8Array }
  | { readonly format: "json"; readonly json: JsonValue };

/** One dispatchable method, registered under its full wire name. */
export interface MethodDefinition {
  /** Full wire method name `package.Service.Method` (exact, case-sensitive). */
  readonly name: string;
  /**
   * Decode `body`, run the user's handler, encode the result.
   * Throw an `SrpcError` to answer with a specific SRPC code; any other
   * exception answers -18 (service implement failed) and is logged.
   * Generated code throws `SrpcError(-5)` (binary) or `SrpcError(-3)` (JSON)
   * when the request cannot be decoded.
   */
  invoke(body: RequestBody, ctx: CallContext): ResponseBody | Promise<ResponseBody>;
}

/** Anything methods can be registered with (the server's dispatcher). */
export interface MethodRegistry {
  register(method: MethodDefinition): void;
}
