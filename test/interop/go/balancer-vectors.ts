/**
 * Balancer vectors for the Go runtime, produced by the TypeScript runtime's
 * `Balancer` (the reference): scripted picks, outcome reports, refused
 * connections and clock steps on an injected clock, with every random draw
 * (its bound and value) and the weights after every step recorded (written
 * only where they changed). The Go
 * test (runtimes/go/balancer_test.go) replays each script with the recorded
 * draws and must pick the same servers and reach the same weights.
 *
 *   node --import tsx test/interop/go/balancer-vectors.ts > runtimes/go/testdata/balancer-vectors.json
 *
 * test/interop/go-balancer.test.ts checks that the committed file is what
 * this script writes today.
 */
import { Balancer, type RouteInstance } from "@msec-gen/runtime";

type Step =
  | { at_ms: number; op: "pick"; pick: string | null; weights: Weight }
  | { at_ms: number; op: "update"; addr: string; failed: number; cost_ms: number; known: boolean; weights: Weight }
  | { at_ms: number; op: "refused"; addr: string; known: boolean; weights: Weight }
  | { at_ms: number; op: "tick"; weights: Weight };
/** The balancer's weights after a step, in its order: "ip:port dynamic/static[ dead]", comma-separated. */
type Weight = string;

function weightsOf(b: Balancer, service: string): Weight {
  return b
    .weights(service)
    .map((w) => `${w.address} ${w.dynamicWeight}/${w.staticWeight}${w.dead ? " dead" : ""}`)
    .join(", ");
}

export interface Vector {
  name: string;
  shapingRequestMin?: number;
  service: string;
  instances: { ip: string; port: number; type: "tcp" | "udp"; weight: number }[];
  /** Every randomInt(n) call in order: [n, value]. */
  draws: [number, number][];
  steps: Step[];
}

/** A deterministic 31-bit LCG, so the vectors do not change between runs. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 1;
  };
}

type Op =
  | { op: "pick" }
  | { op: "update"; addr: string; failed: number; cost_ms: number }
  | { op: "refused"; addr: string }
  | { op: "tick" };

/** The service every script balances. */
const SERVICE = "Conformance.Echo";

/** A balancer on a scripted clock whose random draws come from lcg(seed) and are recorded. */
function recordingBalancer(seed: number, shapingRequestMin: number | undefined) {
  const clock = { now: 0 };
  const next = lcg(seed);
  const draws: [number, number][] = [];
  const balancer = new Balancer({
    now: () => clock.now,
    randomInt: (n) => {
      const v = next() % n;
      draws.push([n, v]);
      return v;
    },
    ...(shapingRequestMin === undefined ? {} : { shapingRequestMin }),
  });
  return { balancer, clock, draws };
}

/** The vector of a recorded script. */
function vectorOf(name: string, instances: RouteInstance[], draws: [number, number][], steps: Step[], shapingRequestMin: number | undefined): Vector {
  return {
    name,
    ...(shapingRequestMin === undefined ? {} : { shapingRequestMin }),
    service: SERVICE,
    instances: instances.map((i) => ({ ip: i.ip, port: i.port, type: i.type, weight: i.weight })),
    draws,
    steps,
  };
}

function record(name: string, instances: RouteInstance[], script: (emit: (at: number, op: Op) => void) => void, seed: number, shapingRequestMin?: number): Vector {
  const { balancer: b, clock, draws } = recordingBalancer(seed, shapingRequestMin);
  const service = SERVICE;
  const steps: Step[] = [];
  script((at, op) => {
    clock.now = at;
    if (op.op === "pick") {
      const r = b.pick(service, instances);
      steps.push({ at_ms: at, op: "pick", pick: r === undefined ? null : `${r.ip}:${r.port}`, weights: weightsOf(b, service) });
    } else if (op.op === "update") {
      const known = b.update(service, op.addr, op.failed, op.cost_ms);
      steps.push({ at_ms: at, ...op, known, weights: weightsOf(b, service) });
    } else if (op.op === "refused") {
      const known = b.markRefused(service, op.addr);
      steps.push({ at_ms: at, ...op, known, weights: weightsOf(b, service) });
    } else {
      b.tick(service);
      steps.push({ at_ms: at, op: "tick", weights: weightsOf(b, service) });
    }
  });
  return vectorOf(name, instances, draws, steps, shapingRequestMin);
}

