import { after, before, test } from "node:test";
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { type AddressInfo, type Server as NetServer, Socket, createServer as createNetServer } from "node:net";
import { once } from "node:events";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Balancer,
  type CallContext,
  FrameDecoder,
  type RpcHead,
  type Server,
  SrpcCallError,
  SrpcError,
  callMethod,
  callMethodRaw,
  closeConnections,
  colorId,
  createLogger,
  createServer,
  createStaticResolver,
  currentBalancer,
  decodeFrame,
  encodeFrame,
  encodeRpcHead,
  openConnections,
  registerResolver,
  registerTypes,
  setBalancer,
  unregisterResolver,
} from "@msec-gen/runtime";
import { ECHO_METHOD, echoMethods } from "../../../examples/echo/echo-service.js";
import { EchoRequestSchema, EchoResponseSchema, file_echo } from "../../../examples/echo/gen/echo_pb.js";

const quiet = createLogger({ level: "NONE" });

function echoBody(message: string): Uint8Array {
  return toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: new TextEncoder().encode(message) }));
}
function echoText(body: Uint8Array): string {
  return new TextDecoder().decode(fromBinary(EchoResponseSchema, body).message);
}

async function rejectsWith(promise: Promise<unknown>, expected: { code: number; message?: RegExp | string; requestSent?: boolean; fromServer?: boolean }) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SrpcCallError, `not an SrpcCallError: ${String(err)}`);
    assert.ok(err instanceof SrpcError);
    assert.equal(err.code, expected.code, err.message);
    if (typeof expected.message === "string") assert.equal(err.message, expected.message);
    else if (expected.message) assert.match(err.message, expected.message);
    if (expected.requestSent !== undefined) assert.equal(err.requestSent, expected.requestSent);
    if (expected.fromServer !== undefined) assert.equal(err.fromServer, expected.fromServer);
    return true;
  });
}

// ------------------------------------------------------------------ the runtime's own server

let server: Server;
let serverAddr: string;

before(async () => {
  server = createServer({ host: "127.0.0.1", port: 0, logger: quiet });
  for (const method of echoMethods()) server.register(method);
  server.register({
    name: "test.Errors.Python",
    invoke: () => {
      throw new SrpcError(-21);
    },
  });
  server.register({
    name: "test.Echo.Context",
    invoke: (_body, ctx) => ({
      format: "binary",
      bytes: echoBody(JSON.stringify({ flowId: String(ctx.flowId), coloring: ctx.coloring, caller: ctx.caller })),
    }),
  });
  const { port } = await server.listen();
  serverAddr = `127.0.0.1:${port}`;
});

after(async () => {
  closeConnections();
  await server.close({ drainTimeoutMs: 100 });
});

test("callMethodRaw echoes through the runtime's server over one pooled connection", async () => {
  assert.equal(echoText(await callMethodRaw(serverAddr, ECHO_METHOD, echoBody("hello"))), "hello");
  assert.equal(echoText(await callMethodRaw(`${serverAddr}@tcp`, ECHO_METHOD, echoBody("again"))), "again");
  assert.equal(openConnections().get(serverAddr), 1);
});

test("many concurrent calls are multiplexed on one connection and each gets its own reply", async () => {
  const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => callMethodRaw(serverAddr, ECHO_METHOD, echoBody(`m${i}`), { timeoutMs: 5000 })));
  assert.deepEqual(replies.map(echoText), Array.from({ length: 500 }, (_, i) => `m${i}`));
  assert.equal(openConnections().get(serverAddr), 1);
});

