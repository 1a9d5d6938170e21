/**
 * SRPC over UDP on the server's port number (spec §1.9): one frame per
 * datagram, answered to the sender. A datagram that is not exactly one
 * complete frame is dropped and counted — there is no connection to close.
 */
import type { RemoteInfo, Socket as UdpSocket } from "node:dgram";
import { checkFrame, encodeFrame } from "../frame.js";
import type { HistogramSeries } from "../monitor.js";
import type { ServerCore } from "./core.js";
import { FrameResult, type FrameSink, handleFrame } from "./srpc-call.js";

/** Largest datagram answered: MSEC's 64 KiB UDP buffers; IPv4 carries at most 65,507 payload bytes. */
export const MAX_UDP_FRAME_BYTES = 64 * 1024;

/** Replies to one datagram's sender. */
class DatagramSink implements FrameSink {
  readonly transport = "udp" as const;
  readonly peer: string;

  constructor(
    private readonly socket: UdpSocket,
    private readonly rinfo: RemoteInfo,
    readonly signal: AbortSignal,
    private readonly onFinished: () => void,
  ) {
    this.peer = `${rinfo.address}:${rinfo.port}`;
  }

  sendFrame(frame: Uint8Array): void {
    // A reply that cannot be sent (too big for a datagram, peer gone) is lost, as UDP replies are.
    this.socket.send(frame, this.rinfo.port, this.rinfo.address, ignoreSendError);
  }

  sendResponse(head: Uint8Array, body: Uint8Array): void {
    this.sendFrame(encodeFrame(head, body));
  }

  callFinished(): void {
    this.onFinished();
  }

  recordLatency(series: HistogramSeries, arrivedAt: number): void {
    series.observe((performance.now() - arrivedAt) / 1000);
  }
}

/** Handles one datagram; `onFinished` runs when a started call has been answered. */
export function handleDatagram(
  core: ServerCore,
  socket: UdpSocket,
  msg: Buffer,
  rinfo: RemoteInfo,
  signal: AbortSignal,
  onStarted: () => void,
  onFinished: () => void,
): void {
  if (core.draining) return; // shutting down: new calls are not taken
  if (msg.length > MAX_UDP_FRAME_BYTES || checkFrame(msg) !== msg.length) {
    core.stats.malformed.udp++;
    return;
  }
  onStarted();
  const result = handleFrame(core, msg, new DatagramSink(socket, rinfo, signal, onFinished), performance.now());
  if (result !== FrameResult.Started) onFinished();
  if (result === FrameResult.Malformed) core.stats.malformed.udp++;
}

function ignoreSendError(): void {}