const inst = (ip: string, weight = 100, port = 7963): RouteInstance => ({ ip, port, type: "tcp", weight });
const addr = (ip: string, port = 7963) => `${ip}:${port}`;

const vectors: Vector[] = [];

function add(name: string, instances: RouteInstance[], script: (emit: (at: number, op: Op) => void) => void, seed: number, shapingRequestMin?: number) {
  vectors.push(record(name, instances, script, seed, shapingRequestMin));
}

// Hand-written scripts, one behaviour each.
const four = [inst("10.0.0.1"), inst("10.0.0.2"), inst("10.0.0.3", 200), inst("10.0.0.4")];
const repeat = (emit: (at: number, op: Op) => void, at: number, a: string, failed: number, n: number) => {
  for (let i = 0; i < n; i++) emit(at, { op: "update", addr: a, failed, cost_ms: failed ? 0 : 3 });
};

add("ratio² decrease, death at 0 %, carry-over below 10 requests, growth capped at static", four, (emit) => {
  emit(0, { op: "pick" });
  repeat(emit, 10, addr("10.0.0.1"), 0, 20);
  repeat(emit, 10, addr("10.0.0.2"), 0, 18);
  repeat(emit, 10, addr("10.0.0.2"), 1, 2);
  repeat(emit, 10, addr("10.0.0.3"), 1, 10);
  repeat(emit, 10, addr("10.0.0.4"), 1, 5);
  emit(4999, { op: "tick" });
  emit(5000, { op: "tick" });
  repeat(emit, 5001, addr("10.0.0.4"), 0, 5);
  repeat(emit, 5001, addr("10.0.0.2"), 0, 10);
  emit(10000, { op: "tick" });
  repeat(emit, 10001, addr("10.0.0.2"), 0, 10);
  emit(15000, { op: "tick" });
}, 1);

add("probing dead servers with the dead pool and per-period tokens, then revival", [inst("10.0.0.1"), inst("10.0.0.2")], (emit) => {
  emit(0, { op: "pick" });
  repeat(emit, 1, addr("10.0.0.2"), 1, 12);
  repeat(emit, 1, addr("10.0.0.1"), 0, 300);
  emit(5000, { op: "tick" });
  for (let i = 0; i < 400; i++) emit(5001 + i, { op: "pick" });
  repeat(emit, 6000, addr("10.0.0.2"), 0, 3);
  emit(10000, { op: "tick" });
  for (let i = 0; i < 50; i++) emit(10001 + i, { op: "pick" });
}, 2);

add("shapingRequestMin 0: one failure in a quiet period kills (MSEC's original)", [inst("10.0.0.1"), inst("10.0.0.2")], (emit) => {
  emit(0, { op: "pick" });
  emit(1, { op: "update", addr: addr("10.0.0.2"), failed: 1, cost_ms: 0 });
  emit(2, { op: "update", addr: addr("10.0.0.1"), failed: 0, cost_ms: 4 });
  emit(5000, { op: "tick" });
}, 3, 0);

add("protect mode: more than half the servers low, no decreases, base = global ratio", [inst("10.0.0.1"), inst("10.0.0.2"), inst("10.0.0.3")], (emit) => {
  emit(0, { op: "pick" });
  repeat(emit, 1, addr("10.0.0.1"), 0, 4);
  repeat(emit, 1, addr("10.0.0.1"), 1, 6);
  repeat(emit, 1, addr("10.0.0.2"), 0, 3);
  repeat(emit, 1, addr("10.0.0.2"), 1, 7);
  repeat(emit, 1, addr("10.0.0.3"), 0, 20);
  emit(5000, { op: "tick" });
  repeat(emit, 5001, addr("10.0.0.1"), 0, 5);
  repeat(emit, 5001, addr("10.0.0.1"), 1, 5);
  repeat(emit, 5001, addr("10.0.0.2"), 0, 2);
  repeat(emit, 5001, addr("10.0.0.2"), 1, 8);
  repeat(emit, 5001, addr("10.0.0.3"), 0, 10);
  emit(10000, { op: "tick" });
}, 4);

