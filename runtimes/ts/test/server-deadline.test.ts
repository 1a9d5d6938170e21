/**
 * Deadline propagation on the server (spec §14): `timeout_ms` (CRpcHead field
 * 70) and `X-Msec-Timeout-Ms` give `ctx.deadline`, counted from the request's
 * first byte; at the deadline `ctx.signal` fires and the call is answered -10
 * "deadline exceeded (timeout_ms=N)" once; downstream calls made with the
 * context carry the time left. Real sockets, real servers, real clients.
 */
import { after, before, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import {
  type CallContext,
  DeadlineExceededError,
  type MethodDefinition,
  type RpcHead,
  type Server,
  SrpcCallError,
  SrpcCode,
  callMethodRaw,
  closeConnections,
  createLogger,
  createServer,
  decodeFrame,
  encodeFrame,
  jsonEnvelope,
} from "@msec-gen/runtime";
import { delay, dial, readFrames, udpCall } from "./net-helpers.js";

const quiet = createLogger({ level: "NONE" });
const EMPTY = new Uint8Array(0);
const text = (s: string) => new TextEncoder().encode(s);

/** Sleeps `ms` unless `signal` aborts first; then rejects with the signal's reason. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** What the test methods saw. */
interface Seen {
  /** ctx.deadline - Date.now() when the handler started (Infinity when none). */
  leftAtStart: number[];
  started: number;
  /** Handlers that ran to their end without being stopped. */
  finished: number;
  /** Abort reasons seen (their messages, and the values). */
  aborted: string[];
  reasons: unknown[];
}

function newSeen(): Seen {
  return { leftAtStart: [], started: 0, finished: 0, aborted: [], reasons: [] };
}

function frame(method: string, extra: Partial<RpcHead> = {}, sequence = 1n): Uint8Array {
  return encodeFrame({ sequence, methodName: method, flowId: 9n, ...extra }, text("body"));
}

function metric(server: Server & { metricsText?: () => string }, line: RegExp): string | undefined {
  const all = (server as unknown as { metricsText(): string }).metricsText();
  return all.split("\n").find((l) => line.test(l));
}

async function httpPost(port: number, method: string, headers: Record<string, string>): Promise<string> {
  const s = await dial(port);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  s.write(`POST /?methodName=${method} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n${extra}Connection: close\r\n\r\n{}`);
  const parts: Buffer[] = [];
  s.on("data", (c: Buffer) => parts.push(c));
  await new Promise((r) => s.on("close", r));
  return Buffer.concat(parts).toString("utf8");
}

describe("server deadlines", () => {
  let server: Server;
  let port: number;
  let seen: Seen;
  let order: string[];

  before(async () => {
    seen = newSeen();
    order = [];
    const methods: MethodDefinition[] = [
      {
        // Waits on ctx.signal (a cooperative handler).
        name: "dl.Svc.Wait",
        async invoke(_body, ctx) {
          seen.started++;
          seen.leftAtStart.push(ctx.deadline - Date.now());
          try {
            await sleep(5000, ctx.signal);
          } catch (e) {
            seen.aborted.push((e as Error).message);
            seen.reasons.push(e);
            throw e;
          }
          seen.finished++;
          return { format: ctx.format, ...(ctx.format === "binary" ? { bytes: text("done") } : { json: "done" }) } as never;
        },
      },
      {
        // Ignores its signal and answers after 300 ms: the answer must be dropped.
        name: "dl.Svc.Stubborn",
        async invoke(_body, ctx) {
          seen.started++;
          await delay(300);
          seen.finished++;
          order.push("stubborn finished");
          return { format: "binary", bytes: text("late") };
        },
      },
      {
        name: "dl.Svc.Quick",
        invoke(_body, ctx) {
          seen.started++;
          seen.leftAtStart.push(ctx.deadline - Date.now());
          order.push("quick");
          seen.finished++;
          return ctx.format === "binary" ? { format: "binary", bytes: text("quick") } : { format: "json", json: "quick" };
        },
      },
    ];
    server = createServer({ host: "127.0.0.1", port: 0, logger: quiet, maxInFlightPerConnection: 1 });
    for (const m of methods) server.register(m);
    ({ port } = await server.listen());
  });

  after(async () => {
    closeConnections();
    await server.close({ drainTimeoutMs: 100 });
  });

  test("SRPC: timeout_ms gives ctx.deadline; at it ctx.signal fires and the call is answered -10 once, counted by method", async () => {
    const before = { ...seen, leftAtStart: [...seen.leftAtStart], aborted: [...seen.aborted] };
    const s = await dial(port);
    const sentAt = performance.now();
    s.write(frame("dl.Svc.Wait", { timeoutMs: 200 }));
    const [answer] = await readFrames(s, 1);
    const elapsed = performance.now() - sentAt;
    const { head, body } = decodeFrame(answer!);
    assert.equal(head.err, SrpcCode.Timeout);
    assert.equal(head.errMsg, "deadline exceeded (timeout_ms=200)");
    assert.equal(head.timeoutMs, 200, "the request head is echoed, field 70 included");
    assert.equal(body.length, 0);
    assert.ok(elapsed >= 195, `answered after ${elapsed} ms, before the deadline`);
    const left = seen.leftAtStart[before.leftAtStart.length]!;
    assert.ok(left > 0 && left <= 200, `ctx.deadline was ${left} ms ahead at the handler's start`);
    assert.deepEqual(seen.aborted.slice(before.aborted.length), ["deadline exceeded (timeout_ms=200)"]);
    assert.ok(seen.reasons.at(-1) instanceof DeadlineExceededError, "ctx.signal's reason is a DeadlineExceededError");
    assert.equal(seen.finished, before.finished);
    assert.equal(metric(server, /^msec_server_deadline_exceeded_total\{method="dl\.Svc\.Wait"\}/), 'msec_server_deadline_exceeded_total{method="dl.Svc.Wait"} 1');
    assert.equal(metric(server, /^msec_server_requests_total\{method="dl\.Svc\.Wait",transport="tcp",code="-10"\}/), 'msec_server_requests_total{method="dl.Svc.Wait",transport="tcp",code="-10"} 1');
    s.destroy();
  });

  test("SRPC: no timeout_ms (or 0) means no deadline", async () => {
    const s = await dial(port);
    const n = seen.leftAtStart.length;
    s.write(frame("dl.Svc.Quick"));
    s.write(frame("dl.Svc.Quick", { timeoutMs: 0 }, 2n));
    const answers = await readFrames(s, 2);
    assert.deepEqual(answers.map((a) => decodeFrame(a).head.err), [undefined, undefined]);
    assert.deepEqual(seen.leftAtStart.slice(n), [Infinity, Infinity]);
    s.destroy();
  });

  test("SRPC: a late result is dropped; the call keeps its in-flight place until its handler returns", async () => {
    order.length = 0;
    const s = await dial(port);
    // maxInFlightPerConnection is 1: Quick waits for Stubborn's handler, not just for its -10.
    s.write(Buffer.concat([frame("dl.Svc.Stubborn", { timeoutMs: 50 }, 1n), frame("dl.Svc.Quick", {}, 2n)]));
    const answers = await readFrames(s, 2);
    const [first, second] = answers.map((a) => decodeFrame(a));
    assert.equal(first!.head.sequence, 1n);
    assert.equal(first!.head.errMsg, "deadline exceeded (timeout_ms=50)");
    assert.equal(second!.head.sequence, 2n);
    assert.equal(Buffer.from(second!.body).toString(), "quick");
    assert.deepEqual(order, ["stubborn finished", "quick"]);
    // Nothing else arrives: the stubborn handler's "late" answer was dropped.
    const extra = await readFrames(s, 1, 400).catch((e: Error) => e.message);
    assert.equal(extra, "timed out with 0/1 frames");
    s.destroy();
  });

  test("SRPC: a frame whose deadline passed while it waited behind the in-flight limit is answered -10 without running", async () => {
    const s = await dial(port);
    const started = seen.started;
    s.write(Buffer.concat([frame("dl.Svc.Stubborn", {}, 1n), frame("dl.Svc.Quick", { timeoutMs: 40 }, 2n)]));
    const [a, b] = (await readFrames(s, 2)).map((f) => decodeFrame(f).head);
    assert.equal(a!.err, undefined);
    assert.deepEqual([b!.sequence, b!.err, b!.errMsg], [2n, -10, "deadline exceeded (timeout_ms=40)"]);
    assert.equal(seen.started, started + 1, "only the first handler ran");
    s.destroy();
  });

  test("SRPC: the deadline counts from the frame's first byte, not from its last", async () => {
    const s = await dial(port);
    const n = seen.leftAtStart.length;
    const bytes = frame("dl.Svc.Quick", { timeoutMs: 1500 });
    s.write(bytes.subarray(0, 12));
    await delay(600);
    s.write(bytes.subarray(12));
    const [answer] = await readFrames(s, 1);
    assert.equal(decodeFrame(answer!).head.err, undefined);
    const left = seen.leftAtStart[n]!;
    assert.ok(left > 0 && left <= 1500 - 550, `ctx.deadline was ${left} ms ahead: not counted from the first byte`);
    s.destroy();
  });

  test("UDP: timeout_ms applies to datagrams too", async () => {
    const answer = await udpCall(port, frame("dl.Svc.Wait", { timeoutMs: 100 }), 3000);
    assert.ok(answer, "no answer");
    const { head } = decodeFrame(answer);
    assert.deepEqual([head.err, head.errMsg], [-10, "deadline exceeded (timeout_ms=100)"]);
  });

  test("HTTP: X-Msec-Timeout-Ms gives the deadline; the -10 envelope says so; a malformed value is ignored", async () => {
    const response = await httpPost(port, "dl.Svc.Wait", { "X-Msec-Timeout-Ms": "150" });
    const envelope = jsonEnvelope(-10, "deadline exceeded (timeout_ms=150)");
    assert.ok(response.endsWith(`\r\n\r\n${envelope}`), response);
    const n = seen.leftAtStart.length;
    for (const bad of ["-5", "12ms", "99999999999", ""]) {
      const ok = await httpPost(port, "dl.Svc.Quick", { "X-Msec-Timeout-Ms": bad });
      assert.ok(ok.endsWith(jsonEnvelope(0, "", "quick")), `${bad}: ${ok}`);
    }
    const timed = await httpPost(port, "dl.Svc.Quick", { "x-msec-timeout-ms": " 4000 " });
    assert.ok(timed.endsWith(jsonEnvelope(0, "", "quick")));
    const lefts = seen.leftAtStart.slice(n);
    assert.deepEqual(lefts.slice(0, 4), [Infinity, Infinity, Infinity, Infinity]);
    assert.ok(lefts[4]! > 3000 && lefts[4]! <= 4000, `header 4000 gave ${lefts[4]} ms`);
    assert.equal(metric(server, /^msec_server_deadline_exceeded_total\{method="dl\.Svc\.Wait"\}/), 'msec_server_deadline_exceeded_total{method="dl.Svc.Wait"} 3');
  });
});

describe("a call chain A → B → C", () => {
  let b: Server;
  let c: Server;
  let bAddr: string;
  /** What B and C saw. */
  const facts = {
    bLeft: NaN,
    cLeft: NaN,
    cHeadTimeout: NaN,
    bDownstream: "" as string,
    running: 0,
    finished: 0,
    stoppedAt: [] as number[],
  };
  let t0 = 0;

  before(async () => {
    c = createServer({ host: "127.0.0.1", port: 0, logger: quiet });
    b = createServer({ host: "127.0.0.1", port: 0, logger: quiet });
    c.register({
      name: "chain.C.Work",
      async invoke(body, ctx) {
        facts.running++;
        facts.cLeft = ctx.deadline - Date.now();
        facts.cHeadTimeout = Number(Buffer.from((body as { bytes: Uint8Array }).bytes).toString());
        try {
          await sleep(5000, ctx.signal);
          facts.finished++;
          return { format: "binary", bytes: text("c done") };
        } finally {
          facts.running--;
          facts.stoppedAt.push(performance.now() - t0);
        }
      },
    });
    const cAddress = `127.0.0.1:${(await c.listen()).port}`;
    b.register({
      name: "chain.B.Work",
      async invoke(_body, ctx: CallContext) {
        facts.running++;
        facts.bLeft = ctx.deadline - Date.now();
        try {
          await sleep(100, ctx.signal);
          // Tell C what B had left, to compare with what C's head carries.
          const left = Math.floor(ctx.deadline - Date.now());
          try {
            await callMethodRaw(cAddress, "chain.C.Work", text(String(left)), { context: ctx, timeoutMs: 5000 });
            facts.bDownstream = "ok";
          } catch (e) {
            facts.bDownstream = `${(e as SrpcCallError).code}`;
            // C may give up a moment before B (its deadline is B's less the trip): a fallback
            // that waits for more time is cut at B's own deadline by ctx.signal.
            await sleep(5000, ctx.signal).catch(() => {});
            throw e;
          }
          facts.finished++;
          return { format: "binary", bytes: text("b done") };
        } finally {
          facts.running--;
          facts.stoppedAt.push(performance.now() - t0);
        }
      },
    });
    bAddr = `127.0.0.1:${(await b.listen()).port}`;
  });

  after(async () => {
    closeConnections();
    await b.close({ drainTimeoutMs: 100 });
    await c.close({ drainTimeoutMs: 100 });
  });

  test("the caller's 300 ms reach B and C; C's call is cut at the deadline; the caller gets -10; no handler runs on", async () => {
    t0 = performance.now();
    await assert.rejects(callMethodRaw(bAddr, "chain.B.Work", EMPTY, { timeoutMs: 300 }), (e: unknown) => {
      assert.ok(e instanceof SrpcCallError);
      assert.equal(e.code, SrpcCode.Timeout);
      return true;
    });
    const callerDone = performance.now() - t0;
    assert.ok(callerDone >= 290 && callerDone < 2000, `caller gave up after ${callerDone} ms`);
    // Both handlers stop at the deadline, not at their 5 s sleep's end.
    for (let i = 0; i < 100 && facts.running > 0; i++) await delay(20);
    assert.equal(facts.running, 0, "a handler is still running");
    assert.equal(facts.finished, 0, "a handler ran to its end past the deadline");
    assert.equal(facts.stoppedAt.length, 2);
    for (const at of facts.stoppedAt) assert.ok(at >= 250 && at < 2000, `a handler stopped ${at} ms after the call started, not at the 300 ms deadline`);
    assert.ok(facts.bLeft > 200 && facts.bLeft <= 300, `B saw ${facts.bLeft} ms left`);
    assert.ok(facts.cLeft > 0 && facts.cLeft <= facts.cHeadTimeout + 1 && facts.cHeadTimeout <= 200, `C saw ${facts.cLeft} ms left, B had ${facts.cHeadTimeout}`);
    assert.equal(facts.bDownstream, "-10", "B's call to C ended with -10");
    await delay(50);
    assert.equal(metric(b, /^msec_server_deadline_exceeded_total\{method="chain\.B\.Work"\}/), 'msec_server_deadline_exceeded_total{method="chain.B.Work"} 1');
    assert.equal(metric(c, /^msec_server_deadline_exceeded_total\{method="chain\.C\.Work"\}/), 'msec_server_deadline_exceeded_total{method="chain.C.Work"} 1');
  });
});
