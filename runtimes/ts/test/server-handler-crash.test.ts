/**
 * Crash isolation around handlers: whatever a handler throws, rejects with
 * or resolves to, the call is answered -18 and logged, nothing escapes as an
 * unhandled rejection, and other clients' calls are unaffected.
 */
import { after, before, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import { type MethodDefinition, type ResponseBody, type Server, createServer, decodeFrame, encodeFrame } from "@msec-gen/runtime";
import { echoMethods } from "../../../examples/echo/echo-service.js";
import { type FrameVector, hex, loadVector } from "./vectors.js";
import { delay, dial, memoryLogger, readBytes, readFrames, readUntilClosed } from "./net-helpers.js";

const v1 = loadVector<FrameVector>("v1-python-client-request.json");

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
const throwingProxy = new Proxy(
  {},
  {
    get() {
      throw Object.create(null);
    },
    getPrototypeOf() {
      throw Symbol("no prototype");
    },
  },
);
const throwingStack = new Error("x");
Object.defineProperty(throwingStack, "stack", {
  get() {
    throw new Error("stack getter");
  },
});

/** Handler outcomes that must each become a -18 answer. */
const outcomes: Array<[string, () => unknown]> = [
  ["rejects with Object.create(null)", () => Promise.reject(Object.create(null))],
  ["rejects with a Symbol", () => Promise.reject(Symbol("boom"))],
  ["rejects with undefined", () => Promise.reject(undefined)],
  ["rejects with an object whose toString throws", () => Promise.reject({ toString: () => { throw new Error("no"); } })],
  ["rejects with an Error whose stack getter throws", () => Promise.reject(throwingStack)],
  ["rejects with an SrpcError-named error whose code is a getter that throws", () => {
    const e = new Error("x");
    e.name = "SrpcError";
    Object.defineProperty(e, "code", { get: () => { throw Object.create(null); } });
    return Promise.reject(e);
  }],
  ["throws Object.create(null) synchronously", () => { throw Object.create(null); }],
  ["resolves to undefined", () => Promise.resolve(undefined)],
  ["resolves to a non-object", () => Promise.resolve(42)],
  ["resolves to Object.create(null)", () => Promise.resolve(Object.create(null))],
  ["resolves to a binary answer whose bytes are a number", () => Promise.resolve({ format: "binary", bytes: 5 })],
  ["resolves to a JSON answer that is cyclic", () => Promise.resolve({ format: "json", json: cyclic })],
  ["resolves to a proxy whose every read throws", () => Promise.resolve(throwingProxy)],
  ["returns a thenable whose then throws", () => ({ then() { throw Object.create(null); } })],
  ["returns a proxy whose every read throws, synchronously", () => throwingProxy],
];

function badMethods(): MethodDefinition[] {
  return outcomes.map(([, outcome], i) => ({
    name: `crash.Svc.M${i}`,
    invoke: outcome as unknown as () => ResponseBody,
  }));
}

describe("handler crash isolation", () => {
  let server: Server;
  const log = memoryLogger();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    server = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: log.logger });
    for (const m of [...echoMethods(), ...badMethods()]) server.register(m);
    await server.listen();
  });
  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    await server.close({ drainTimeoutMs: 100 });
  });

  for (const [i, [name]] of outcomes.entries()) {
    test(`a handler that ${name} is answered -18 over SRPC and HTTP, logged, nothing unhandled`, async () => {
      const before = log.lines.length;
      const s = await dial(server.port);
      s.write(encodeFrame({ sequence: BigInt(i), methodName: `crash.Svc.M${i}`, flowId: 1n }, new Uint8Array(0)));
      const [answer] = await readFrames(s, 1);
      assert.equal(decodeFrame(answer!).head.err, -18);
      // The connection is still usable.
      s.write(hex(v1.frame_hex!));
      assert.equal((await readFrames(s, 1))[0]!.toString("hex"), v1.echo_response_hex);
      s.destroy();

      const h = await dial(server.port);
      h.write(`POST /?methodName=crash.Svc.M${i} HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      const text = (await readUntilClosed(h)).toString();
      assert.match(text, /\r\n\r\n\{"ret":-18, "errmsg":"service implement failed" \}$/);
      await delay(20);
      assert.deepEqual(unhandled, []);
      assert.ok(log.lines.length >= before + 2, "both failures are logged");
      assert.ok(log.lines.slice(before).every((l) => JSON.parse(l).level === "ERROR"));
    });
  }

  test("after every bad handler, the process is alive and serves normal calls, pipelined", async () => {
    const s = await dial(server.port);
    s.write(Buffer.concat(Array.from({ length: 10 }, () => hex(v1.frame_hex!))));
    assert.equal((await readFrames(s, 10)).length, 10);
    s.destroy();
    const h = await dial(server.port);
    h.write("GET /health HTTP/1.1\r\n\r\n");
    assert.match((await readBytes(h, 10)).toString(), /^HTTP\/1\.1 200/);
    h.destroy();
  });
});
