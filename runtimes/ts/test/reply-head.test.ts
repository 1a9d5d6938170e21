/**
 * The client's shortcut for plain good replies (src/client/reply-head.ts)
 * against the full decoder: for every frame, either the shortcut declines
 * (-1) or `decodeFrame` reads the same frame as a good reply (no err, no
 * err_msg) with exactly that sequence. Heads as servers write them, every
 * sequence varint length, err/err_msg, unknown fields of each wire type,
 * non-ASCII text (invalid UTF-8 included), and every truncation and single-byte corruption of a valid
 * frame.
 */
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { type RpcHead, decodeFrame, encodeFrame } from "@msec-gen/runtime";
import { plainReplySequence } from "../src/client/reply-head.js";

const body = Uint8Array.from({ length: 40 }, (_, i) => i);

/** What `decodeFrame` says: the sequence of a good reply, or -1 (an error reply, or a frame it rejects). */
function fullDecode(frame: Uint8Array): number {
  try {
    const { head } = decodeFrame(frame);
    if ((head.err ?? 0) !== 0 || head.errMsg !== undefined || head.sequence > 0xffffffffn) return -1;
    return Number(head.sequence);
  } catch {
    return -1;
  }
}

function agree(frame: Uint8Array, what: string): void {
  const fast = plainReplySequence(frame);
  if (fast >= 0) assert.equal(fast, fullDecode(frame), `${what}: the shortcut read ${fast}`);
}

const reply = (extra: Partial<RpcHead>): RpcHead => ({ sequence: 1n, methodName: "conformance.ConformanceService.Echo", ...extra });

test("plain replies as servers write them: the shortcut reads the sequence decodeFrame reads, at every varint length", () => {
  for (const sequence of [1n, 127n, 128n, 16383n, 16384n, 2097151n, 2097152n, 268435455n, 268435456n, 0xffffffffn]) {
    for (const extra of [{}, { coloring: 0, colorId: 12345n, flowId: 0xfedcba98n }, { caller: "node.client", err: 0 }, { flowId: 2n ** 64n - 1n, timeoutMs: 800 }]) {
      const frame = encodeFrame(reply({ sequence, ...extra }), body);
      assert.equal(plainReplySequence(frame), Number(sequence));
      assert.equal(fullDecode(frame), Number(sequence));
    }
  }
});

test("error replies, err_msg, sequences past 2^32 and missing fields are left to decodeFrame; non-ASCII text is read like decodeFrame reads it", () => {
  const declined: Array<[string, Uint8Array]> = [
    ["err -10", encodeFrame(reply({ err: -10 }), new Uint8Array())],
    ["err 7", encodeFrame(reply({ err: 7 }), body)],
    ["err_msg", encodeFrame(reply({ errMsg: "" }), body)],
    ["sequence 2^32", encodeFrame(reply({ sequence: 0x100000000n }), body)],
    ["caller stack", encodeFrame(reply({ callerStack: ["a.B.C"] }), body)],
  ];
  for (const [what, frame] of declined) {
    if (what !== "caller stack") assert.equal(plainReplySequence(frame), -1, what);
    agree(frame, what);
  }
  for (const extra of [{ methodName: "ünïcode.Peer.Ok" }, { caller: "Grüße.Service" }, { callerStack: ["a.B.C", "d.E.F"] }]) {
    const frame = encodeFrame(reply({ sequence: 9n, ...extra }), body);
    assert.equal(plainReplySequence(frame), 9);
    assert.equal(fullDecode(frame), 9);
  }
  // Hand-made heads: sequence only (no method_name), method_name only, a start group, an unknown fixed32 and fixed64 field.
  const framed = (head: number[]): Uint8Array => {
    const out = new Uint8Array(10 + head.length + body.length);
    out[0] = 0x28;
    new DataView(out.buffer).setInt32(1, head.length);
    new DataView(out.buffer).setInt32(5, body.length);
    out.set(head, 9);
    out.set(body, 9 + head.length);
    out[out.length - 1] = 0x29;
    return out;
  };
  const method = [0x9a, 0x03, 3, 0x61, 0x2e, 0x62];
  assert.equal(plainReplySequence(framed([0x50, 5])), -1, "no method_name");
  assert.equal(plainReplySequence(framed(method)), -1, "no sequence");
  assert.equal(plainReplySequence(framed([0x50, 5, 0x5b, ...method])), -1, "start group");
  for (const extra of [[0x5d, 1, 2, 3, 4], [0x59, 1, 2, 3, 4, 5, 6, 7, 8]]) {
    const frame = framed([0x50, 5, ...extra, ...method]);
    assert.equal(plainReplySequence(frame), 5);
    assert.equal(fullDecode(frame), 5);
  }
});

test("every truncation and every single-byte change of a valid reply: the shortcut never reads what decodeFrame would not", () => {
  const frame = encodeFrame(reply({ sequence: 300n, coloring: 1, colorId: 99n, flowId: 77n, caller: "a.B", timeoutMs: 5 }), body.subarray(0, 8));
  for (let cut = 0; cut < frame.length; cut++) agree(frame.subarray(0, cut), `cut at ${cut}`);
  // Bytes that are not UTF-8 in method_name and caller: decodeFrame reads them (as U+FFFD), and so does the shortcut.
  const bad = Uint8Array.from(frame);
  bad[bad.indexOf(0x61, 20)] = 0xff;
  assert.equal(plainReplySequence(bad), 300);
  assert.equal(fullDecode(bad), 300);
  for (let at = 0; at < frame.length; at++) {
    for (const value of [0x00, 0x01, 0x07, 0x08, 0x0a, 0x50, 0x7f, 0x80, 0xff]) {
      const changed = Uint8Array.from(frame);
      changed[at] = value;
      agree(changed, `byte ${at} = ${value}`);
    }
  }
});
