/**
 * Deadline propagation across languages (spec §14): a TypeScript caller A
 * gives 300 ms to a Python server B (the runtime in runtimes/python, as a
 * process), whose asyncio handler sleeps, then calls a TypeScript server C
 * with its context's time left. `timeout_ms` (CRpcHead field 70) travels
 * TS → Python → TS: B and C see the deadline, both stop at it, the caller
 * gets -10 and each server counts its deadline in
 * `msec_server_deadline_exceeded_total`. Real processes and sockets.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { type Server, SrpcCallError, callMethodRaw, closeConnections, createLogger, createServer } from "@msec-gen/runtime";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { dial } from "../../runtimes/ts/test/net-helpers.js";

const PYTHON_B = String.raw`
import asyncio, json, os, sys, time
from msec import AsyncClient, Server, ServerOptions, SrpcError

C = os.environ["C_ADDR"]
client = AsyncClient()

def say(**fields):
    print(json.dumps(fields), flush=True)

async def work(body, ctx):
    say(event="started", left_ms=(ctx.deadline - time.time()) * 1000)
    try:
        await asyncio.sleep(0.1)
        try:
            await client.call(C, "chain.C.Work", b"", 5000)
        except SrpcError as exc:
            say(event="downstream", code=exc.code)
            await asyncio.sleep(5)  # a fallback that wants more time: cut at B's deadline
            raise
        say(event="finished")
        return b"b done"
    except asyncio.CancelledError:
        say(event="cancelled", cancel_event=ctx.cancelled)
        raise

async def main():
    server = Server({"chain.B.Work": work}, ServerOptions(host="127.0.0.1", port=0, udp=False))
    await server.start()
    say(event="listening", port=server.port)
    await server.serve_until_stopped()

asyncio.run(main())
`;

let c: Server;
let python: ChildProcess;
let bPort = 0;
const bEvents: Array<Record<string, unknown>> = [];
const cFacts = { left: NaN, running: 0, finished: 0, stoppedAt: [] as number[] };
let t0 = 0;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}

before(async () => {
  c = createServer({ host: "127.0.0.1", port: 0, logger: createLogger({ level: "NONE" }) });
  c.register({
    name: "chain.C.Work",
    async invoke(_body, ctx) {
      cFacts.running++;
      cFacts.left = ctx.deadline - Date.now();
      try {
        await sleep(5000, ctx.signal);
        cFacts.finished++;
        return { format: "binary", bytes: new Uint8Array() };
      } finally {
        cFacts.running--;
        cFacts.stoppedAt.push(performance.now() - t0);
      }
    },
  });
  const cPort = (await c.listen()).port;
  python = spawn("python3", ["-c", PYTHON_B], {
    env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, "runtimes/python/src"), C_ADDR: `127.0.0.1:${cPort}` },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let buffered = "";
  bPort = await new Promise<number>((resolve, reject) => {
    python.once("exit", (code) => reject(new Error(`python B exited with ${code}`)));
    python.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const event = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        event["at"] = performance.now() - t0;
        bEvents.push(event);
        if (event["event"] === "listening") resolve(event["port"] as number);
      }
    });
  });
});

after(async () => {
  closeConnections();
  python?.kill("SIGTERM");
  await c?.close({ drainTimeoutMs: 100 });
});

async function metrics(port: number): Promise<string> {
  const s = await dial(port);
  s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const parts: Buffer[] = [];
  s.on("data", (d: Buffer) => parts.push(d));
  await new Promise((r) => s.on("close", r));
  return Buffer.concat(parts).toString("utf8");
}

test("TS caller → Python B → TS C: 300 ms reach B and C, both stop at the deadline, the caller gets -10", async () => {
  t0 = performance.now();
  await assert.rejects(callMethodRaw(`127.0.0.1:${bPort}`, "chain.B.Work", new Uint8Array(), { timeoutMs: 300 }), (e: unknown) => {
    assert.ok(e instanceof SrpcCallError);
    assert.equal(e.code, -10);
    return true;
  });
  for (let i = 0; i < 150 && !(cFacts.running === 0 && cFacts.stoppedAt.length === 1 && bEvents.some((e) => e["event"] === "cancelled")); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const started = bEvents.find((e) => e["event"] === "started")!;
  assert.ok((started["left_ms"] as number) > 200 && (started["left_ms"] as number) <= 300, `B saw ${started["left_ms"]} ms left`);
  assert.ok(cFacts.left > 0 && cFacts.left <= 200, `C saw ${cFacts.left} ms left`);
  assert.equal(cFacts.running, 0, "C's handler still runs");
  assert.equal(cFacts.finished, 0, "C's handler ran past the deadline");
  assert.ok(cFacts.stoppedAt[0]! >= 250 && cFacts.stoppedAt[0]! < 2000, `C stopped at ${cFacts.stoppedAt[0]} ms`);
  const cancelled = bEvents.find((e) => e["event"] === "cancelled");
  assert.ok(cancelled, `B was not cancelled: ${JSON.stringify(bEvents)}`);
  assert.equal(cancelled["cancel_event"], true);
  assert.ok((cancelled["at"] as number) >= 250 && (cancelled["at"] as number) < 2000, `B stopped at ${cancelled["at"]} ms`);
  assert.ok(!bEvents.some((e) => e["event"] === "finished"));
  assert.match(await metrics(bPort), /^msec_server_deadline_exceeded_total\{method="chain\.B\.Work"\} 1$/m);
  assert.match((c as unknown as { metricsText(): string }).metricsText(), /^msec_server_deadline_exceeded_total\{method="chain\.C\.Work"\} 1$/m);
});
