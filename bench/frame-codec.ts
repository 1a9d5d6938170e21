/**
 * Frame codec micro-benchmark (`npm run bench:frame`): how many SRPC frames
 * with a 100-byte body the runtime encodes and decodes per second on one core,
 * and proof that decoding a 1 MiB body does not copy it (the decoded body is a
 * view into the input: same `ArrayBuffer`, at the body's offset).
 *
 * Flags: `--duration S` (measured seconds per case, default 3), `--warmup S`
 * (default 1), `--body BYTES` (default 100). Prints a table, then one JSON line
 * whose rates are each case's best slice.
 */
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { FrameDecoder, decodeFrame, encodeFrame } from "@msec-gen/runtime";
import { encodeRpcHead, type RpcHead } from "@msec-gen/runtime";
import { colorId } from "@msec-gen/runtime";
import { formatNumber, renderTable } from "./table.js";

/** Iterations between two looks at the clock. */
const BATCH = 10_000;
/** Size of the zero-copy case's body. */
const LARGE_BODY_BYTES = 1024 * 1024;
/** Frames per chunk in the stream-splitting case (the echo benchmark's pipeline depth). */
const PIPELINE_DEPTH = 64;

/** A request head as clients send it: sequence, colouring, colour and flow ids, caller, method. */
function requestHead(sequence: bigint): RpcHead {
  const methodName = "echo.EchoService.Echo";
  const color = colorId(methodName);
  return { sequence, methodName, coloring: 0, colorId: color, flowId: color ^ sequence, caller: "bench.frame" };
}

/**
 * Slices each measurement is cut into. The machine may be shared, so a case
 * reports its best slice (the rate when nothing else ran) and its median slice.
 */
const SLICES = 10;

/** Runs `step` in batches for `ms` milliseconds; returns operations per second. */
function rate(step: (i: number) => number, ms: number, first: number): { perSecond: number; ops: number; checksum: number } {
  let checksum = 0;
  let n = 0;
  const began = performance.now();
  const until = began + ms;
  let now = began;
  while (now < until) {
    for (let i = 0; i < BATCH; i++) checksum = (checksum + step(first + n + i)) | 0;
    n += BATCH;
    now = performance.now();
  }
  return { perSecond: n / ((now - began) / 1000), ops: n, checksum };
}

/** Measures `step` over SLICES slices of `ms / SLICES`: best and median rate. */
function measure(step: (i: number) => number, ms: number): { best: number; median: number; checksum: number } {
  const rates: number[] = [];
  let checksum = 0;
  let done = 0;
  for (let slice = 0; slice < SLICES; slice++) {
    const r = rate(step, ms / SLICES, done);
    rates.push(r.perSecond);
    checksum = (checksum + r.checksum) | 0;
    done += r.ops;
  }
  rates.sort((a, b) => a - b);
  return { best: rates[rates.length - 1]!, median: (rates[SLICES / 2 - 1]! + rates[SLICES / 2]!) / 2, checksum };
}

interface Case {
  name: string;
  what: string;
  step: (i: number) => number;
}

