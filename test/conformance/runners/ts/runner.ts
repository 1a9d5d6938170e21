/**
 * Conformance runner of the TypeScript caller (docs/caller-parity.md, "Runner
 * protocol"): reads one scenario from stdin, runs its steps in order through
 * the generated `ConformanceServiceClient` (package `conformance.echo-caller`,
 * installed as its README says) and the runtime `@msec-gen/runtime`, and
 * writes one JSON line per step. It checks nothing: the harness compares.
 *
 * Routing is configured as a user's program does it — by the environment,
 * with no code: the runtime reads the routes file from `$MSEC_ROUTES` and, when
 * `$MSEC_ETCD_ENDPOINTS` (and `$MSEC_ETCD_PREFIX`) is set, resolves names
 * through etcd first.
 */
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Balancer,
  type CallOptions,
  closeConnections,
  callMethodRaw,
  parseLiteral,
  SrpcError,
} from "@msec-gen/runtime";
import { ConformanceServiceClient, EchoReplySchema, EchoRequestSchema, type EchoReply } from "conformance.echo-caller";
import type { CallFields, Step } from "./steps.js";

type CallObservation = { code: 0; reply: { text: string; instance: string; peer: string; deadline_ms: number } } | { code: number; message: string };

function observed(reply: EchoReply): CallObservation {
  return { code: 0, reply: { text: reply.text, instance: reply.instance, peer: reply.peer, deadline_ms: reply.deadlineMs } };
}

/** One call: the generated client, or the runtime's raw call when the step names another method. */
async function call(c: CallFields): Promise<CallObservation> {
  const request = { text: c.text, sleepMs: c.sleep_ms, failCode: c.fail_code, failMessage: c.fail_message };
  const options: CallOptions = { timeoutMs: c.timeout_ms, retries: c.retries };
  try {
    if (c.method !== undefined) {
      const bytes = await callMethodRaw(c.service, c.method, toBinary(EchoRequestSchema, create(EchoRequestSchema, request)), options);
      return observed(fromBinary(EchoReplySchema, bytes));
    }
    return observed(await new ConformanceServiceClient({ service: c.service }).echo(request, options));
  } catch (e) {
    if (e instanceof SrpcError) return { code: e.code, message: e.message };
    throw e;
  }
}

/** `count` calls, `concurrency` at a time. */
async function repeat(count: number, concurrency: number, c: CallFields): Promise<object> {
  let next = 0;
  let ok = 0;
  const codes: Record<string, number> = {};
  const instances: Record<string, number> = {};
  async function worker(): Promise<void> {
    while (next < count) {
      next++;
      const r = await call(c);
      if (r.code === 0 && "reply" in r) {
        ok++;
        instances[r.reply.instance] = (instances[r.reply.instance] ?? 0) + 1;
      } else {
        codes[String(r.code)] = (codes[String(r.code)] ?? 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { ok, codes, instances };
}

/**
 * Calls for `seconds`, `concurrency` in flight; latency percentiles of all
 * calls. Measures what an application does: it holds one client and one
 * options object for its calls. The request message is built once because
 * the step's payload is the same for every call (an application builds its
 * message, then the caller encodes it on every call, as here); the reply is
 * decoded on every call but not turned into an observation (only errors
 * are counted).
 */
async function load(seconds: number, concurrency: number, c: CallFields): Promise<object> {
  const client = new ConformanceServiceClient({ service: c.service });
  const request = create(EchoRequestSchema, { text: c.text, sleepMs: c.sleep_ms, failCode: c.fail_code, failMessage: c.fail_message });
  const options: CallOptions = { timeoutMs: c.timeout_ms, retries: c.retries };
  const started = performance.now();
  const end = started + seconds * 1000;
  // Latencies in a typed array that doubles when full: off the JS heap, sorted natively at the end.
  let latencies = new Float64Array(1 << 16);
  let calls = 0;
  let errors = 0;
  async function worker(): Promise<void> {
    // One clock read per call: a call's end is the next call's start.
    let start = performance.now();
    while (start < end) {
      try {
        await client.echo(request, options);
      } catch (e) {
        if (!(e instanceof SrpcError)) throw e;
        errors++;
      }
      const done = performance.now();
      if (calls === latencies.length) {
        const grown = new Float64Array(2 * latencies.length);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[calls++] = done - start;
      start = done;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, calls).sort();
  const at = (q: number): number => (calls === 0 ? 0 : sorted[Math.min(calls - 1, Math.floor(q * calls))]!);
  return { calls, errors, seconds: elapsed, p50_ms: at(0.5), p99_ms: at(0.99) };
}

/** The runtime's NLB balancer on a scripted clock: create the state at 0 ms, report each event at its time. */
function balancer(step: Extract<Step, { op: "balancer" }>): object {
  let now = 0;
  const b = new Balancer({ now: () => now, randomInt: () => 0, ...(step.options ?? {}) });
  const instances = step.instances.map((i) => {
    const route = parseLiteral(i.addr);
    if (route === undefined) throw new Error(`balancer step: "${i.addr}" is not ip:port`);
    return { ...route, weight: i.weight };
  });
  b.pick(step.service, instances);
  for (const e of step.events) {
    now = e.at_ms;
    b.update(step.service, e.addr, e.failed, e.cost_ms);
  }
  return { weights: b.weights(step.service).map((w) => ({ addr: w.address, weight: w.dynamicWeight, dead: w.dead })) };
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done === true) throw new Error("no scenario on stdin");
  const { scenario } = JSON.parse(first.value) as { scenario: { id: string; steps: Step[] } };

  const write = (o: object): void => void process.stdout.write(JSON.stringify(o) + "\n");
  for (const [i, step] of scenario.steps.entries()) {
    switch (step.op) {
      case "call":
        write({ step: i, ...(await call(step)) });
        break;
      case "parallel":
        write({ step: i, results: await Promise.all(step.calls.map(call)) });
        break;
      case "repeat":
        write({ step: i, ...(await repeat(step.count, step.concurrency, step.call)) });
        break;
      case "load":
        write({ step: i, ...(await load(step.seconds, step.concurrency, step.call)) });
        break;
      case "balancer":
        write({ step: i, ...balancer(step) });
        break;
      case "write_file":
        writeFileSync(step.path, step.content);
        write({ step: i });
        break;
      case "sleep":
        await sleep(step.ms);
        write({ step: i });
        break;
      case "notify": {
        write({ step: i, event: step.event });
        const ack = await lines.next();
        if (ack.done === true) throw new Error(`stdin closed while waiting for the ack of "${step.event}"`);
        break;
      }
      default:
        throw new Error(`unknown op ${JSON.stringify((step as { op: unknown }).op)}`);
    }
  }
  closeConnections();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`conformance runner (ts): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