test("calls issued in the same tick leave in one socket write: their frames are joined into one buffer on the next tick", async () => {
  await callMethodRaw(serverAddr, ECHO_METHOD, echoBody("warm-up")); // the connection is open
  const port = Number(serverAddr.slice(serverAddr.lastIndexOf(":") + 1));
  type WriteFn = (this: Socket, ...args: unknown[]) => unknown;
  const proto = Socket.prototype as unknown as { _write: WriteFn; _writev: WriteFn };
  const { _write: write, _writev: writev } = proto;
  /** Frames per write the client's socket handed to the kernel. */
  const writes: number[] = [];
  proto._write = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === port) writes.push(1);
    return write.apply(this, args);
  };
  proto._writev = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === port) writes.push((args[0] as unknown[]).length);
    return writev.apply(this, args);
  };
  try {
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => callMethodRaw(serverAddr, ECHO_METHOD, echoBody(`t${i}`))));
    assert.deepEqual(replies.map(echoText), Array.from({ length: 20 }, (_, i) => `t${i}`));
  } finally {
    proto._write = write;
    proto._writev = writev;
  }
  assert.deepEqual(writes, [1]);
});

test("a tick's batch with large frames (written as they are) between small ones (joined) keeps every request intact and in order", async () => {
  const texts = ["s0", "L".repeat(100_000), "s1", "s2", "M".repeat(20_000), "s3"];
  const replies = await Promise.all(texts.map((t) => callMethodRaw(serverAddr, ECHO_METHOD, echoBody(t))));
  assert.deepEqual(replies.map(echoText), texts);
});

test("typed callMethod finds the schemas registered by method name", async () => {
  registerTypes(file_echo);
  const reply = await callMethod<typeof EchoResponseSchema>(serverAddr, ECHO_METHOD, create(EchoRequestSchema, { message: new Uint8Array([1, 2, 3]) }));
  assert.equal(reply.$typeName, "echo.EchoResponse");
  assert.deepEqual([...reply.message], [1, 2, 3]);
  await rejectsWith(callMethod(serverAddr, "no.Such.Method", create(EchoRequestSchema)), {
    code: -6,
    message: "invalid method name: no message types registered for no.Such.Method (generated code calls registerTypes)",
  });
  await rejectsWith(callMethod(serverAddr, ECHO_METHOD, create(EchoResponseSchema)), {
    code: -1,
    message: "invalid parameter: echo.EchoService.Echo takes echo.EchoRequest, got echo.EchoResponse",
  });
});

test("a reply with err ≠ 0 becomes a typed error with that code and its text", async () => {
  await rejectsWith(callMethodRaw(serverAddr, "no.Such.Method", new Uint8Array()), { code: -6, message: /^invalid method name/, fromServer: true });
  await rejectsWith(callMethodRaw(serverAddr, "test.Errors.Python", new Uint8Array()), { code: -21, message: /^python error/, fromServer: true });
});

test("UDP: an @udp address is called with one datagram each way", async () => {
  assert.equal(echoText(await callMethodRaw(`${serverAddr}@udp`, ECHO_METHOD, echoBody("over udp"))), "over udp");
  await rejectsWith(callMethodRaw(`${serverAddr}@udp`, "no.Such.Method", new Uint8Array()), { code: -6, fromServer: true });
});

test("head: caller, colouring and flow id are inherited from the incoming call's context", async () => {
  const context = { flowId: 987654321n, coloring: 1, deadline: Infinity } as unknown as CallContext;
  const inherited = JSON.parse(echoText(await callMethodRaw(serverAddr, "test.Echo.Context", new Uint8Array(), { context, caller: "VOA.MainLogic" })));
  assert.deepEqual(inherited, { flowId: "987654321", coloring: 1, caller: "VOA.MainLogic" });
  const plain = JSON.parse(echoText(await callMethodRaw(serverAddr, "test.Echo.Context", new Uint8Array())));
  assert.equal(plain.coloring, 0);
  assert.equal(plain.caller, process.env["MSEC_SERVICE_NAME"] || "node.client");
  const expired = { flowId: 1n, coloring: 0, deadline: Date.now() - 1 } as unknown as CallContext;
  await rejectsWith(callMethodRaw(serverAddr, ECHO_METHOD, new Uint8Array(), { context: expired }), { code: -10, requestSent: false });
});

// ------------------------------------------------------------------ a scripted raw SRPC peer

/** What the raw peer does with a request, chosen by the method name's last part. */
type PeerBehaviour = (socket: Socket, head: RpcHead, frame: Uint8Array) => void;

