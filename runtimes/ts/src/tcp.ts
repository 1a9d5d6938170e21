/**
 * Calls to heterogeneous (non-SRPC) TCP services (the seed's
 * `callmethod_tcp`): connect, send the request, read until a completeness
 * function says the reply is whole. One connection per call, as MSEC's Python
 * and PHP callers did — these services define their own framing, so a
 * connection cannot be assumed reusable.
 */
import { connect } from "node:net";
import { SrpcCode } from "./errors.js";
import { callBudgetMs } from "./client/call-options.js";
import { SrpcCallError, toCallError } from "./client/call-error.js";
import { getRoute, updateRoute } from "./route/index.js";
import { routeAddress } from "./route/literal.js";

/**
 * Completeness check over everything received so far: `< 0` the reply is
 * malformed, `0` more bytes are needed, `> 0` the reply's total length.
 */
export type IsComplete = (received: Uint8Array) => number;

export interface TcpCallOptions {
  /** Whole-call budget including connecting; default `DEFAULT_TIMEOUT_MS` (800). */
  timeoutMs?: number;
  /** Aborts the call (rejects with -10 "call aborted"). */
  signal?: AbortSignal;
}

/** First receive buffer size; it doubles as needed (as MSEC's TCP clients grow theirs). */
const INITIAL_RECEIVE_BYTES = 64 * 1024;

/**
 * Sends `request` to `serviceOrAddr` (a literal `ip:port` or a routing name)
 * and resolves with the first `isComplete(…) > 0` bytes of the reply.
 * Rejects with `SrpcCallError`: -15 no route; -13 connection refused/reset or
 * the peer closed before the reply was complete; -3 `isComplete` returned < 0
 * or threw; -10 timeout with nothing received, -12 timeout with part of the
 * reply received. Outcomes of routed calls are reported with `updateRoute`.
 */
export async function callTcp(
  serviceOrAddr: string,
  request: Uint8Array,
  isComplete: IsComplete,
  options: TcpCallOptions = {},
): Promise<Uint8Array> {
  const timeoutMs = callBudgetMs(options);
  let route;
  try {
    route = await getRoute(serviceOrAddr);
  } catch (err) {
    throw toCallError(err, { address: serviceOrAddr, requestSent: false });
  }
  const address = routeAddress(route);
  const started = performance.now();
  try {
    const reply = await exchange(route.ip, route.port, address, request, isComplete, timeoutMs, options.signal);
    updateRoute(serviceOrAddr, address, 0, Math.round(performance.now() - started));
    return reply;
  } catch (err) {
    if (!options.signal?.aborted) updateRoute(serviceOrAddr, address, 1, 0);
    throw err;
  }
}

function exchange(
  host: string,
  port: number,
  address: string,
  request: Uint8Array,
  isComplete: IsComplete,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.allocUnsafe(INITIAL_RECEIVE_BYTES);
    let received = 0;
    let connected = false;
    let settled = false;
    const socket = connect({ host, port });
    socket.setNoDelay(true);

    const finish = (err: SrpcCallError | undefined, reply?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const onAbort = () => finish(new SrpcCallError(SrpcCode.Timeout, `call aborted (${address})`, { address, requestSent: connected }));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => {
      finish(
        received > 0
          ? new SrpcCallError(SrpcCode.RecvTimeout, `${received} bytes of the reply from ${address} after ${timeoutMs} ms`, { address, requestSent: true })
          : new SrpcCallError(SrpcCode.Timeout, `no reply from ${address} within ${timeoutMs} ms`, { address, requestSent: connected }),
      );
    }, timeoutMs);

    socket.on("connect", () => {
      connected = true;
      socket.write(request);
    });
    socket.on("data", (chunk: Buffer) => {
      if (received + chunk.length > buf.length) {
        let size = buf.length * 2;
        while (size < received + chunk.length) size *= 2;
        const grown = Buffer.allocUnsafe(size);
        buf.copy(grown, 0, 0, received);
        buf = grown;
      }
      chunk.copy(buf, received);
      received += chunk.length;
      let n: number;
      try {
        n = isComplete(buf.subarray(0, received));
      } catch (err) {
        finish(new SrpcCallError(SrpcCode.InvalidPkg, `reply check failed: ${(err as Error).message}`, { address, requestSent: true }));
        return;
      }
      if (n < 0) {
        finish(new SrpcCallError(SrpcCode.InvalidPkg, `reply from ${address} rejected by the completeness check (${n})`, { address, requestSent: true }));
      } else if (n > 0 && n <= received) {
        finish(undefined, buf.subarray(0, n));
      }
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      finish(new SrpcCallError(SrpcCode.SendRecvFailed, `${address}: ${err.code ?? err.message}`, { address, requestSent: connected }));
    });
    socket.on("close", () => {
      finish(
        new SrpcCallError(
          SrpcCode.SendRecvFailed,
          `peer ${address} closed the connection after ${received} bytes of the reply`,
          { address, requestSent: connected },
        ),
      );
    });
  });
}