add("per-pick 60 % check replaces a failing server by a uniform pick; all dead → uniform", [inst("10.0.0.1", 1000), inst("10.0.0.2", 1)], (emit) => {
  emit(0, { op: "pick" });
  repeat(emit, 1, addr("10.0.0.1"), 1, 8);
  repeat(emit, 1, addr("10.0.0.1"), 0, 4);
  for (let i = 0; i < 30; i++) emit(2 + i, { op: "pick" });
  repeat(emit, 100, addr("10.0.0.1"), 1, 20);
  repeat(emit, 100, addr("10.0.0.2"), 1, 20);
  emit(5000, { op: "tick" });
  for (let i = 0; i < 10; i++) emit(5001 + i, { op: "pick" });
}, 5);

add("refused connection: dead at once, no picks (not even probes) for 5 s, then probed", [inst("10.0.0.1"), inst("10.0.0.2"), inst("10.0.0.3")], (emit) => {
  emit(0, { op: "pick" });
  emit(10, { op: "refused", addr: addr("10.0.0.2") });
  emit(11, { op: "refused", addr: addr("10.9.9.9") });
  for (let i = 0; i < 200; i++) emit(12 + i * 20, { op: "pick" });
  repeat(emit, 4990, addr("10.0.0.1"), 0, 200);
  for (let i = 0; i < 400; i++) emit(5010 + i, { op: "pick" });
  emit(5600, { op: "update", addr: "10.0.0.3", failed: 0, cost_ms: 2 });
  emit(5601, { op: "update", addr: addr("10.0.0.7"), failed: 0, cost_ms: 2 });
}, 6);

/** Like record(), but the script sees each pick's result, so outcomes can follow the real picks. */
function recordLoop(name: string, seed: number, instances: RouteInstance[], failPerMille: (ip: string, at: number) => number, calls: number, stepMs: number, shapingRequestMin?: number): Vector {
  const { balancer: b, clock, draws } = recordingBalancer(seed, shapingRequestMin);
  const outcome = lcg(seed * 7919 + 1);
  const service = SERVICE;
  const steps: Step[] = [];
  for (let i = 0; i < calls; i++) {
    clock.now += outcome() % stepMs;
    const now = clock.now;
    const r = b.pick(service, instances)!;
    const picked = `${r.ip}:${r.port}`;
    steps.push({ at_ms: now, op: "pick", pick: picked, weights: weightsOf(b, service) });
    const failed = outcome() % 1000 < failPerMille(r.ip, now) ? 1 : 0;
    const cost = failed ? 0 : 1 + (outcome() % 20);
    const known = b.update(service, picked, failed, cost);
    steps.push({ at_ms: now, op: "update", addr: picked, failed, cost_ms: cost, known, weights: weightsOf(b, service) });
  }
  clock.now += 5000;
  b.tick(service);
  steps.push({ at_ms: clock.now, op: "tick", weights: weightsOf(b, service) });
  return vectorOf(name, instances, draws, steps, shapingRequestMin);
}

vectors.push(
  recordLoop(
    "workload: one server fails 30 % for 12 s, another fails every call from 8 s to 22 s",
    11,
    [inst("10.0.0.1"), inst("10.0.0.2", 300), inst("10.0.0.3"), inst("10.0.0.4", 50)],
    (ip, at) => (ip === "10.0.0.1" && at < 12000 ? 300 : ip === "10.0.0.3" && at >= 8000 && at < 22000 ? 1000 : 5),
    1500,
    40,
  ),
  recordLoop(
    "workload with shapingRequestMin 0",
    12,
    [inst("10.0.0.1"), inst("10.0.0.2"), inst("10.0.0.3")],
    (ip, at) => (ip === "10.0.0.2" ? 150 : ip === "10.0.0.3" && at > 5000 ? 900 : 0),
    800,
    25,
    0,
  ),
);

// One step per line, so a change shows as a readable diff.
const lines = ['{"generatedBy": "test/interop/go/balancer-vectors.ts", "vectors": ['];
vectors.forEach((v, i) => {
  const { steps, draws, ...rest } = v;
  lines.push(`${JSON.stringify(rest).slice(0, -1)}, "draws": ${JSON.stringify(draws)}, "steps": [`);
  // weights only where they changed: the Go test compares after every step against the last one given.
  let last = "";
  steps.forEach((s, j) => {
    const step: Record<string, unknown> = { ...s };
    if (s.weights === last) delete step.weights;
    last = s.weights;
    lines.push(`  ${JSON.stringify(step)}${j < steps.length - 1 ? "," : ""}`);
  });
  lines.push(`]}${i < vectors.length - 1 ? "," : ""}`);
});
lines.push("]}");
process.stdout.write(`${lines.join("\n")}\n`);
