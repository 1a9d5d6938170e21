/**
 * The echo load generator: a separate process, so its work never shares a
 * core's event loop with the server under test. Keeps `--concurrency` calls
 * in flight against one server for `--warmup` seconds (discarded), then
 * `--duration` seconds (measured), and prints one JSON line with the result.
 *
 * Clients, each as lean as its protocol allows:
 * - `srpc`: raw `node:net`, all calls pipelined on one connection (or spread
 *   over `--connections N`, for the servers with several workers), one
 *   pre-encoded frame per in-flight slot (its sequence = slot + 1), replies
 *   matched by the sequence read straight from the head, bodies not decoded.
 * - `ceiling`: raw `node:net`, 4-byte big-endian length prefix, one
 *   pre-encoded request, replies matched in order (the server answers in order).
 * - `grpc`: a `@grpc/grpc-js` client, one HTTP/2 connection, concurrent unary
 *   calls with a pre-encoded request and an identity deserializer.
 * - `connect`: a `@connectrpc/connect-node` client with the Connect protocol,
 *   binary format, over HTTP/2; `connect-grpc`: the same client with the gRPC
 *   protocol. (Connect's client always encodes and decodes messages itself.)
 */
import { connect, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { encodeFrame } from "@msec-gen/runtime";
import { colorId } from "@msec-gen/runtime";
import { createLatencyHistogram, latencyQuantile, recordLatency, resetLatency } from "../latency.js";
import { EchoRequestSchema, EchoResponseSchema, EchoService } from "../../examples/echo/gen/echo_pb.js";
import { DEFAULT_PAYLOAD_BYTES, ECHO_METHOD, encodeEchoRequest } from "./payload.js";

export const LOAD_PROTOCOLS = ["srpc", "ceiling", "grpc", "connect", "connect-grpc"] as const;
export type LoadProtocol = (typeof LOAD_PROTOCOLS)[number];

/** What `load.ts` prints as its last line. */
export interface LoadResult {
  protocol: LoadProtocol;
  concurrency: number;
  payloadBytes: number;
  /** Calls answered correctly during the measured window. */
  requests: number;
  /** Calls answered wrongly (error, wrong size) during the measured window. */
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU time the load generator used during the measured window, as a share of one core (1 = saturated). */
  loadCpu: number;
}

/** Lines `load.ts` prints when the measured window opens and closes, so the orchestrator can sample the server's CPU time. */
export const PHASE_MEASURE = '{"phase":"measure"}';
export const PHASE_DONE = '{"phase":"done"}';

interface LoadOptions {
  protocol: LoadProtocol;
  host: string;
  port: number;
  concurrency: number;
  /** SRPC only: connections the in-flight calls are spread over (default 1). */
  connections: number;
  payloadBytes: number;
  warmupMs: number;
  durationMs: number;
}

/** One run's bookkeeping, shared by every client kind. */
interface Meter {
  /** True between the end of the warm-up and the end of the measurement. */
  measuring: boolean;
  /** True until the measurement ends; clients stop issuing calls after. */
  running: boolean;
  ok: number;
  errors: number;
  histogram: ReturnType<typeof createLatencyHistogram>;
}

function complete(meter: Meter, startedAt: number, good: boolean): void {
  if (!meter.measuring) return;
  if (good) {
    meter.ok++;
    recordLatency(meter.histogram, performance.now() - startedAt);
  } else {
    meter.errors++;
  }
}

function openSocket(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Reads a varint at `at` (values up to 2^53; enough for our sequences). Returns [value, next offset]. */
function readVarint(buf: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = buf[at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 128;
  }
}

/** Sequence of a frame: CRpcHead field 10 (tag 0x50) comes first, fields are written in number order. */
function frameSequence(frame: Uint8Array): number {
  return frame[9] === 0x50 ? readVarint(frame, 10)[0] : -1;
}

/**
 * Runs a pipelined raw-TCP client. `frames[i]` is slot i's request, written
 * again as soon as its reply arrives; `frameLength` tells the length of the
 * reply starting at `at` (0 while its prefix is incomplete); `onReply` names a
 * reply's slot (-1: unmatched) and whether it is good.
 */
async function runRawTcp(
  o: LoadOptions,
  meter: Meter,
  frames: Buffer[],
  frameLength: (buf: Buffer, at: number) => number,
  onReply: (reply: Buffer) => { slot: number; good: boolean },
): Promise<() => void> {
  const socket = await openSocket(o.host, o.port);
  const sentAt = new Float64Array(frames.length);
  let pending: Buffer | undefined;
  socket.on("data", (chunk: Buffer) => {
    const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    let at = 0;
    socket.cork();
    for (;;) {
      const total = frameLength(buf, at);
      if (total <= 0 || buf.length - at < total) break;
      const { slot, good } = onReply(buf.subarray(at, at + total));
      at += total;
      if (slot < 0 || slot >= frames.length) {
        if (meter.measuring) meter.errors++;
        continue;
      }
      complete(meter, sentAt[slot]!, good);
      if (meter.running) {
        sentAt[slot] = performance.now();
        socket.write(frames[slot]!);
      }
    }
    socket.uncork();
    if (at < buf.length) pending = buf.subarray(at);
  });
  socket.on("error", (err) => {
    console.error(`load: ${err.message}`);
    process.exit(1);
  });
  socket.cork();
  for (let slot = 0; slot < frames.length; slot++) {
    sentAt[slot] = performance.now();
    socket.write(frames[slot]!);
  }
  socket.uncork();
  return () => socket.destroy();
}

/** Size of the echo reply body for a request body (what a correct server sends back). */
function replyBodyBytes(requestBody: Uint8Array): number {
  const request = fromBinary(EchoRequestSchema, requestBody);
  return toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: request.message })).length;
}

