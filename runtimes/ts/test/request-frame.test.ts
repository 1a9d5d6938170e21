/**
 * The template-built request frame (src/client/request-frame.ts) against the
 * general encoder: every head a call can write, with the varint boundaries of
 * sequence, flow id and timeout_ms, must give encodeFrame's bytes exactly.
 * Calls through a socket cover the same path in client.test.ts; the edge
 * values live here because a 1 ms timeout cannot be sent through a real call
 * without racing its own timer.
 */
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { colorId, decodeFrame, encodeFrame } from "@msec-gen/runtime";
import { type RequestHead, encodeRequestFrame, requestHead } from "../src/client/request-frame.js";

const body = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);

function head(methodName: string, extra: Partial<RequestHead> = {}): RequestHead {
  return { methodName, colorId: colorId(methodName), caller: "node.client", ...extra };
}

const heads: Array<[string, RequestHead]> = [
  ["plain", head("raw.Peer.Ok")],
  ["no caller", { methodName: "raw.Peer.Ok", colorId: colorId("raw.Peer.Ok") }],
  ["empty caller", head("raw.Peer.Ok", { caller: "" })],
  ["coloring 1", head("raw.Peer.Ok", { coloring: 1 })],
  ["coloring -1 (uint32 on the wire)", head("raw.Peer.Ok", { coloring: -1 })],
  ["non-ASCII names", head("ünïcode.Peer.Ok", { caller: "Grüße.Service" })],
  ["200-byte method, 300-byte caller", head(`${"m".repeat(200)}.Ok`, { caller: "c".repeat(300) })],
  ["colour id 0", { methodName: "raw.Peer.Ok", colorId: 0n }],
  ["colour id 2^32-1", { methodName: "raw.Peer.Ok", colorId: 0xffffffffn }],
];
const timeouts = [undefined, 1, 0x7f, 0x80, 0x3fff, 0x4000, 60_000, 2 ** 31 - 1, 2 ** 32 - 1];
const sequences = [1, 0x7f, 0x80, 0x3fff, 0x4000, 0x1fffff, 0x200000, 0xfffffff, 0x10000000, 0xffffffff];

test("encodeRequestFrame gives encodeFrame's bytes for every head shape, timeout and sequence boundary", () => {
  let checked = 0;
  for (const [name, base] of heads) {
    for (const timeoutMs of timeouts) {
      const h: RequestHead = timeoutMs === undefined ? base : { ...base, timeoutMs };
      for (const sequence of sequences) {
        for (const b of [body(0), body(63), body(64), body(300)]) {
          const fast = Buffer.from(encodeRequestFrame(h, sequence, b));
          const general = Buffer.from(encodeFrame(requestHead(h, BigInt(sequence)), b));
          assert.deepEqual(fast, general, `${name}, timeout ${timeoutMs}, sequence ${sequence}, body ${b.length}`);
          checked++;
        }
      }
    }
  }
  assert.equal(checked, heads.length * timeouts.length * sequences.length * 4);
});

test("the flow id is colour id XOR sequence and timeout_ms decodes to the value given", () => {
  const h = head("raw.Peer.Ok", { timeoutMs: 1 });
  const { head: decoded } = decodeFrame(encodeRequestFrame(h, 0x80000001, body(3)));
  assert.equal(decoded.sequence, 0x80000001n);
  assert.equal(decoded.flowId, colorId("raw.Peer.Ok") ^ 0x80000001n);
  assert.equal(decoded.timeoutMs, 1);
  assert.equal(decoded.caller, "node.client");
});

test("heads a template does not write (flow id given, error fields) take the general encoder", () => {
  const extras: Array<Partial<RequestHead>> = [{ flowId: 0xfedcba9876543210n }, { err: -6 }, { result: 3 }, { errMsg: "x" }, { callerStack: ["a", "b"] }];
  for (const extra of extras) {
    const h = head("raw.Peer.Ok", { ...extra, timeoutMs: 5 });
    assert.deepEqual(Buffer.from(encodeRequestFrame(h, 9, body(4))), Buffer.from(encodeFrame(requestHead(h, 9n), body(4))), JSON.stringify(extra, (_, v) => (typeof v === "bigint" ? String(v) : v)));
  }
});
