/**
 * The optional access log (`ServerOptions.accessLog`, `[LOG] access_log=1`):
 * one JSON line per answered call, with the same fields and order as the
 * Python server (docs/metrics.md):
 *
 *     {"time":"…","msg":"access","method":"echo.EchoService.Echo","caller":"c","peer":"127.0.0.1:5000",
 *      "transport":"tcp","format":"binary","code":0,"latency_ms":0.184,"bytes_in":42,"bytes_out":40,"flow_id":"7"}
 *
 * `bytes_in`/`bytes_out` count whole SRPC frames (TCP and UDP) and HTTP
 * bodies (request body, response envelope). `latency_ms` runs from the
 * request's first byte to the answer being handed to the socket. Lines are
 * written whatever the log level: an access log that is on logs every call.
 */
import type { Transport } from "./stats.js";

export interface AccessRecord {
  /** The method name as requested (also when unknown). */
  method: string;
  caller: string;
  peer: string;
  transport: Transport;
  format: "binary" | "json";
  code: number;
  /** `performance.now()` of the request's first byte. */
  arrivedAt: number;
  bytesIn: number;
  bytesOut: number;
  /** The call's flow id (0 when an unanswerable SRPC head carried none). */
  flowId: bigint | number;
}

/** Writes access lines to a stream. */
export class AccessLog {
  constructor(
    private readonly destination: NodeJS.WritableStream,
    private readonly now: () => Date = () => new Date(),
  ) {}

  write(record: AccessRecord): void {
    const latencyMs = Math.round((performance.now() - record.arrivedAt) * 1000) / 1000;
    const line = {
      time: this.now().toISOString(),
      msg: "access",
      method: record.method,
      caller: record.caller,
      peer: record.peer,
      transport: record.transport,
      format: record.format,
      code: record.code,
      latency_ms: Math.max(0, latencyMs),
      bytes_in: record.bytesIn,
      bytes_out: record.bytesOut,
      flow_id: String(record.flowId),
    };
    this.destination.write(JSON.stringify(line) + "\n");
  }
}
