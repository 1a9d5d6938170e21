/**
 * Writes the NLB scenarios (`nlb-*`) of fixtures/conformance/scenarios.json:
 * their `balancer` steps (scripted call outcomes on a clock) and the weights
 * expected after them, computed by the TypeScript runtime's `Balancer` with
 * an injected clock — the reference every runtime's balancer must match
 * (spec §7.3–7.4, docs/runtime-client.md "Balancer"). The other scenarios
 * are kept as they are; the whole file is rewritten in one stable layout.
 *
 *   npx tsx scripts/conformance-vectors.ts          # rewrite the file
 *   npx tsx scripts/conformance-vectors.ts --check  # exit 1 when it is not up to date
 *
 * A `balancer` step is run the same way by every runner: the balancer is
 * created with the clock at 0 ms and a random source that always answers 0,
 * one `pick` at 0 ms creates the service's state from `instances`, then each
 * event sets the clock to `at_ms` and reports one outcome (`failed` ≥ 1
 * failures, 0 = one success of `cost_ms`); the observation is the weights in
 * the balancer's order (alive first, dead at the tail).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Balancer, parseLiteral } from "@msec-gen/runtime";

const FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/conformance/scenarios.json");
const SERVICE = "Nlb.Vector";

interface Event {
  at_ms: number;
  addr: string;
  failed: number;
  cost_ms: number;
}

interface BalancerStep {
  op: "balancer";
  service: string;
  instances: Array<{ addr: string; weight: number }>;
  events: Event[];
  options?: { shapingRequestMin: number };
}

interface Scenario {
  id: string;
  description: string;
  needs: string[];
  routes?: string[];
  steps: Array<{ op: string }>;
  expect: unknown[];
}

/** `n` outcomes for `addr` at `atMs` (successes cost 5 ms). */
function outcomes(atMs: number, addr: string, n: number, failed: boolean): Event[] {
  return Array.from({ length: n }, () => ({ at_ms: atMs, addr, failed: failed ? 1 : 0, cost_ms: failed ? 0 : 5 }));
}

const A = "10.0.0.1:7963";
const B = "10.0.0.2:7963";
const C = "10.0.0.3:7963";
const three = (weights = [100, 100, 100]): BalancerStep["instances"] => [A, B, C].map((addr, i) => ({ addr, weight: weights[i]! }));

/** One success at the start of a new period: its report triggers the adjustment of the period before. */
const close = (atMs: number, addr = C): Event[] => outcomes(atMs, addr, 1, false);

/** The NLB cases: id, description, steps (each observed after its events). */
const CASES: Array<{ id: string; description: string; steps: BalancerStep[] }> = [
  {
    id: "nlb-steady",
    description: "NLB: servers answering every call keep their static weights (100, 100, 200) period after period",
    steps: [
      {
        op: "balancer",
        service: SERVICE,
        instances: three([100, 100, 200]),
        events: [...outcomes(100, A, 20, false), ...outcomes(200, B, 20, false), ...outcomes(300, C, 40, false), ...close(5000), ...outcomes(6000, A, 20, false), ...close(10000)],
      },
    ],
  },
  {
    id: "nlb-half-failures",
    description: "NLB: a server failing half its calls in a period drops to int(100 × 0.5²) = 25, then grows by 5 per good period",
    steps: [
      {
        op: "balancer",
        service: SERVICE,
        instances: three(),
        events: [...outcomes(100, A, 10, false), ...outcomes(100, A, 10, true), ...outcomes(200, B, 20, false), ...outcomes(300, C, 20, false), ...close(5000)],
      },
      {
        op: "balancer",
        service: SERVICE,
        instances: three(),
        events: [
          ...outcomes(100, A, 10, false), ...outcomes(100, A, 10, true), ...outcomes(200, B, 20, false), ...outcomes(300, C, 20, false), ...close(5000),
          ...outcomes(6000, A, 20, false), ...close(10000), ...outcomes(11000, A, 20, false), ...close(15000),
        ],
      },
    ],
  },
  {
    id: "nlb-dead-and-revive",
    description: "NLB: a server failing every call is dead (moved to the tail); one successful probe in a later period revives it at int(100 × 0.1) = 10",
    steps: [
      {
        op: "balancer",
        service: SERVICE,
        instances: three(),
        events: [...outcomes(100, A, 20, false), ...outcomes(100, B, 12, true), ...outcomes(200, C, 20, false), ...close(5000)],
      },
      {
        op: "balancer",
        service: SERVICE,
        instances: three(),
        events: [...outcomes(100, A, 20, false), ...outcomes(100, B, 12, true), ...outcomes(200, C, 20, false), ...close(5000), ...outcomes(6000, B, 1, false), ...outcomes(6000, A, 20, false), ...close(10000)],
      },
    ],
  },
  {
    id: "nlb-protect-mode",
    description: "NLB: once more than half the servers are below half their static weight, protect mode stops further decreases",
    steps: [
      {
        op: "balancer",
        service: SERVICE,
        instances: three(),
        events: [
          ...outcomes(100, A, 10, false), ...outcomes(100, A, 10, true), ...outcomes(100, B, 10, false), ...outcomes(100, B, 10, true), ...outcomes(100, C, 20, false), ...close(5000),
          ...outcomes(6000, A, 20, false), ...outcomes(6000, B, 20, false), ...outcomes(6000, C, 10, false), ...outcomes(6000, C, 10, true), ...close(10000, A),
        ],
      },
    ],
  },
  {
    id: "nlb-quiet-period-carry-over",
    description: "NLB: an alive server with fewer than 10 requests in a period is not judged; its counts carry over (5 failures, then 5 more: dead)",
    steps: [
      {
        op: "balancer",
        service: SERVICE,
        instances: three(),
        events: [...outcomes(100, A, 5, true), ...outcomes(200, B, 20, false), ...outcomes(300, C, 20, false), ...close(5000)],
      },
      {
        op: "balancer",
        service: SERVICE,
        instances: three(),
        events: [...outcomes(100, A, 5, true), ...outcomes(200, B, 20, false), ...outcomes(300, C, 20, false), ...close(5000), ...outcomes(6000, A, 5, true), ...outcomes(6000, B, 20, false), ...close(10000)],
      },
    ],
  },
  {
    id: "nlb-original-shaping",
    description: "NLB with shapingRequestMin 0 (MSEC's code as shipped): a single failure in a quiet period kills the server",
    steps: [
      {
        op: "balancer",
        service: SERVICE,
        instances: three(),
        options: { shapingRequestMin: 0 },
        events: [...outcomes(100, A, 1, true), ...outcomes(200, B, 20, false), ...outcomes(300, C, 20, false), ...close(5000)],
      },
    ],
  },
];

