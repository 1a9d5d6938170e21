/**
 * SRPC over UDP for `ip:port@udp` routes: one frame per datagram each way
 * (spec §1.1, §1.9), a socket per call, the reply matched by sequence.
 */
import { createSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import { SrpcCode, SrpcError } from "../errors.js";
import { decodeFrame, encodeFrame } from "../frame.js";
import { newSequence } from "../rpc-head.js";
import { SrpcCallError } from "./call-error.js";
import { type RequestHead, requestHead } from "./request-frame.js";

/** Largest request frame sent over UDP: the IPv4 UDP payload limit (MSEC receive buffers are 64 KiB). */
export const MAX_UDP_FRAME_BYTES = 65507;

/**
 * Sends one request datagram and resolves with the reply body. -10 when no
 * reply arrives in time, -16 for a reply with another sequence, -3/-4 for a
 * datagram that is not a frame, -13 when the send fails or the port is
 * unreachable, the server's code when `err ≠ 0`.
 */
export function callUdp(
  host: string,
  port: number,
  address: string,
  head: RequestHead,
  body: Uint8Array,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const sequence = newSequence();
  const frame = encodeFrame(requestHead(head, sequence), body);
  if (frame.length > MAX_UDP_FRAME_BYTES) {
    return Promise.reject(
      new SrpcCallError(SrpcCode.ParaError, `request frame of ${frame.length} bytes exceeds the UDP limit of ${MAX_UDP_FRAME_BYTES}`, {
        address,
        requestSent: false,
      }),
    );
  }
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? "udp6" : "udp4");
    let sent = false;
    let settled = false;
    const finish = (err: SrpcCallError | undefined, reply?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const onAbort = () => finish(new SrpcCallError(SrpcCode.Timeout, `call aborted (${address})`, { address, requestSent: sent }));
    const timer = setTimeout(
      () => finish(new SrpcCallError(SrpcCode.Timeout, `no reply from ${address} within ${timeoutMs} ms`, { address, requestSent: sent })),
      timeoutMs,
    );
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.on("error", (err: NodeJS.ErrnoException) =>
      finish(new SrpcCallError(SrpcCode.SendRecvFailed, `${address}: ${err.code ?? err.message}`, { address, requestSent: sent })),
    );
    socket.on("message", (msg: Buffer) => {
      let decoded;
      try {
        decoded = decodeFrame(msg);
      } catch (err) {
        const code = err instanceof SrpcError ? err.code : SrpcCode.InvalidPkg;
        finish(new SrpcCallError(code, `datagram from ${address}: ${(err as Error).message}`, { address, requestSent: true }));
        return;
      }
      const { head: replyHead, body: replyBody } = decoded;
      if (replyHead.sequence !== sequence) {
        finish(
          new SrpcCallError(SrpcCode.InvalidSequence, `reply carries sequence ${replyHead.sequence}, expected ${sequence} (${address})`, {
            address,
            requestSent: true,
          }),
        );
        return;
      }
      const err = replyHead.err ?? 0;
      if (err !== 0) finish(new SrpcCallError(err, replyHead.errMsg, { address, requestSent: true, fromServer: true }));
      else finish(undefined, replyBody);
    });
    socket.connect(port, host, () => {
      socket.send(frame, (err) => {
        if (err) finish(new SrpcCallError(SrpcCode.SendRecvFailed, `${address}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { address, requestSent: false }));
        else sent = true;
      });
    });
  });
}