const peerHeads: RpcHead[] = [];
const peerFrames: Buffer[] = [];
const peerSockets = new Set<Socket>();
let peer: NetServer;
let peerAddr: string;

function reply(head: RpcHead, changes: Partial<RpcHead> = {}, body: Uint8Array = echoBody("peer")): Uint8Array {
  return encodeFrame({ sequence: head.sequence, methodName: head.methodName, ...changes }, body);
}

const behaviours: Record<string, PeerBehaviour> = {
  Ok: (socket, head) => socket.write(reply(head)),
  Never: () => {},
  Half: (socket, head) => socket.write(reply(head).subarray(0, 15)),
  WrongSequence: (socket, head) => socket.write(reply(head, { sequence: head.sequence + 1n })),
  ErrWithMessage: (socket, head) => socket.write(reply(head, { err: -19, errMsg: "backend said no" }, new Uint8Array())),
  ErrJava: (socket, head) => socket.write(reply(head, { err: -1000, errMsg: "" }, new Uint8Array())),
  Close: (socket) => socket.destroy(),
  Garbage: (socket) => socket.write(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n")),
  Late: (socket, head) => setTimeout(() => socket.write(reply(head, {}, echoBody("late"))), 150),
};

before(async () => {
  peer = createNetServer((socket) => {
    peerSockets.add(socket);
    socket.on("close", () => peerSockets.delete(socket));
    socket.on("error", () => {});
    const decoder = new FrameDecoder();
    socket.on("data", (chunk) => {
      for (const frame of decoder.push(chunk)) {
        const { head } = decodeFrame(frame);
        peerHeads.push(head);
        peerFrames.push(Buffer.from(frame));
        behaviours[head.methodName.split(".").pop()!]!(socket, head, frame);
      }
    });
  });
  peer.listen(0, "127.0.0.1");
  await once(peer, "listening");
  peerAddr = `127.0.0.1:${(peer.address() as AddressInfo).port}`;
});

after(async () => {
  closeConnections();
  for (const s of peerSockets) s.destroy();
  await new Promise((resolve) => peer.close(resolve));
});

test("request head: sequence, method, coloring 0, color id djb2(method), flow id color_id XOR sequence, caller; sendTimeout: false = MSEC's fields only", async () => {
  peerHeads.length = 0;
  await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array(), { caller: "python.client", sendTimeout: false });
  await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array(), { caller: "python.client", sendTimeout: false });
  const [first, second] = peerHeads as [RpcHead, RpcHead];
  const id = colorId("raw.Peer.Ok");
  assert.deepEqual(first, { sequence: first.sequence, methodName: "raw.Peer.Ok", coloring: 0, colorId: id, flowId: id ^ first.sequence, caller: "python.client" });
  assert.ok(first.sequence > 0n && first.sequence <= 0xffffffffn);
  assert.equal(second.sequence, first.sequence === 0xffffffffn ? 1n : first.sequence + 1n, "sequences on a connection count up by one");
});

test("request head carries timeout_ms = the remaining budget (default 800 ms, the option, or the context's time left), written last", async () => {
  peerHeads.length = 0;
  peerFrames.length = 0;
  await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array(), { caller: "python.client" });
  await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array(), { timeoutMs: 2500 });
  const context = { flowId: 7n, coloring: 0, deadline: Date.now() + 400 } as unknown as CallContext;
  await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array(), { timeoutMs: 5000, context });
  const [plain, own, inherited] = peerHeads as [RpcHead, RpcHead, RpcHead];
  // Written when the call starts: at most the budget, and not much less on any machine.
  assert.ok(plain.timeoutMs! <= 800 && plain.timeoutMs! >= 700, `default budget sent as ${plain.timeoutMs}`);
  assert.ok(own.timeoutMs! <= 2500 && own.timeoutMs! >= 2400, `timeoutMs 2500 sent as ${own.timeoutMs}`);
  assert.ok(inherited.timeoutMs! <= 400 && inherited.timeoutMs! >= 250, `context's 400 ms left sent as ${inherited.timeoutMs}`);
  // Byte layout: the MSEC fields as with sendTimeout: false, then b0 04 + varint — nothing else changes.
  const head = Buffer.from(decodeFrame(peerFrames[0]!).headBytes);
  const tail = Buffer.from([0xb0, 0x04, ...varint(plain.timeoutMs!)]);
  assert.deepEqual(head.subarray(head.length - tail.length), tail);
  const { timeoutMs: _sent, ...msecFields } = plain;
  assert.deepEqual(head.subarray(0, head.length - tail.length), Buffer.from(encodeRpcHead(msecFields)));
});

