import { test } from "node:test";
import { strict as assert } from "node:assert";
import {
  FrameDecoder,
  type RpcHead,
  SrpcCode,
  SrpcError,
  amendRpcHead,
  checkFrame,
  colorId,
  decodeFrame,
  decodeRpcHead,
  defaultFlowId,
  encodeFrame,
  encodeRpcHead,
  errorText,
  newSequence,
} from "@msec-gen/runtime";
import { type DeadlineVector, type FrameVector, type VectorHead, frameVectorFiles, hex, loadVector } from "./vectors.js";

function toRpcHead(v: VectorHead): RpcHead {
  const head: RpcHead = { sequence: BigInt(v.sequence), methodName: v.method_name };
  if (v.coloring !== undefined) head.coloring = v.coloring;
  if (v.color_id !== undefined) head.colorId = BigInt(v.color_id);
  if (v.flow_id !== undefined) head.flowId = BigInt(v.flow_id);
  if (v.err !== undefined) head.err = v.err;
  if (v.result !== undefined) head.result = v.result;
  if (v.err_msg !== undefined) head.errMsg = v.err_msg;
  if (v.caller !== undefined) head.caller = v.caller;
  if (v.caller_stack !== undefined) head.callerStack = v.caller_stack;
  if (v.timeout_ms !== undefined) head.timeoutMs = v.timeout_ms;
  return head;
}

for (const file of frameVectorFiles) {
  const v = loadVector<FrameVector>(file);
  test(`${v.vector}: head encodes byte-exact and decodes to the listed fields`, () => {
    assert.equal(Buffer.from(encodeRpcHead(toRpcHead(v.head))).toString("hex"), v.head_hex);
    assert.deepEqual(decodeRpcHead(hex(v.head_hex)), toRpcHead(v.head));
    if (v.java_server_response) {
      const j = v.java_server_response;
      assert.equal(Buffer.from(encodeRpcHead(toRpcHead(j.head))).toString("hex"), j.head_hex);
      assert.deepEqual(decodeRpcHead(hex(j.head_hex)), toRpcHead(j.head));
    }
  });
  if (v.frame_hex !== undefined) {
    test(`${v.vector}: frame encodes byte-exact, checks complete and decodes without copying`, () => {
      const frame = hex(v.frame_hex!);
      assert.equal(frame.length, v.frame_length);
      const body = hex(v.body_hex ?? "");
      assert.equal(Buffer.from(encodeFrame(toRpcHead(v.head), body)).toString("hex"), v.frame_hex);
      assert.equal(Buffer.from(encodeFrame(hex(v.head_hex), body)).toString("hex"), v.frame_hex);
      assert.equal(checkFrame(frame), frame.length);
      const decoded = decodeFrame(frame);
      assert.deepEqual(decoded.head, toRpcHead(v.head));
      assert.equal(Buffer.from(decoded.headBytes).toString("hex"), v.head_hex);
      assert.equal(Buffer.from(decoded.body).toString("hex"), v.body_hex ?? "");
      assert.equal(decoded.body.buffer, frame.buffer, "body is a view, not a copy");
    });
  }
}

test("V3: amending the V2 head with err -6 gives the C++ error head byte-exact", () => {
  const v2 = loadVector<FrameVector>("v2-minimal-request.json");
  const v3 = loadVector<FrameVector>("v3-unknown-method-response.json");
  const amended = amendRpcHead(hex(v2.head_hex), { err: SrpcCode.InvalidMethodName });
  assert.equal(Buffer.from(amended).toString("hex"), v3.head_hex);
  assert.equal(Buffer.from(encodeFrame(amended, new Uint8Array())).toString("hex"), v3.frame_hex);
});

test("V9: timeout_ms is written last (tag b0 04), decodes back, and leaves the MSEC fields' bytes as V1's", () => {
  const v9 = loadVector<DeadlineVector>("v9-deadline-request.json");
  assert.equal(v9.head_hex, v9.msec_head_hex + "b004ac02");
  const { timeoutMs: _omitted, ...msecHead } = toRpcHead(v9.head);
  assert.equal(Buffer.from(encodeRpcHead(msecHead)).toString("hex"), v9.msec_head_hex);
  for (const h of v9.heads) {
    assert.equal(Buffer.from(encodeRpcHead(toRpcHead(h.head))).toString("hex"), h.head_hex, h.name);
    assert.deepEqual(decodeRpcHead(hex(h.head_hex)), toRpcHead(h.head), h.name);
  }
  // Amending for an error answer inserts err at its place and keeps field 70 after method_name.
  const request = decodeFrame(hex(v9.unknown_method.request_frame_hex));
  const answer = encodeFrame(amendRpcHead(request.headBytes, { err: SrpcCode.InvalidMethodName }), new Uint8Array());
  assert.equal(Buffer.from(answer).toString("hex"), v9.unknown_method.response_frame_hex);
});

