/**
 * A bounded, deterministic fuzz run of the SRPC frame decoder (with the
 * head decoder on every frame it yields) and the HTTP request parser:
 * mutated valid inputs and random bytes, each fed whole, one byte at a time
 * (short inputs) and in random segmentations. Asserts that nothing throws
 * but the documented errors (`FrameStreamError`/`SrpcError(-3/-4)`,
 * `HttpParseError` with 400/413/431/501), and that the outcome — requests,
 * error, what is left pending — does not depend on the segmentation.
 *
 * `MSEC_FUZZ_ITERATIONS` (default 10,000 inputs per parser) and
 * `MSEC_FUZZ_SEED` (default 11) make longer or different runs, e.g.
 * `MSEC_FUZZ_ITERATIONS=200000 node --import tsx --test test/parser-fuzz.test.ts`.
 */
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { FrameDecoder, FrameStreamError, HttpParseError, HttpRequestParser, SrpcError, decodeRpcHead, encodeFrame } from "@msec-gen/runtime";
import { type FrameVector, hex, loadVector } from "./vectors.js";

const ITERATIONS = Number(process.env.MSEC_FUZZ_ITERATIONS ?? 10_000);
const SEED = Number(process.env.MSEC_FUZZ_SEED ?? 11);
/** A long run may take this long per parser; the default run takes a few seconds. */
const TIMEOUT_MS = Math.max(60_000, ITERATIONS * 5);

/** mulberry32: a small seeded PRNG, so every failure is reproducible from the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)]!;

function randomBytes(r: Random, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

/** Byte-level mutations: flips, overwrites, inserts, deletes, truncation, duplication, interesting int32s. */
function mutate(r: Random, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + int(r, 4);
  for (let k = 0; k < rounds; k++) {
    const at = b.length === 0 ? 0 : int(r, b.length);
    switch (int(r, 9)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << int(r, 8));
        break;
      case 1:
        if (b.length > 0) b[at] = int(r, 256);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), randomBytes(r, 1 + int(r, 8)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 8)))]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5:
        b = Buffer.concat([b, b.subarray(at)]);
        break;
      case 6:
        if (b.length >= at + 4) b.writeInt32BE(pick(r, [0, 1, -1, 0x7fffffff, -0x80000000, 9, 65536, at]), at);
        break;
      case 7:
        b = Buffer.concat([b, input]);
        break;
      case 8:
        if (b.length > 0) b[at] = pick(r, [0x28, 0x29, 0x0d, 0x0a, 0x3a, 0x20, 0x3b, 0x30, 0x00, 0xff]);
        break;
    }
  }
  return b;
}

/** Cut points: whole, every byte (short inputs only), and two random segmentations. */
function segmentations(r: Random, length: number): number[][] {
  const out: number[][] = [[length]];
  if (length <= 512) out.push(Array.from({ length }, () => 1));
  for (let k = 0; k < 2; k++) {
    const sizes: number[] = [];
    for (let left = length; left > 0; ) {
      const n = Math.min(left, 1 + int(r, pick(r, [3, 16, 200])));
      sizes.push(n);
      left -= n;
    }
    out.push(sizes);
  }
  return out;
}

function feed<T>(input: Buffer, sizes: number[], push: (chunk: Buffer) => T[]): { items: T[]; error: unknown } {
  const items: T[] = [];
  let at = 0;
  try {
    for (const n of sizes) {
      // A copy per chunk, as a socket delivers them: nothing may depend on the input's buffer.
      items.push(...push(Buffer.from(input.subarray(at, at + n))));
      at += n;
    }
  } catch (e) {
    return { items, error: e };
  }
  return { items, error: undefined };
}

// ------------------------------------------------------------------ SRPC frames

const v1 = hex(loadVector<FrameVector>("v1-python-client-request.json").frame_hex!);
const v2 = hex(loadVector<FrameVector>("v2-minimal-request.json").frame_hex!);

function validFrame(r: Random): Buffer {
  const head = {
    sequence: BigInt(int(r, 1 << 30)),
    methodName: pick(r, ["echo.EchoService.Echo", "a.b.c", "x".repeat(int(r, 300))]),
    ...(r() < 0.5 ? { caller: "fuzz.Caller" } : {}),
    ...(r() < 0.5 ? { flowId: BigInt(int(r, 1 << 30)) } : {}),
    ...(r() < 0.2 ? { errMsg: "e", err: -3 } : {}),
  };
  return Buffer.from(encodeFrame(head, randomBytes(r, pick(r, [0, 1, 10, 1000]))));
}

function frameInput(r: Random): Buffer {
  const kind = int(r, 10);
  if (kind === 0) return randomBytes(r, int(r, 64));
  if (kind === 1) return Buffer.concat([Buffer.from([0x28]), randomBytes(r, int(r, 64))]);
  const parts = Array.from({ length: 1 + int(r, 3) }, () => pick(r, [v1, v2, validFrame(r), validFrame(r)]));
  const valid = Buffer.concat(parts);
  return kind === 2 ? valid : mutate(r, valid);
}

