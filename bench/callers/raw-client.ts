/**
 * The raw baseline of `npm run bench:callers`: a pipelined SRPC client on
 * plain `node:net` — one connection, `--concurrency` calls in flight, one
 * pre-encoded frame per in-flight slot (its sequence = slot + 1), replies
 * matched by the sequence read from the head and bodies not decoded (as
 * bench/echo's `srpc` load client, for `conformance.ConformanceService.Echo`).
 * Runs `--warmup` seconds (discarded), then `--seconds` (measured); prints
 * one JSON line `{"calls","errors","seconds","p50_ms","p99_ms"}` — the
 * observation a runner's `load` step gives.
 *
 *   node dist/bench/bench/callers/raw-client.js --port P [--host H] [--concurrency 64] [--seconds 10] [--warmup 2] [--payload 100]
 */
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { colorId, encodeFrame } from "@msec-gen/runtime";
import { createLatencyHistogram, latencyQuantile, recordLatency } from "../latency.js";

export const CONFORMANCE_ECHO_METHOD = "conformance.ConformanceService.Echo";

/** `conformance.EchoRequest{text}` with `payload` ASCII letters (field 1, length-delimited; payload < 128 bytes keeps the length one byte). */
export function encodeConformanceRequest(payload: number): Uint8Array {
  if (payload > 127) throw new RangeError(`--payload ${payload}: at most 127 bytes`);
  const body = new Uint8Array(2 + payload);
  body[0] = 0x0a;
  body[1] = payload;
  for (let i = 0; i < payload; i++) body[2 + i] = 0x61 + (i % 26);
  return body;
}

/** Sequence of a reply: CRpcHead field 10 (tag 0x50) is written first. */
function frameSequence(frame: Buffer): number {
  if (frame[9] !== 0x50) return -1;
  let value = 0;
  let scale = 1;
  for (let at = 10; at < frame.length; at++) {
    const byte = frame[at]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
  return -1;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      concurrency: { type: "string", default: "64" },
      seconds: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      payload: { type: "string", default: "100" },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`--port ${values.port}: not a port`);
  const concurrency = Number(values.concurrency);
  const body = encodeConformanceRequest(Number(values.payload));
  const color = colorId(CONFORMANCE_ECHO_METHOD);
  const frames = Array.from({ length: concurrency }, (_, slot) => {
    const sequence = BigInt(slot + 1);
    return Buffer.from(encodeFrame({ sequence, methodName: CONFORMANCE_ECHO_METHOD, coloring: 0, colorId: color, flowId: color ^ sequence, caller: "bench.raw" }, body));
  });
  const histogram = createLatencyHistogram();
  const sentAt = new Float64Array(concurrency);
  let measuring = false;
  let running = true;
  let calls = 0;
  let errors = 0;

  const socket = connect({ host: values.host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.on("error", (e) => {
    process.stderr.write(`raw-client: ${e.message}\n`);
    process.exit(1);
  });
  let pending: Buffer | undefined;
  socket.on("data", (chunk: Buffer) => {
    const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    let at = 0;
    socket.cork();
    while (buf.length - at >= 9) {
      const total = 10 + buf.readInt32BE(at + 1) + buf.readInt32BE(at + 5);
      if (buf.length - at < total) break;
      const reply = buf.subarray(at, at + total);
      at += total;
      const slot = frameSequence(reply) - 1;
      // An error reply has an empty body (spec §1.7); an echo reply carries at least the text.
      const good = slot >= 0 && slot < concurrency && reply.readInt32BE(5) > body.length - 2;
      if (measuring) {
        if (good) {
          calls++;
          recordLatency(histogram, performance.now() - sentAt[slot]!);
        } else {
          errors++;
        }
      }
      if (running && slot >= 0 && slot < concurrency) {
        sentAt[slot] = performance.now();
        socket.write(frames[slot]!);
      }
    }
    socket.uncork();
    if (at < buf.length) pending = buf.subarray(at);
  });
  for (let slot = 0; slot < concurrency; slot++) {
    sentAt[slot] = performance.now();
    socket.write(frames[slot]!);
  }
  await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
  measuring = false;
  running = false;
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  process.stdout.write(
    JSON.stringify({ calls, errors, seconds, p50_ms: latencyQuantile(histogram, 0.5), p99_ms: latencyQuantile(histogram, 0.99) }) + "\n",
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`raw-client: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
