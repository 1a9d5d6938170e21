/**
 * The SRPC frame decoder and the HTTP request parser under hostile input,
 * without sockets: memory under 1-byte chunks, requests before bad bytes,
 * limits that hold whatever the segmentation.
 */
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { FrameDecoder, FrameStreamError, HttpParseError, HttpRequestParser } from "@msec-gen/runtime";
import { memoryInUse } from "./memory.js";
import { type FrameVector, hex, loadVector } from "./vectors.js";


const MiB = 1024 * 1024;
const v1 = hex(loadVector<FrameVector>("v1-python-client-request.json").frame_hex!);
const limits = { maxHeaderBytes: 16 * 1024, maxBodyBytes: 16 * MiB };

/** Feeds `bytes` one byte per chunk, each chunk its own 1-byte array (as a socket delivers 1-byte segments). */
function dripInto(push: (chunk: Uint8Array) => unknown, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) push(new Uint8Array([bytes[i]!]));
}

test("FrameDecoder holds an incomplete frame fed 1 MiB in 1-byte chunks in under 4 MiB", () => {
  const d = new FrameDecoder();
  const announced = Buffer.from([0x28, 0, 0, 0, 16, 0, 0x20, 0, 0]); // body of 2 MiB: never complete here
  const baseline = memoryInUse();
  dripInto((c) => d.push(c), Buffer.concat([announced, Buffer.alloc(MiB - announced.length, 0x61)]));
  const growth = memoryInUse() - baseline;
  assert.equal(d.pendingBytes, MiB);
  assert.ok(growth < 4 * MiB, `grew ${growth} bytes`);
});

test("HttpRequestParser holds an incomplete body fed 1 MiB in 1-byte chunks in under 4 MiB; a head fed byte by byte parses", () => {
  const p = new HttpRequestParser(limits);
  const head = Buffer.from("POST /?methodName=a.b.c HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n");
  const baseline = memoryInUse();
  dripInto((c) => assert.deepEqual(p.push(c), []), Buffer.concat([head, Buffer.alloc(MiB - head.length, 0x61)]));
  const growth = memoryInUse() - baseline;
  assert.ok(p.inProgress);
  assert.ok(growth < 4 * MiB, `grew ${growth} bytes`);

  // A 16 KiB head one byte at a time: the search for its end resumes, it does not restart.
  const q = new HttpRequestParser(limits);
  const big = Buffer.from(`GET / HTTP/1.1\r\nX: ${"y".repeat(16 * 1024 - 30)}\r\n\r\n`);
  const started = performance.now();
  const got = [];
  for (let i = 0; i < big.length; i++) got.push(...q.push(big.subarray(i, i + 1)));
  assert.equal(got.length, 1);
  assert.ok(performance.now() - started < 2000);
});

test("FrameDecoder: complete frames before bad bytes in the same chunk come with the error", () => {
  const d = new FrameDecoder();
  assert.throws(
    () => d.push(Buffer.concat([v1, v1, Buffer.from("garbage")])),
    (e: unknown) => e instanceof FrameStreamError && e.code === -3 && e.frames.length === 2 && Buffer.from(e.frames[1]!).equals(v1),
  );
  const e2 = new FrameDecoder();
  assert.throws(() => e2.push(Buffer.from("x")), (e: unknown) => e instanceof FrameStreamError && e.frames.length === 0);
});

test("HttpRequestParser: complete requests before bad bytes in the same chunk come with the error", () => {
  const p = new HttpRequestParser(limits);
  assert.throws(
    () => p.push(Buffer.from("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n\x00\x01\r\n\r\n")),
    (e: unknown) => e instanceof HttpParseError && e.status === 400 && e.completed.map((r) => r.target).join() === "/a,/b",
  );
});

test("HttpRequestParser: a chunk-size line over 1 KiB is refused whole or split; trailers count against the header limit", () => {
  const longLine = Buffer.from(`POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;${"e".repeat(2000)}\r\nx\r\n0\r\n\r\n`);
  for (const chunkSize of [longLine.length, 1, 7]) {
    const p = new HttpRequestParser(limits);
    assert.throws(
      () => {
        for (let i = 0; i < longLine.length; i += chunkSize) p.push(longLine.subarray(i, i + chunkSize));
      },
      (e: unknown) => e instanceof HttpParseError && e.status === 400 && /too long/.test(e.message),
      `chunks of ${chunkSize}`,
    );
  }
  const trailers = Array.from({ length: 2000 }, (_, i) => `T${i}: ${"v".repeat(10)}\r\n`).join("");
  const manyTrailers = Buffer.from(`POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n${trailers}\r\n`);
  for (const chunkSize of [manyTrailers.length, 1, 100]) {
    const p = new HttpRequestParser(limits);
    assert.throws(
      () => {
        for (let i = 0; i < manyTrailers.length; i += chunkSize) p.push(manyTrailers.subarray(i, i + chunkSize));
      },
      (e: unknown) => e instanceof HttpParseError && e.status === 431,
      `chunks of ${chunkSize}`,
    );
  }
});
