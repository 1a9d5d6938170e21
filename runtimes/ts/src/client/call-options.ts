/**
 * Options of one client call and how they fill the request head (spec §1.6).
 */
import type { CallContext } from "../handler.js";

/**
 * Default call timeout: 800 ms, as MSEC's C++ `CallMethod` (server-to-server
 * calls; the Python client's 5000 ms is for scripts — pass `timeoutMs`).
 */
export const DEFAULT_TIMEOUT_MS = 800;

/** Caller name when nothing else names one. */
export const DEFAULT_CALLER = "node.client";

/** Environment variable naming this process's service (`Group.Service`), used as the caller name. */
export const SERVICE_NAME_ENV = "MSEC_SERVICE_NAME";

export interface CallOptions {
  /** Budget for the call in ms; default `DEFAULT_TIMEOUT_MS` (800), capped by `context`'s deadline. */
  timeoutMs?: number;
  /** `CRpcHead.caller`; see `callerName`. */
  caller?: string;
  /** `CRpcHead.coloring` (1 = log this call chain at every level); default inherited from `context`, else 0. */
  coloring?: number;
  /** `CRpcHead.flow_id`; default inherited from `context`, else `color_id XOR sequence`. */
  flowId?: bigint;
  /**
   * The incoming call this call is made for: its flow id, colouring, the
   * remaining time to its deadline and its abort signal carry over.
   */
  context?: CallContext;
  /** Aborts the call; it rejects with -10 "call aborted" and is not reported to the balancer. */
  signal?: AbortSignal;
  /**
   * Routing names only: how many more picks to try when a connection is
   * refused — the one failure where the request certainly never reached a
   * server, so retrying cannot run it twice. Default 0 (MSEC never retries).
   * Other failures are never retried. All attempts share the call's budget.
   */
  retries?: number;
  /**
   * Whether the request head carries `timeout_ms` (field 70, an msec-gen
   * extension): the call's remaining budget when the request is written, so
   * the server and its downstream calls stop when this caller gives up.
   * Default true. MSEC peers skip the field; `false` writes a head
   * byte-identical to an MSEC client's (for captures compared byte for byte,
   * or a peer that rejects unknown fields).
   */
  sendTimeout?: boolean;
}

/**
 * A client's default options with one call's options over them: the same
 * options as `{ ...defaults, ...options }`, without making an object when
 * one side is empty (a generated client calls this on every call, and most
 * clients have no defaults or most calls no options). The result may be
 * `defaults` or `options` itself; the client never changes it.
 */
export function withDefaults(defaults: CallOptions, options: CallOptions | undefined): CallOptions {
  if (options === undefined) return defaults;
  for (const _ in defaults) return { ...defaults, ...options };
  return options;
}

let processCaller: string | undefined;

/** Names this process for outgoing calls (a server calls it with its `Group.Service`). */
export function setDefaultCaller(name: string | undefined): void {
  processCaller = name;
}

/** `$MSEC_SERVICE_NAME` as last read, and when (reading `process.env` costs about a microsecond, too much per call). */
let envCaller = DEFAULT_CALLER;
let envCallerReadAt = -Infinity;
/** `$MSEC_SERVICE_NAME` is read again at most this often. */
export const SERVICE_NAME_RECHECK_MS = 1000;

/**
 * `CRpcHead.caller` of a call: `options.caller`, else the name given to
 * `setDefaultCaller` (the server's service name), else `$MSEC_SERVICE_NAME`
 * (read again at most once a second), else `"node.client"`. `now`:
 * `performance.now()` if the caller has just read it.
 */
export function callerName(options: CallOptions, now?: number): string {
  const named = options.caller ?? processCaller;
  if (named !== undefined) return named;
  now ??= performance.now();
  if (now - envCallerReadAt >= SERVICE_NAME_RECHECK_MS) {
    envCaller = process.env[SERVICE_NAME_ENV] || DEFAULT_CALLER;
    envCallerReadAt = now;
  }
  return envCaller;
}

/** Longest timeout a Node timer can hold (~24.8 days); longer budgets, including Infinity, are cut to it. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Milliseconds the call may take: the option (or default), capped by the
 * context's remaining time and by `MAX_TIMEOUT_MS`. Throws `RangeError` for a
 * timeout that is not a positive number.
 */
export function callBudgetMs(options: { timeoutMs?: number; context?: CallContext }, now?: number): number {
  const requested = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(requested > 0)) throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${requested}`);
  const own = Math.min(requested, MAX_TIMEOUT_MS);
  const deadline = options.context?.deadline;
  if (deadline === undefined || deadline === Infinity) return own;
  return Math.min(own, Math.max(0, deadline - (now ?? Date.now())));
}

/** The abort signals that apply to a call (its own and its context's). */
export function callSignal(options: CallOptions): AbortSignal | undefined {
  const own = options.signal;
  const inherited = options.context?.signal;
  if (own && inherited) return AbortSignal.any([own, inherited]);
  return own ?? inherited;
}
