import { after, before, test } from "node:test";
import { strict as assert } from "node:assert";
import { type AddressInfo, type Server, type Socket, createServer } from "node:net";
import {
  SrpcCallError,
  callJsonTcp,
  callTcp,
  checkJsonTcp,
  createStaticResolver,
  currentBalancer,
  decodeJsonTcp,
  encodeJsonTcp,
  registerResolver,
  unregisterResolver,
} from "@msec-gen/runtime";

/** What the tiny JSON-over-TCP server does with a complete request, chosen by its "mode". */
type Behaviour = (socket: Socket, request: unknown) => void;

const received: Buffer[] = [];
const sockets = new Set<Socket>();
const behaviours: Record<string, Behaviour> = {
  echo: (socket, request) => socket.write(encodeJsonTcp({ echo: request })),
  split: (socket, request) => {
    const reply = Buffer.from(encodeJsonTcp({ echo: request }));
    socket.write(reply.subarray(0, 4));
    setTimeout(() => socket.write(reply.subarray(4, 15)), 30);
    setTimeout(() => socket.write(reply.subarray(15)), 60);
  },
  closeEarly: (socket) => {
    socket.end(Buffer.from(encodeJsonTcp({ truncated: true })).subarray(0, 12));
  },
  silent: () => {},
  partial: (socket) => socket.write(Buffer.from(encodeJsonTcp({ never: "finished" })).subarray(0, 5)),
  notJson: (socket) => socket.write("3         abc"),
  badPrefix: (socket) => socket.write("xx        {}"),
};

let server: Server;
let addr: string;

before(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const n = checkJsonTcp(buf);
      if (n <= 0) return;
      received.push(buf.subarray(0, n));
      const request = decodeJsonTcp(buf.subarray(0, n)) as { mode: string };
      buf = buf.subarray(n);
      behaviours[request.mode]!(socket, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test("callJsonTcp sends a 10-character left-justified byte length, then the JSON, and decodes the reply", async () => {
  received.length = 0;
  const reply = await callJsonTcp(addr, { mode: "echo", url: "é" });
  assert.deepEqual(reply, { echo: { mode: "echo", url: "é" } });
  assert.equal(received[0]!.toString("utf8"), '26        {"mode":"echo","url":"é"}');
  assert.equal(Buffer.from(encodeJsonTcp([1])).toString(), "3         [1]");
});

test("checkJsonTcp: 0 until prefix and body are there, total length when whole, -1 for a bad prefix", () => {
  const whole = Buffer.from("2         {}extra");
  assert.equal(checkJsonTcp(whole.subarray(0, 9)), 0);
  assert.equal(checkJsonTcp(whole.subarray(0, 11)), 0);
  assert.equal(checkJsonTcp(whole.subarray(0, 12)), 12);
  assert.equal(checkJsonTcp(whole), 12);
  assert.equal(checkJsonTcp(Buffer.from("2 x       {}")), -1);
  assert.equal(checkJsonTcp(Buffer.from("          {}")), -1);
});

test("a reply split across reads is reassembled; isComplete sees each read", async () => {
  const seen: number[] = [];
  const reply = await callTcp(addr, encodeJsonTcp({ mode: "split" }), (buf) => {
    seen.push(buf.length);
    return checkJsonTcp(buf);
  });
  assert.deepEqual(decodeJsonTcp(reply), { echo: { mode: "split" } });
  // Written as 4 + 11 + rest bytes 30 ms apart: the check ran on partial buffers before the whole reply.
  assert.ok(seen.length >= 2, `isComplete called ${seen.length} times`);
  assert.equal(seen[0], 4);
  assert.equal(seen[seen.length - 1], reply.length);
});

async function rejectsWith(promise: Promise<unknown>, code: number, message: RegExp, requestSent = true) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SrpcCallError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    assert.equal(err.requestSent, requestSent);
    return true;
  });
}

test("a peer that closes before the reply is complete fails with -13", async () => {
  await rejectsWith(callJsonTcp(addr, { mode: "closeEarly" }), -13, /^network sendrecv failed: peer 127\.0\.0\.1:\d+ closed the connection after 12 bytes of the reply$/);
});

test("timeout: -10 with nothing received, -12 with part of the reply received", async () => {
  await rejectsWith(callJsonTcp(addr, { mode: "silent" }, { timeoutMs: 100 }), -10, /^timeout: no reply from 127\.0\.0\.1:\d+ within 100 ms$/);
  // A budget that leaves the in-process server ample time to send the first 5 bytes, even on a loaded machine.
  await rejectsWith(callJsonTcp(addr, { mode: "partial" }, { timeoutMs: 600 }), -12, /^recevice timeout: 5 bytes of the reply from 127\.0\.0\.1:\d+ after 600 ms$/);
});

test("a malformed reply fails with -3: negative completeness, or a body that is not JSON", async () => {
  await rejectsWith(callJsonTcp(addr, { mode: "badPrefix" }), -3, /rejected by the completeness check \(-1\)$/);
  await rejectsWith(callJsonTcp(addr, { mode: "notJson" }), -3, /^invalid package: reply is not JSON: /);
});

test("connection refused fails with -13 and marks the request as never sent", async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  await rejectsWith(callJsonTcp(`127.0.0.1:${port}`, { mode: "echo" }), -13, /ECONNREFUSED/, false);
});

test("routing names resolve through the resolvers and outcomes reach the balancer", async () => {
  const [ip, port] = addr.split(":") as [string, string];
  const resolver = createStaticResolver({ "VOA.Jsoup": [{ ip, port: Number(port), type: "tcp", weight: 100 }] });
  registerResolver(resolver);
  try {
    assert.deepEqual(await callJsonTcp("VOA.Jsoup", { mode: "echo" }), { echo: { mode: "echo" } });
    assert.deepEqual(currentBalancer().weights("VOA.Jsoup"), [{ address: addr, staticWeight: 100, dynamicWeight: 100, dead: false }]);
  } finally {
    unregisterResolver(resolver);
  }
});