test("timeout_ms keeps the low 32 bits of an over-long varint, as protobuf does for uint32", () => {
  const v2 = loadVector<FrameVector>("v2-minimal-request.json");
  // field 70 = 2^32 + 5 (varint 85 80 80 80 10)
  assert.equal(decodeRpcHead(Buffer.concat([hex(v2.head_hex), hex("b0048580808010")])).timeoutMs, 5);
});

test("amendRpcHead replaces an existing field in place and keeps unknown fields", () => {
  const v1 = loadVector<FrameVector>("v1-python-client-request.json");
  const withUnknown = Buffer.concat([hex(v1.head_hex), hex("a006" + "07")]); // field 100 varint 7
  const amended = amendRpcHead(withUnknown, { flowId: 5n, err: -18, errMsg: "boom" });
  const head = decodeRpcHead(amended);
  assert.equal(head.flowId, 5n);
  assert.equal(head.err, -18);
  assert.equal(head.errMsg, "boom");
  assert.equal(head.caller, "python.client");
  const expected = Buffer.concat([
    encodeRpcHead({ ...toRpcHead(v1.head), flowId: 5n, err: -18, errMsg: "boom" }),
    hex("a00607"),
  ]);
  assert.deepEqual(Buffer.from(amended), expected);
});

interface CheckVector {
  check: Array<{ name: string; input_hex: string; check: number; python_check: number }>;
  unpack: Array<{ name: string; input_hex: string; unpack: number }>;
}
const v6 = loadVector<CheckVector>("v6-check-pkg.json");
for (const c of v6.check) {
  test(`V6 check: ${c.name} → ${c.check}`, () => {
    assert.equal(checkFrame(hex(c.input_hex)), c.check);
    const result = checkFrame(hex(c.input_hex));
    assert.equal(result < 0 ? -1 : result, c.python_check, "Python wrapper maps negatives to -1");
  });
}
for (const c of v6.unpack) {
  test(`V6 unpack: ${c.name} → ${c.unpack}`, () => {
    if (c.unpack === 0) {
      decodeFrame(hex(c.input_hex));
      return;
    }
    assert.throws(
      () => decodeFrame(hex(c.input_hex)),
      (e: unknown) => e instanceof SrpcError && e.code === c.unpack,
    );
  });
}

interface ColorVector {
  ids: Array<{ name: string; name_utf8_hex: string; djb2: number; java: number }>;
  flow_ids: Array<{ method: string; sequence: string; flow_id: string }>;
}
const v7 = loadVector<ColorVector>("v7-color-ids.json");
test("V7: djb2 colour ids, including bytes ≥ 0x80 added as signed chars", () => {
  for (const id of v7.ids) {
    assert.equal(Buffer.from(id.name, "utf8").toString("hex"), id.name_utf8_hex);
    assert.equal(colorId(id.name), BigInt(id.djb2), id.name);
  }
  for (const f of v7.flow_ids) assert.equal(defaultFlowId(f.method, BigInt(f.sequence)), BigInt(f.flow_id));
});

test("error texts are MSEC's, verbatim; unknown codes read 'unkown error'", () => {
  assert.equal(errorText(SrpcCode.RecvTimeout), "recevice timeout");
  assert.equal(errorText(-6), "invalid method name");
  assert.equal(errorText(-21), "python error");
  assert.equal(errorText(-1000), "unkown error");
  const e = new SrpcError(SrpcCode.Timeout);
  assert.equal(e.code, -10);
  assert.equal(e.message, "timeout");
  assert.equal(new SrpcError(-3, "custom").message, "custom");
});