/** The outcome of decoding `input` cut into `sizes`: frames, error text, pending bytes, heads. */
function decodeFrames(input: Buffer, sizes: number[]) {
  const d = new FrameDecoder({ maxFrameBytes: 4096 });
  const { items, error } = feed(input, sizes, (c) => d.push(c));
  let frames = items.map((f) => Buffer.from(f).toString("hex"));
  let errorText: string | undefined;
  if (error !== undefined) {
    assert.ok(error instanceof FrameStreamError && error.code === -3, `unexpected throw: ${String(error)}`);
    frames = frames.concat(error.frames.map((f) => Buffer.from(f).toString("hex")));
    errorText = error.message;
  }
  const heads = frames.map((f) => {
    const bytes = Buffer.from(f, "hex");
    try {
      const head = decodeRpcHead(bytes, 9, 9 + bytes.readInt32BE(1));
      return `${head.sequence}/${head.methodName}`;
    } catch (e) {
      assert.ok(e instanceof SrpcError && (e.code === -4 || e.code === -3), `decodeRpcHead threw ${String(e)}`);
      return `error ${e.code}`;
    }
  });
  return { frames, heads, errorText, pending: error === undefined ? d.pendingBytes : -1 };
}

test(`fuzz: the SRPC frame decoder on ${ITERATIONS} mutated and random inputs, each in several segmentations (seed ${SEED})`, { timeout: TIMEOUT_MS }, () => {
  const r = prng(SEED);
  let runs = 0;
  let errors = 0;
  let frames = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = frameInput(r);
    const cuts = segmentations(r, input.length);
    const whole = decodeFrames(input, cuts[0]!);
    for (const sizes of cuts.slice(1)) {
      assert.deepEqual(decodeFrames(input, sizes), whole, `input ${input.toString("hex")} cut ${sizes.join(",")}`);
      runs++;
    }
    runs++;
    frames += whole.frames.length;
    if (whole.errorText !== undefined) errors++;
  }
  console.log(`frame decoder: ${ITERATIONS} inputs, ${runs} decodes, ${frames} frames, ${errors} inputs rejected (seed ${SEED})`);
});

// ------------------------------------------------------------------ HTTP requests

const HTTP_LIMITS = { maxHeaderBytes: 1024, maxBodyBytes: 4096 };

const httpSeeds = [
  "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
  "POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{\"message\": \"hi\"}\r\n",
  "POST /x?methodName=a.b.c HTTP/1.1\r\nTransfer-Encoding: chunked\r\ncaller: fuzz\r\n\r\n5;ext=1\r\nhello\r\n3\r\n abc\r\n0\r\nTrailer: t\r\n\r\n",
  "POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
  "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n12345",
  "GET /metrics HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
].map((s) => Buffer.from(s, "latin1"));

function httpInput(r: Random): Buffer {
  const kind = int(r, 10);
  if (kind === 0) return randomBytes(r, int(r, 128));
  const parts = Array.from({ length: 1 + int(r, 3) }, () => pick(r, httpSeeds));
  const valid = Buffer.concat(parts);
  if (kind === 1) return valid;
  if (kind === 2) {
    // Text-level: bare LF, huge lengths, long lines.
    const text = valid.toString("latin1");
    return Buffer.from(
      pick(r, [
        text.replace(/\r\n/g, "\n"),
        text.replace(/Content-Length: \d+/, `Content-Length: ${pick(r, ["99999999999", "-1", "1e3", " 5", "5,5", "4097"])}`),
        text.replace(/Host: x/, `Host: ${"h".repeat(1100)}`),
        text.replace(/\r\n\r\n/, `\r\nX: ${"y".repeat(int(r, 1100))}\r\n\r\n`),
      ]),
      "latin1",
    );
  }
  return mutate(r, valid);
}

const STATUSES = new Set([400, 413, 431, 501]);

function parseRequests(input: Buffer, sizes: number[]) {
  const p = new HttpRequestParser(HTTP_LIMITS);
  const { items, error } = feed(input, sizes, (c) => p.push(c));
  let requests = items;
  let errorText: string | undefined;
  if (error !== undefined) {
    assert.ok(error instanceof HttpParseError && STATUSES.has(error.status), `unexpected throw: ${String(error)}`);
    requests = requests.concat(error.completed);
    errorText = `${error.status} ${error.message}`;
  }
  return {
    requests: requests.map((q) => ({ ...q, body: q.body.toString("hex") })),
    errorText,
    inProgress: error === undefined ? p.inProgress : undefined,
    pending: error === undefined ? p.pendingBytes : -1,
  };
}

test(`fuzz: the HTTP request parser on ${ITERATIONS} mutated and random inputs, each in several segmentations (seed ${SEED})`, { timeout: TIMEOUT_MS }, () => {
  const r = prng(SEED + 1);
  let runs = 0;
  let errors = 0;
  let requests = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = httpInput(r);
    const cuts = segmentations(r, input.length);
    const whole = parseRequests(input, cuts[0]!);
    for (const sizes of cuts.slice(1)) {
      assert.deepEqual(parseRequests(input, sizes), whole, `input ${JSON.stringify(input.toString("latin1"))} cut ${sizes.join(",")}`);
      runs++;
    }
    runs++;
    requests += whole.requests.length;
    if (whole.errorText !== undefined) errors++;
  }
  console.log(`HTTP parser: ${ITERATIONS} inputs, ${runs} parses, ${requests} requests, ${errors} inputs rejected (seed ${SEED})`);
});