test("request frames are byte-identical to encodeFrame of their decoded head (method, caller, coloring, timeout and inherited flow id varied)", async () => {
  peerFrames.length = 0;
  const calls: Array<[string, Parameters<typeof callMethodRaw>[3]]> = [
    ["raw.Peer.Ok", {}],
    ["raw.Peer.Ok", { caller: "python.client", coloring: 1, timeoutMs: 3_000_000 }],
    ["raw.Peer.Ok", { caller: "python.client", coloring: 1, timeoutMs: 3_000_000 }], // the same constant head again
    ["raw.Peer.Ok", { caller: "Grüße.Service", sendTimeout: false }],
    ["raw.Peer.Ok", { coloring: -1, timeoutMs: 60_000 }], // small values: request-frame.test.ts (a 1 ms call races its own timer)
    ["ünïcode.Peer.Ok", { caller: "" }],
    [`${"m".repeat(200)}.Ok`, { caller: "c".repeat(300), timeoutMs: 2 ** 31 - 1 }],
    ["raw.Peer.Ok", { flowId: 0xfedcba9876543210n }],
    ["raw.Peer.Ok", { flowId: 5n, caller: "x" }],
  ];
  for (const [method, options] of calls) await callMethodRaw(peerAddr, method, echoBody(method), options);
  assert.equal(peerFrames.length, calls.length);
  for (const [i, frame] of peerFrames.entries()) {
    const { head, body } = decodeFrame(frame);
    assert.deepEqual(frame, Buffer.from(encodeFrame(head, body)), `frame of call ${i} (${calls[i]![0].slice(0, 20)})`);
    assert.equal(head.methodName, calls[i]![0]);
    assert.equal(head.flowId, calls[i]![1]!.flowId ?? head.colorId! ^ head.sequence);
  }
  const heads = peerFrames.map((f) => decodeFrame(f).head);
  assert.deepEqual(
    heads.map((h) => [h.caller, h.coloring, h.timeoutMs === undefined]),
    [
      ["node.client", 0, false],
      ["python.client", 1, false],
      ["python.client", 1, false],
      ["Grüße.Service", 0, true],
      ["node.client", 0xffffffff, false],
      ["", 0, false],
      ["c".repeat(300), 0, false],
      ["node.client", 0, false],
      ["x", 0, false],
    ],
  );
  // timeout_ms is the budget left when the request is written: 60 000 less the routing time (well under a second).
  assert.ok(heads[4]!.timeoutMs! <= 60_000 && heads[4]!.timeoutMs! > 59_000, `timeout_ms ${heads[4]!.timeoutMs}`);
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

test("timeout with no reply → -10; the late reply of a timed-out call is dropped and does not disturb the next call", async () => {
  await rejectsWith(callMethodRaw(peerAddr, "raw.Peer.Never", new Uint8Array(), { timeoutMs: 80 }), {
    code: -10,
    message: `timeout: no reply from ${peerAddr} within 80 ms`,
    requestSent: true,
  });
  await rejectsWith(callMethodRaw(peerAddr, "raw.Peer.Late", new Uint8Array(), { timeoutMs: 50 }), { code: -10 });
  // The late reply arrives while this call is the only one in flight: it must not be mistaken for a wrong sequence.
  await rejectsWith(callMethodRaw(peerAddr, "raw.Peer.Never", new Uint8Array(), { timeoutMs: 300 }), { code: -10 });
  assert.equal(echoText(await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array())), "peer");
});

test("timeout while the reply is partly received → -12", async () => {
  try {
    // The budget leaves the in-process peer ample time to send the first 15 bytes, even on a loaded machine.
    await rejectsWith(callMethodRaw(peerAddr, "raw.Peer.Half", new Uint8Array(), { timeoutMs: 600 }), {
      code: -12,
      message: `recevice timeout: reply from ${peerAddr} incomplete after 600 ms`,
    });
  } finally {
    closeConnections(); // the half frame poisons that stream
  }
});

test("a reply with another sequence → -16 for the call in flight", async () => {
  await rejectsWith(callMethodRaw(peerAddr, "raw.Peer.WrongSequence", new Uint8Array()), {
    code: -16,
    message: /^invalid sequence: reply carries sequence \d+, expected \d+ \(127\.0\.0\.1:\d+\)$/,
  });
});

test("err ≠ 0 with err_msg: the code, its text and the server's message", async () => {
  await rejectsWith(callMethodRaw(peerAddr, "raw.Peer.ErrWithMessage", new Uint8Array()), {
    code: -19,
    message: "backend process failed, use GetErrText get more information: backend said no",
    fromServer: true,
  });
  await rejectsWith(callMethodRaw(peerAddr, "raw.Peer.ErrJava", new Uint8Array()), { code: -1000, message: "unkown error", fromServer: true });
});

test("connection closed mid-call → -13 for every call in flight; the next call reconnects", async () => {
  const calls = [
    callMethodRaw(peerAddr, "raw.Peer.Never", new Uint8Array(), { timeoutMs: 2000 }),
    callMethodRaw(peerAddr, "raw.Peer.Never", new Uint8Array(), { timeoutMs: 2000 }),
  ];
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closing = callMethodRaw(peerAddr, "raw.Peer.Close", new Uint8Array(), { timeoutMs: 2000 });
  for (const call of [...calls, closing]) {
    await rejectsWith(call, { code: -13, message: `network sendrecv failed: connection to ${peerAddr} lost (closed by peer)`, requestSent: true });
  }
  assert.equal(echoText(await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array())), "peer");
});