/** `--concurrency` calls over `--connections` connections, each with its share of the slots pipelined. */
async function startSrpc(o: LoadOptions, meter: Meter): Promise<() => void> {
  const body = encodeEchoRequest(o.payloadBytes);
  const expectedBody = replyBodyBytes(body);
  const color = colorId(ECHO_METHOD);
  const stops: (() => void)[] = [];
  for (let c = 0; c < o.connections; c++) {
    const slots = Math.floor(o.concurrency / o.connections) + (c < o.concurrency % o.connections ? 1 : 0);
    const frames: Buffer[] = [];
    for (let slot = 0; slot < slots; slot++) {
      const sequence = BigInt(slot + 1);
      const head = { sequence, methodName: ECHO_METHOD, coloring: 0, colorId: color, flowId: color ^ sequence, caller: "bench.load" };
      frames.push(Buffer.from(encodeFrame(head, body)));
    }
    stops.push(
      await runRawTcp(
        o,
        meter,
        frames,
        (buf, at) => (buf.length - at < 9 ? 0 : 10 + buf.readInt32BE(at + 1) + buf.readInt32BE(at + 5)),
        // An error reply has an empty body (spec §1.7), so the body length tells good from bad.
        (reply) => ({ slot: frameSequence(reply) - 1, good: reply.readInt32BE(5) === expectedBody }),
      ),
    );
  }
  return () => {
    for (const stop of stops) stop();
  };
}

function startCeiling(o: LoadOptions, meter: Meter): Promise<() => void> {
  const body = encodeEchoRequest(o.payloadBytes);
  const expectedBody = replyBodyBytes(body);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, 4);
  const frames = Array.from({ length: o.concurrency }, () => frame);
  // The server answers in order and each slot is rewritten at the back of the
  // queue as soon as it is answered, so reply n belongs to slot n mod concurrency.
  let replies = 0;
  return runRawTcp(
    o,
    meter,
    frames,
    (buf, at) => (buf.length - at < 4 ? 0 : 4 + buf.readUInt32BE(at)),
    (reply) => ({ slot: replies++ % o.concurrency, good: reply.length - 4 === expectedBody }),
  );
}