/** Checks that decoding a large frame hands out a view of the input, not a copy. Throws otherwise. */
export function assertZeroCopyDecode(bodyBytes = LARGE_BODY_BYTES): { frameBytes: number; bodyOffset: number } {
  const body = new Uint8Array(bodyBytes);
  for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
  const frame = encodeFrame(requestHead(1n), body);
  const decoded = decodeFrame(frame);
  const bodyOffset = frame.byteOffset + frame.length - 1 - bodyBytes;
  if (decoded.body.buffer !== frame.buffer || decoded.body.byteOffset !== bodyOffset || decoded.body.length !== bodyBytes) {
    throw new Error("decodeFrame copied the 1 MiB body: the decoded body is not a view into the input buffer");
  }
  const streamed = new FrameDecoder().push(frame);
  if (streamed.length !== 1 || streamed[0]!.buffer !== frame.buffer) {
    throw new Error("FrameDecoder copied a frame that arrived whole: it is not a view into the chunk");
  }
  return { frameBytes: frame.length, bodyOffset: bodyOffset - frame.byteOffset };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      body: { type: "string", default: "100" },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const bodyBytes = Number(values.body);

  const body = new Uint8Array(bodyBytes).fill(0x61);
  const head = requestHead(123456789n);
  const headBytes = encodeRpcHead(head);
  const frame = encodeFrame(head, body);
  const pipelined = new Uint8Array(frame.length * PIPELINE_DEPTH);
  for (let i = 0; i < PIPELINE_DEPTH; i++) pipelined.set(frame, i * frame.length);
  const decoder = new FrameDecoder();
  const minimalHead: RpcHead = { sequence: 1n, methodName: head.methodName };
  const minimalFrameBytes = encodeFrame(minimalHead, body).length;

  const cases: Case[] = [
    {
      name: "encode+decode",
      what: "encodeFrame(head object, body) then decodeFrame (head parsed, body a view)",
      step: (i) => {
        head.sequence = BigInt(i);
        return decodeFrame(encodeFrame(head, body)).body.length;
      },
    },
    {
      name: "encode+decode (minimal head)",
      what: `the same with only sequence + method name in the head (${minimalFrameBytes}-byte frames)`,
      step: (i) => {
        minimalHead.sequence = BigInt(i);
        return decodeFrame(encodeFrame(minimalHead, body)).body.length;
      },
    },
    { name: "encode", what: "encodeFrame(head object, body)", step: () => encodeFrame(head, body).length },
    {
      name: "encode (head bytes)",
      what: "encodeFrame(pre-encoded head, body), as a server echoing a head",
      step: () => encodeFrame(headBytes, body).length,
    },
    { name: "decode", what: "decodeFrame(frame)", step: () => decodeFrame(frame).body.length },
    {
      name: "stream split",
      what: `FrameDecoder.push of ${PIPELINE_DEPTH} pipelined frames in one chunk, per frame`,
      step: (i) => (i % PIPELINE_DEPTH === 0 ? decoder.push(pipelined).length : 0),
    },
  ];

  const results = cases.map((c) => {
    rate(c.step, warmupMs, 0);
    return { ...c, ...measure(c.step, durationMs) };
  });
  const zeroCopy = assertZeroCopyDecode();

  console.log(
    `frame codec: ${frame.length}-byte frames (${headBytes.length}-byte head, ${bodyBytes}-byte body), ` +
      `${values.duration} s per case in ${SLICES} slices (best and median slice) after ${values.warmup} s warm-up, one core`,
  );
  console.log(
    renderTable(
      ["case", "ops/s best", "ops/s median", "what"],
      results.map((r) => [r.name, formatNumber(r.best), formatNumber(r.median), r.what]),
    ),
  );
  console.log(
    `zero-copy: a ${formatNumber(zeroCopy.frameBytes)}-byte frame with a 1 MiB body decodes to a view ` +
      `(same ArrayBuffer, body at offset ${zeroCopy.bodyOffset}), from decodeFrame and from FrameDecoder`,
  );
  const by = (name: string) => Math.round(results.find((r) => r.name === name)!.best);
  console.log(
    JSON.stringify({
      encode_decode_per_s: by("encode+decode"),
      encode_decode_minimal_head_per_s: by("encode+decode (minimal head)"),
      encode_per_s: by("encode"),
      encode_head_bytes_per_s: by("encode (head bytes)"),
      decode_per_s: by("decode"),
      stream_split_per_s: by("stream split"),
      frame_bytes: frame.length,
      body_bytes: bodyBytes,
      zero_copy_1mib: true,
      checksum: results.reduce((sum, r) => (sum + r.checksum) | 0, 0),
    }),
  );
}

main();
