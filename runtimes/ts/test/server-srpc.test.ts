import { after, before, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import type { Socket } from "node:net";
import {
  type MethodDefinition,
  type Server,
  SrpcError,
  createServer,
  decodeFrame,
  decodeRpcHead,
  encodeFrame,
} from "@msec-gen/runtime";
import { ECHO_METHOD, echoMethods } from "../../../examples/echo/echo-service.js";
import { type FrameVector, hex, loadVector } from "./vectors.js";
import { delay, dial, memoryLogger, readFrames, readUntilClosed } from "./net-helpers.js";

const v1 = loadVector<FrameVector>("v1-python-client-request.json");
const v2 = loadVector<FrameVector>("v2-minimal-request.json");
const v3 = loadVector<FrameVector>("v3-unknown-method-response.json");

/** Test methods beside the echo: failures, slowness, custom error texts. */
function testMethods(): MethodDefinition[] {
  return [
    {
      name: "test.Svc.Throw",
      invoke() {
        throw new Error("handler bug");
      },
    },
    {
      name: "test.Svc.Reject",
      async invoke() {
        throw new TypeError("async handler bug");
      },
    },
    {
      name: "test.Svc.Backend",
      invoke() {
        throw new SrpcError(-19, "database unreachable");
      },
    },
    {
      name: "test.Svc.Timeout",
      async invoke() {
        throw new SrpcError(-10);
      },
    },
    {
      name: "test.Svc.Slow",
      async invoke(body) {
        await delay(30);
        return { format: "binary", bytes: body.format === "binary" ? body.bytes : new Uint8Array() };
      },
    },
  ];
}

describe("SRPC over TCP", () => {
  let server: Server;
  let port: number;
  const log = memoryLogger();
  const sockets: Socket[] = [];
  async function open(): Promise<Socket> {
    const s = await dial(port);
    sockets.push(s);
    return s;
  }

  before(async () => {
    server = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: log.logger, maxInFlightPerConnection: 4 });
    for (const m of [...echoMethods(), ...testMethods()]) server.register(m);
    ({ port } = await server.listen());
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await server.close({ drainTimeoutMs: 1000 });
  });

  test("V1 through the echo server comes back byte-identical", async () => {
    const s = await open();
    s.write(hex(v1.frame_hex!));
    const [answer] = await readFrames(s, 1);
    assert.equal(answer!.toString("hex"), v1.echo_response_hex);
  });

  test("V2 to a server without the method answers V3 byte-exact", async () => {
    const bare = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: log.logger });
    const { port: barePort } = await bare.listen();
    const s = await dial(barePort);
    try {
      s.write(hex(v2.frame_hex!));
      const [answer] = await readFrames(s, 1);
      assert.equal(answer!.toString("hex"), v3.frame_hex);
      assert.equal(answer!.length, 48);
    } finally {
      s.destroy();
      await bare.close({ drainTimeoutMs: 100 });
    }
  });

  test("a head without flow_id gets one filled in; everything else is echoed", async () => {
    const s = await open();
    s.write(hex(v2.frame_hex!));
    const [answer] = await readFrames(s, 1);
    const { head, body } = decodeFrame(answer!);
    assert.equal(head.sequence, 1n);
    assert.equal(head.methodName, ECHO_METHOD);
    assert.ok(head.flowId !== undefined && head.flowId > 0n);
    assert.equal(head.err, undefined);
    assert.equal(body.length, 0);
  });

  test("1,000 pipelined frames on one connection are all answered", async () => {
    const s = await open();
    const frames = Array.from({ length: 1000 }, (_, i) =>
      encodeFrame(
        { sequence: BigInt(i + 1), methodName: ECHO_METHOD, flowId: 77n },
        Buffer.from([0x0a, 4, ...Buffer.from(String(i).padStart(4, "0"))]),
      ),
    );
    s.write(Buffer.concat(frames));
    const answers = await readFrames(s, 1000);
    const seen = new Set(answers.map((a) => decodeFrame(a).head.sequence));
    assert.equal(seen.size, 1000);
    for (const a of answers) {
      const { head, body } = decodeFrame(a);
      assert.equal(Buffer.from(body).toString("latin1").slice(2), String(Number(head.sequence) - 1).padStart(4, "0"));
    }
  });

  test("slow calls beyond maxInFlightPerConnection wait (socket paused), none is dropped", async () => {
    const s = await open();
    const n = 40; // 10x the limit of 4
    const frames = Array.from({ length: n }, (_, i) =>
      encodeFrame({ sequence: BigInt(i + 1), methodName: "test.Svc.Slow", flowId: 1n }, Buffer.from([i])),
    );
    s.write(Buffer.concat(frames));
    const answers = await readFrames(s, n);
    assert.deepEqual(
      answers.map((a) => Number(decodeFrame(a).head.sequence)),
      Array.from({ length: n }, (_, i) => i + 1),
    );
  });

  test("large answers: a 1 MiB body and 100 pipelined 2 KiB bodies come back intact", async () => {
    const s = await open();
    const big = Buffer.alloc(1024 * 1024, 0x5a);
    const bigBody = Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x40]), big]); // field 1, length 2^20
    const small = Array.from({ length: 100 }, (_, i) => Buffer.concat([Buffer.from([0x0a, 0x80, 0x10]), Buffer.alloc(2048, i)]));
    s.write(encodeFrame({ sequence: 1000n, methodName: ECHO_METHOD, flowId: 1n }, bigBody));
    s.write(Buffer.concat(small.map((b, i) => encodeFrame({ sequence: BigInt(i), methodName: ECHO_METHOD, flowId: 1n }, b))));
    const answers = await readFrames(s, 101, 10_000);
    const bySeq = new Map(answers.map((a) => [decodeFrame(a).head.sequence, Buffer.from(decodeFrame(a).body)]));
    assert.ok(bySeq.get(1000n)!.equals(bigBody));
    for (let i = 0; i < 100; i++) assert.ok(bySeq.get(BigInt(i))!.equals(small[i]!), `frame ${i}`);
  });

  test("a frame split byte by byte is answered", async () => {
    const s = await open();
    const bytes = hex(v1.frame_hex!);
    for (let i = 0; i < bytes.length; i++) {
      s.write(bytes.subarray(i, i + 1));
      await delay(1);
    }
    const [answer] = await readFrames(s, 1);
    assert.equal(answer!.toString("hex"), v1.echo_response_hex);
  });

  const malformed: Array<[string, () => Uint8Array]> = [
    ["garbage after a valid frame", () => Buffer.concat([hex(v1.frame_hex!), Buffer.from("(garbage that is not srpc")])],
    ["a negative length", () => hex("28ffffffff00000007")],
    ["a wrong ETX", () => Buffer.concat([hex(v1.frame_hex!).subarray(0, 76), Buffer.from([0x00])])],
    ["an oversize frame (announced length over 16 MiB)", () => hex("2800000010" + (16 * 1024 * 1024).toString(16).padStart(8, "0"))],
    ["a head that does not parse", () => encodeFrame(hex("5001"), new Uint8Array([1]))],
  ];
  for (const [name, bytes] of malformed) {
    test(`${name} closes that connection while another keeps being served`, async () => {
      const good = await open();
      const bad = await open();
      const closed = readUntilClosed(bad);
      bad.write(bytes());
      await closed;
      good.write(hex(v1.frame_hex!));
      const [answer] = await readFrames(good, 1);
      assert.equal(answer!.toString("hex"), v1.echo_response_hex);
    });
  }

  test("300 connections of random bytes (SRPC- and HTTP-looking) never take the server down", async () => {
    let seed = 12345;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const v1Bytes = hex(v1.frame_hex!);
    for (let round = 0; round < 300; round++) {
      const len = 1 + (random() % 64);
      const bytes = Buffer.from(Array.from({ length: len }, random));
      if (round % 3 === 0) bytes[0] = 0x28; // SRPC-looking
      if (round % 3 === 1) bytes.set(Buffer.from("POST / HTTP/1.1\r\n").subarray(0, Math.min(len, 17))); // HTTP-looking
      if (round % 5 === 0) v1Bytes.copy(bytes, 0, 0, Math.min(len, 40)); // a mangled real frame
      const s = await open();
      s.on("error", () => {});
      s.end(bytes);
    }
    const good = await open();
    good.write(v1Bytes);
    assert.equal((await readFrames(good, 1))[0]!.toString("hex"), v1.echo_response_hex);
  });

  test("a handler that throws answers -18 and the exception is logged, sync and async", async () => {
    const s = await open();
    s.write(encodeFrame({ sequence: 5n, methodName: "test.Svc.Throw", flowId: 9n }, new Uint8Array()));
    s.write(encodeFrame({ sequence: 6n, methodName: "test.Svc.Reject", flowId: 9n }, new Uint8Array()));
    const answers = (await readFrames(s, 2)).map((a) => decodeFrame(a));
    for (const a of answers) {
      assert.equal(a.head.err, -18);
      assert.equal(a.head.errMsg, undefined, "standard text is not repeated in err_msg");
      assert.equal(a.body.length, 0);
    }
    assert.ok(log.lines.some((l) => l.includes("handler bug")));
    assert.ok(log.lines.some((l) => l.includes("async handler bug")));
  });

  test("an SrpcError keeps its code; a non-standard message travels in err_msg", async () => {
    const s = await open();
    const request = encodeFrame({ sequence: 8n, methodName: "test.Svc.Backend", flowId: 3n, caller: "me" }, new Uint8Array());
    s.write(request);
    s.write(encodeFrame({ sequence: 9n, methodName: "test.Svc.Timeout", flowId: 3n }, new Uint8Array()));
    const answers = (await readFrames(s, 2)).map((a) => decodeFrame(a).head);
    const backend = answers.find((h) => h.sequence === 8n)!;
    assert.deepEqual(backend, {
      sequence: 8n,
      methodName: "test.Svc.Backend",
      flowId: 3n,
      caller: "me",
      err: -19,
      errMsg: "database unreachable",
    });
    const timeout = answers.find((h) => h.sequence === 9n)!;
    assert.equal(timeout.err, -10);
    assert.equal(timeout.errMsg, undefined);
  });

  test("the call context carries the head's caller, flow id and colouring, and the peer", async () => {
    const seen: unknown[] = [];
    server.register({
      name: "test.Svc.Context",
      invoke(body, ctx) {
        seen.push([ctx.format, ctx.method, ctx.caller, ctx.flowId, ctx.coloring, ctx.deadline, ctx.signal.aborted]);
        seen.push(ctx.peer);
        return { format: "binary", bytes: body.format === "binary" ? body.bytes : new Uint8Array() };
      },
    });
    const s = await open();
    s.write(encodeFrame({ sequence: 3n, methodName: "test.Svc.Context", caller: "VOA.Main", coloring: 1, flowId: 1n << 40n }, new Uint8Array()));
    await readFrames(s, 1);
    assert.deepEqual(seen[0], ["binary", "test.Svc.Context", "VOA.Main", 1n << 40n, 1, Infinity, false]);
    assert.equal(seen[1], `127.0.0.1:${s.localPort}`);
  });

  test("an undecodable body is -5 from the method's decoder", async () => {
    const s = await open();
    s.write(encodeFrame({ sequence: 10n, methodName: ECHO_METHOD, flowId: 1n }, hex("0aff")));
    const [answer] = await readFrames(s, 1);
    assert.equal(decodeRpcHead(decodeFrame(answer!).headBytes).err, -5);
  });
});