async function startGrpc(o: LoadOptions, meter: Meter): Promise<() => void> {
  const request = Buffer.from(encodeEchoRequest(o.payloadBytes));
  const expectedBody = replyBodyBytes(request);
  const client = new grpc.Client(`${o.host}:${o.port}`, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 5000, (err) => (err ? reject(err) : resolve())),
  );
  const identity = (b: Buffer) => b;
  const worker = () => {
    const startedAt = performance.now();
    client.makeUnaryRequest<Buffer, Buffer>("/echo.EchoService/Echo", identity, identity, request, (err, reply) => {
      complete(meter, startedAt, !err && reply !== undefined && reply.length === expectedBody);
      if (meter.running) worker();
    });
  };
  for (let i = 0; i < o.concurrency; i++) worker();
  return () => client.close();
}

async function startConnect(o: LoadOptions, meter: Meter, protocol: "connect" | "grpc"): Promise<() => void> {
  const baseUrl = `http://${o.host}:${o.port}`;
  const transport =
    protocol === "connect"
      ? createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true })
      : createGrpcTransport({ baseUrl });
  const client = createClient(EchoService, transport);
  const request = fromBinary(EchoRequestSchema, encodeEchoRequest(o.payloadBytes));
  const worker = async () => {
    while (meter.running) {
      const startedAt = performance.now();
      try {
        const reply = await client.echo(request);
        complete(meter, startedAt, reply.message.length === o.payloadBytes);
      } catch {
        complete(meter, startedAt, false);
      }
    }
  };
  const workers = Array.from({ length: o.concurrency }, worker);
  return () => {
    void Promise.allSettled(workers);
  };
}

function start(o: LoadOptions, meter: Meter): Promise<() => void> {
  switch (o.protocol) {
    case "srpc":
      return startSrpc(o, meter);
    case "ceiling":
      return startCeiling(o, meter);
    case "grpc":
      return startGrpc(o, meter);
    case "connect":
      return startConnect(o, meter, "connect");
    case "connect-grpc":
      return startConnect(o, meter, "grpc");
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs warm-up then measurement and returns the figures. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const meter: Meter = { measuring: false, running: true, ok: 0, errors: 0, histogram: createLatencyHistogram() };
  const stop = await start(o, meter);
  await sleep(o.warmupMs);
  resetLatency(meter.histogram);
  meter.ok = 0;
  meter.errors = 0;
  process.stdout.write(`${PHASE_MEASURE}\n`);
  meter.measuring = true;
  const began = performance.now();
  const cpuBefore = process.cpuUsage();
  await sleep(o.durationMs);
  meter.measuring = false;
  const seconds = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(`${PHASE_DONE}\n`);
  meter.running = false;
  stop();
  return {
    protocol: o.protocol,
    concurrency: o.concurrency,
    payloadBytes: o.payloadBytes,
    requests: meter.ok,
    errors: meter.errors,
    seconds,
    rps: meter.ok / seconds,
    p50Ms: latencyQuantile(meter.histogram, 0.5),
    p99Ms: latencyQuantile(meter.histogram, 0.99),
    maxMs: meter.histogram.maxMs,
    loadCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

function connectionCount(text: string, concurrency: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > concurrency) throw new Error(`--connections must be a whole number from 1 to --concurrency, got ${text}`);
  return n;
}

function parseLoadArgs(argv: string[]): LoadOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      protocol: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      concurrency: { type: "string", default: "64" },
      connections: { type: "string", default: "1" },
      payload: { type: "string", default: String(DEFAULT_PAYLOAD_BYTES) },
      warmup: { type: "string", default: "5" },
      duration: { type: "string", default: "10" },
    },
  });
  const protocol = values.protocol as LoadProtocol;
  if (!LOAD_PROTOCOLS.includes(protocol)) throw new Error(`--protocol must be one of ${LOAD_PROTOCOLS.join(", ")}`);
  if (values.port === undefined) throw new Error("--port is required");
  return {
    protocol,
    host: values.host,
    port: Number(values.port),
    concurrency: Number(values.concurrency),
    connections: connectionCount(values.connections, Number(values.concurrency)),
    payloadBytes: Number(values.payload),
    warmupMs: Number(values.warmup) * 1000,
    durationMs: Number(values.duration) * 1000,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runLoad(parseLoadArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Connect/gRPC keep HTTP/2 sessions open for a while; the result is out, so leave now.
  process.exit(0);
}