/** What a runner observes for `step` (the reference computation). */
export function expectedWeights(step: BalancerStep): { weights: Array<{ addr: string; weight: number; dead: boolean }> } {
  let now = 0;
  const balancer = new Balancer({ now: () => now, randomInt: () => 0, ...(step.options ?? {}) });
  const instances = step.instances.map((i) => ({ ...parseLiteral(i.addr)!, weight: i.weight }));
  balancer.pick(step.service, instances);
  for (const e of step.events) {
    now = e.at_ms;
    if (!balancer.update(step.service, e.addr, e.failed, e.cost_ms)) throw new Error(`event for unknown address ${e.addr}`);
  }
  return { weights: balancer.weights(step.service).map((w) => ({ addr: w.address, weight: w.dynamicWeight, dead: w.dead })) };
}

/** The file in its one layout: a scenario's keys one per line, each step and expectation on one line. */
export function formatScenarios(doc: { $comment?: string; scenarios: Scenario[] }): string {
  const j = (v: unknown): string => JSON.stringify(v);
  const list = (items: unknown[], indent: string): string => (items.length === 0 ? "[]" : `[\n${items.map((i) => `${indent}  ${j(i)}`).join(",\n")}\n${indent}]`);
  const scenario = (s: Scenario): string => {
    const lines = [`"id": ${j(s.id)}`, `"description": ${j(s.description)}`, `"needs": ${j(s.needs)}`];
    if (s.routes !== undefined) lines.push(`"routes": ${list(s.routes, "      ")}`);
    lines.push(`"steps": ${list(s.steps, "      ")}`, `"expect": ${list(s.expect, "      ")}`);
    return `    {\n${lines.map((l) => `      ${l}`).join(",\n")}\n    }`;
  };
  const head = doc.$comment !== undefined ? `  "$comment": ${j(doc.$comment)},\n` : "";
  return `{\n${head}  "scenarios": [\n${doc.scenarios.map(scenario).join(",\n")}\n  ]\n}\n`;
}

/** The file as it should be: the hand-written scenarios, then the generated nlb-* ones. */
export function upToDate(current: string): string {
  const doc = JSON.parse(current) as { $comment?: string; scenarios: Scenario[] };
  const kept = doc.scenarios.filter((s) => !s.id.startsWith("nlb-"));
  const nlb = CASES.map((c): Scenario => ({ id: c.id, description: c.description, needs: [], steps: c.steps, expect: c.steps.map(expectedWeights) }));
  return formatScenarios({ ...doc, scenarios: [...kept, ...nlb] });
}

function main(): void {
  const current = readFileSync(FILE, "utf8");
  const wanted = upToDate(current);
  if (process.argv.includes("--check")) {
    if (current !== wanted) {
      process.stderr.write(`${path.relative(process.cwd(), FILE)} is not up to date: run npx tsx scripts/conformance-vectors.ts\n`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(FILE, wanted);
  process.stdout.write(`wrote ${path.relative(process.cwd(), FILE)} (${CASES.length} NLB scenarios)\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
