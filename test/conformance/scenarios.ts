/**
 * The conformance scenarios (fixtures/conformance/scenarios.json): loading,
 * validation (a malformed scenario fails with its id and the field), the
 * placeholders the harness fills in before a runner sees a scenario, and the
 * normalisation of `call` steps (every field present, so runners need no
 * defaults of their own). Format: docs/caller-parity.md, "Scenarios".
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../interop/ts-server.js";
import type { CallFields, Step } from "./runners/ts/steps.js";

export const SCENARIOS_FILE = path.join(REPO_ROOT, "fixtures/conformance/scenarios.json");

/** One call through the generated client (or, with `method`, the runtime's raw call). */
// Step types live beside the TS runner, which is compiled on its own (runners/ts/steps.ts).
export type { CallFields, CallStep, Step } from "./runners/ts/steps.js";

export interface Scenario {
  id: string;
  description: string;
  /** `routes`, `etcd`, `instances:N` (ids a, b, c… of the TS server). */
  needs: string[];
  /** Lines of the scenario's routes file (placeholders allowed); default: every instance under Conformance.Echo. */
  routes?: string[];
  steps: Step[];
  /** One expectation per step (expect.ts). */
  expect: unknown[];
}

export interface ScenarioFile {
  $comment?: string;
  scenarios: Scenario[];
}

const OPS = new Set(["call", "parallel", "repeat", "load", "balancer", "write_file", "sleep", "notify"]);
const ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const NEED = /^(routes|etcd|instances:[1-9])$/;

function fail(where: string, what: string): never {
  throw new Error(`${path.relative(REPO_ROOT, SCENARIOS_FILE)}: ${where}: ${what}`);
}

function checkCall(where: string, c: Partial<CallFields>): void {
  if (typeof c.service !== "string" || c.service === "") fail(where, "service must be a non-empty string");
  if (typeof c.timeout_ms !== "number" || !(c.timeout_ms > 0)) fail(where, "timeout_ms must be a number > 0");
  for (const k of ["sleep_ms", "fail_code", "retries"] as const) {
    if (c[k] !== undefined && !Number.isInteger(c[k])) fail(where, `${k} must be an integer`);
  }
  for (const k of ["text", "fail_message", "method"] as const) {
    if (c[k] !== undefined && typeof c[k] !== "string") fail(where, `${k} must be a string`);
  }
}

/** Reads and checks the scenario file. */
export function loadScenarios(file = SCENARIOS_FILE): Scenario[] {
  const doc = JSON.parse(readFileSync(file, "utf8")) as ScenarioFile;
  if (!Array.isArray(doc.scenarios)) fail("(top)", "scenarios must be an array");
  const seen = new Set<string>();
  for (const [n, s] of doc.scenarios.entries()) {
    const where = `scenario ${n} (${String(s.id)})`;
    if (typeof s.id !== "string" || !ID.test(s.id)) fail(where, "id must be lower-case words joined by '-'");
    if (seen.has(s.id)) fail(where, "duplicate id");
    seen.add(s.id);
    if (typeof s.description !== "string" || s.description === "") fail(where, "description is missing");
    if (!Array.isArray(s.needs) || !s.needs.every((x) => NEED.test(x))) fail(where, `needs must list ${NEED.source}`);
    if (!Array.isArray(s.steps) || s.steps.length === 0) fail(where, "steps must be a non-empty array");
    if (!Array.isArray(s.expect) || s.expect.length !== s.steps.length) fail(where, `expect must have one entry per step (${s.steps.length})`);
    for (const [i, step] of s.steps.entries()) {
      const at = `${where} step ${i}`;
      if (!OPS.has(step.op)) fail(at, `unknown op "${String(step.op)}"`);
      if (step.op === "call") checkCall(at, step);
      if (step.op === "parallel") step.calls.forEach((c, j) => checkCall(`${at} calls[${j}]`, c));
      if (step.op === "repeat" || step.op === "load") checkCall(`${at} call`, step.call);
    }
  }
  return doc.scenarios;
}

/** Instance ids a scenario needs (`instances:3` → a, b, c). */
export function instanceIds(needs: readonly string[]): string[] {
  const n = Number(needs.find((x) => x.startsWith("instances:"))?.slice("instances:".length) ?? 0);
  return Array.from({ length: n }, (_, i) => String.fromCharCode("a".charCodeAt(0) + i));
}

/** Values of the placeholders: `{{addr:<id>}}`, `{{addr:closed}}`, `{{routes_file}}`, `{{dir}}`. */
export type Placeholders = Record<string, string>;

/** Replaces every `{{name}}` in every string of `value`; an unknown name is an error. */
export function fillPlaceholders<T>(value: T, values: Placeholders, where: string): T {
  return JSON.parse(
    JSON.stringify(value, (_, v: unknown) =>
      typeof v === "string"
        ? v.replace(/\{\{([^}]+)\}\}/g, (_m, name: string) => {
            const got = values[name];
            if (got === undefined) throw new Error(`${where}: unknown placeholder {{${name}}} (known: ${Object.keys(values).join(", ")})`);
            return got;
          })
        : v,
    ),
  ) as T;
}

function normalCall(c: Partial<CallFields>): CallFields {
  return {
    service: c.service!,
    text: c.text ?? "",
    sleep_ms: c.sleep_ms ?? 0,
    fail_code: c.fail_code ?? 0,
    fail_message: c.fail_message ?? "",
    timeout_ms: c.timeout_ms!,
    retries: c.retries ?? 0,
    ...(c.method !== undefined ? { method: c.method } : {}),
  };
}

/** The steps as a runner receives them: every call field present. */
export function normalizeSteps(steps: readonly Step[]): Step[] {
  return steps.map((s): Step => {
    switch (s.op) {
      case "call":
        return { op: "call", ...normalCall(s) };
      case "parallel":
        return { op: "parallel", calls: s.calls.map(normalCall) };
      case "repeat":
      case "load":
        return { ...s, call: normalCall(s.call) };
      default:
        return s;
    }
  });
}