test("a reply stream that is not SRPC → -3 and the connection is dropped", async () => {
  await rejectsWith(callMethodRaw(peerAddr, "raw.Peer.Garbage", new Uint8Array()), { code: -3, message: `invalid package: bad reply stream from ${peerAddr} (bad start byte)` });
  assert.equal(echoText(await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array())), "peer");
});

test("connection refused → -13, marked as never sent", async () => {
  const probe = createNetServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  await rejectsWith(callMethodRaw(`127.0.0.1:${port}`, ECHO_METHOD, new Uint8Array()), {
    code: -13,
    message: `network sendrecv failed: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`,
    requestSent: false,
  });
});

test("UDP timeout → -10; a datagram with another sequence → -16", async () => {
  const udp = createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    const { head } = decodeFrame(msg);
    if (head.methodName.endsWith("WrongSequence")) udp.send(reply(head, { sequence: head.sequence ^ 1n }), rinfo.port, rinfo.address);
  });
  udp.bind(0, "127.0.0.1");
  await once(udp, "listening");
  const addr = `127.0.0.1:${udp.address().port}@udp`;
  try {
    await rejectsWith(callMethodRaw(addr, "raw.Peer.Never", new Uint8Array(), { timeoutMs: 80 }), { code: -10, requestSent: true });
    await rejectsWith(callMethodRaw(addr, "raw.Peer.WrongSequence", new Uint8Array()), { code: -16 });
  } finally {
    udp.close();
  }
});