test("head round-trips 64-bit values, negative int32 and non-ASCII text", () => {
  const head: RpcHead = {
    sequence: 0xffffffffffffffffn,
    methodName: "paquet.Dienst.Méthode",
    coloring: 1,
    colorId: 0x1234567890n,
    flowId: 1n << 63n,
    err: -2147483648,
    result: 2147483647,
    errMsg: "",
    caller: "呼叫者",
    callerStack: ["a", ""],
  };
  assert.deepEqual(decodeRpcHead(encodeRpcHead(head)), head);
  assert.equal(Buffer.from(encodeRpcHead({ sequence: 1n, methodName: "m", err: -6 })).toString("hex"), "5001c002faffffffffffffffff019a03016d");
});

test("decodeRpcHead rejects malformed heads and missing required fields with -4", () => {
  for (const bad of ["50", "5001", "9a03016d", "5001ff", "50019a03056d", "50ffffffffffffffffffff01", "5001a30100"]) {
    assert.throws(
      () => decodeRpcHead(hex(bad)),
      (e: unknown) => e instanceof SrpcError && e.code === -4,
      bad,
    );
  }
  // Unknown fields of every wire type, a group, and a wrong wire type on a known field are skipped.
  const head = decodeRpcHead(hex("5001" + "a806" + "01" + "a9060102030405060708" + "ad0601020304" + "aa0602abcd" + "ab06a80601ac06" + "5201ff" + "9a03016d"));
  assert.deepEqual(head, { sequence: 1n, methodName: "m" });
});

test("newSequence is a non-zero 32-bit value that changes every call", () => {
  const a = newSequence();
  const b = newSequence();
  assert.notEqual(a, b);
  for (const s of [a, b]) assert.ok(s > 0n && s < 1n << 32n);
});

test("FrameDecoder splits 1,000 pipelined frames and frames fed one byte at a time", () => {
  const v1 = hex(loadVector<FrameVector>("v1-python-client-request.json").frame_hex!);
  const v2 = hex(loadVector<FrameVector>("v2-minimal-request.json").frame_hex!);
  const stream = Buffer.concat(Array.from({ length: 1000 }, (_, i) => (i % 2 ? v2 : v1)));
  const whole = new FrameDecoder().push(stream);
  assert.equal(whole.length, 1000);
  assert.deepEqual(Buffer.from(whole[0]!), v1);
  assert.deepEqual(Buffer.from(whole[999]!), v2);
  assert.equal(whole[0]!.buffer, stream.buffer, "whole frames are views into the chunk");

  const d = new FrameDecoder();
  const out: Uint8Array[] = [];
  const two = Buffer.concat([v1, v2]);
  for (let i = 0; i < two.length; i++) out.push(...d.push(two.subarray(i, i + 1)));
  assert.equal(out.length, 2);
  assert.deepEqual(Buffer.from(out[0]!), v1);
  assert.deepEqual(Buffer.from(out[1]!), v2);
  assert.equal(d.pendingBytes, 0);
});

test("FrameDecoder rejects garbage, bad lengths, a wrong ETX and oversize frames from the header alone", () => {
  const v1 = hex(loadVector<FrameVector>("v1-python-client-request.json").frame_hex!);
  const cases: Array<[string, Buffer, number?]> = [
    ["garbage", Buffer.from("hello world")],
    ["negative length", hex("28ffffffff00000000")],
    ["zero lengths", hex("280000000000000000")],
    ["wrong ETX", Buffer.concat([v1.subarray(0, 76), hex("00")])],
    ["oversize", hex("2800000010" + "7fffffff"), undefined],
    ["over a custom limit", v1, 76],
  ];
  for (const [name, bytes, max] of cases) {
    const d = new FrameDecoder(max === undefined ? {} : { maxFrameBytes: max });
    assert.throws(
      () => d.push(bytes),
      (e: unknown) => e instanceof SrpcError && e.code === -3,
      name,
    );
  }
  // The 16 MiB default: a frame announcing 16 MiB + 1 is refused after 9 bytes.
  const d = new FrameDecoder();
  assert.throws(() => d.push(hex("28" + "00000001" + (16 * 1024 * 1024 - 10).toString(16).padStart(8, "0"))), /exceeds the limit/);
});

test("a 1 MiB body is decoded as a view into the frame, not a copy", () => {
  const body = Buffer.alloc(1024 * 1024, 7);
  const frame = encodeFrame({ sequence: 9n, methodName: "echo.EchoService.Echo" }, body);
  const decoded = decodeFrame(frame);
  assert.equal(decoded.body.length, body.length);
  assert.equal(decoded.body.buffer, frame.buffer);
  assert.equal(decoded.body.byteOffset, frame.byteOffset + 9 + decoded.headBytes.length);
});