test("every outcome reaches the balancer: failures kill a node, server-side errors count as answers", async () => {
  let now = 0;
  setBalancer(new Balancer({ now: () => now, randomInt: () => 0, shapingRequestMin: 0 }));
  const [ip, port] = peerAddr.split(":") as [string, string];
  const resolver = createStaticResolver({ "Raw.Peer": [{ ip, port: Number(port), type: "tcp", weight: 100 }] });
  registerResolver(resolver);
  try {
    await rejectsWith(callMethodRaw("Raw.Peer", "raw.Peer.ErrWithMessage", new Uint8Array()), { code: -19 });
    now = 5000;
    await callMethodRaw("Raw.Peer", "raw.Peer.Ok", new Uint8Array());
    await rejectsWith(callMethodRaw("Raw.Peer", "raw.Peer.Never", new Uint8Array(), { timeoutMs: 30 }), { code: -10 });
    await rejectsWith(callMethodRaw("Raw.Peer", "raw.Peer.Never", new Uint8Array(), { timeoutMs: 30 }), { code: -10 });
    now = 10000;
    await callMethodRaw("Raw.Peer", "raw.Peer.Ok", new Uint8Array()); // the pick runs the period: 1 of 3 succeeded
    assert.deepEqual(currentBalancer().weights("Raw.Peer"), [{ address: peerAddr, staticWeight: 100, dynamicWeight: 11, dead: false }]);
  } finally {
    unregisterResolver(resolver);
    setBalancer(new Balancer());
  }
});

// ------------------------------------------------------------------ a server process killed mid-call

function startSlowServer(port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/slow-server.ts", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`slow server exited with ${code}`)));
    child.stdout!.once("data", (chunk: Buffer) => resolve({ child, port: JSON.parse(chunk.toString()).port }));
  });
}

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

test("server process killed mid-call → -13; a restarted server on the same port is reached by the next call", async () => {
  const first = await startSlowServer(0);
  children.push(first.child);
  const addr = `127.0.0.1:${first.port}`;
  assert.equal(echoText(await callMethodRaw(addr, ECHO_METHOD, echoBody("before"), { timeoutMs: 5000 })), "before");
  const inFlight = callMethodRaw(addr, "test.Slow.Wait", new Uint8Array(), { timeoutMs: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  first.child.kill("SIGKILL");
  await rejectsWith(inFlight, { code: -13, message: /^network sendrecv failed: connection to 127\.0\.0\.1:\d+ lost \((ECONNRESET|closed by peer)\)$/ });
  const second = await startSlowServer(first.port);
  children.push(second.child);
  assert.equal(echoText(await callMethodRaw(addr, ECHO_METHOD, echoBody("after"), { timeoutMs: 5000 })), "after");
});

test("an unknown routing name fails with -15 as an SrpcCallError, request not sent", async () => {
  await rejectsWith(callMethodRaw("No.Such", ECHO_METHOD, new Uint8Array()), {
    code: -15,
    message: /^get route failed: no route for No\.Such \(looked in: routes file .*\)$/,
    requestSent: false,
  });
});

test("timeoutMs must be positive; Infinity means no practical limit", async () => {
  await assert.rejects(callMethodRaw(serverAddr, ECHO_METHOD, new Uint8Array(), { timeoutMs: 0 }), RangeError);
  await assert.rejects(callMethodRaw(serverAddr, ECHO_METHOD, new Uint8Array(), { timeoutMs: Number.NaN }), RangeError);
  assert.equal(echoText(await callMethodRaw(serverAddr, ECHO_METHOD, echoBody("no limit"), { timeoutMs: Infinity })), "no limit");
});

test("an aborted signal fails the call with -10 'call aborted' and does not disturb the connection", async () => {
  const controller = new AbortController();
  const call = callMethodRaw(peerAddr, "raw.Peer.Never", new Uint8Array(), { signal: controller.signal, timeoutMs: 5000 });
  setTimeout(() => controller.abort(), 30);
  await rejectsWith(call, { code: -10, message: `timeout: call aborted (${peerAddr})`, requestSent: true });
  await rejectsWith(callMethodRaw(peerAddr, ECHO_METHOD, new Uint8Array(), { signal: AbortSignal.abort() }), { code: -10, requestSent: false });
  assert.equal(echoText(await callMethodRaw(peerAddr, "raw.Peer.Ok", new Uint8Array())), "peer");
});
