/**
 * The conformance harness: starts what a scenario needs (instances of the TS
 * conformance server, a real etcd, a routes file), runs one language's runner
 * process per scenario with the stdin/stdout protocol of docs/caller-parity.md,
 * handles its `notify` events (SIGKILL of an instance) and compares every
 * observation with the scenario's `expect` (expect.ts). Expectations are
 * checked here only, once, in TypeScript.
 *
 * A language plugs in with `test/conformance/langs/<lang>.ts` (a `Language`)
 * and `test/conformance/<lang>.test.ts` (`describeConformance(language)`,
 * conformance-suite.ts).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { type EtcdCluster, startEtcd } from "../etcd/etcd-process.js";
import { freePort } from "../free-port.js";
import { type Bindings, match } from "./expect.js";
import { type Scenario, fillPlaceholders, instanceIds, normalizeSteps, type Placeholders } from "./scenarios.js";
import { buildConformanceServer, CONFORMANCE_SERVICE, type Instance, startInstance } from "./server.js";

/** How long one runner process may take for one scenario before it is killed. */
export const SCENARIO_TIMEOUT_MS = 60_000;
/** Lease TTL of instances registered in etcd (seconds). */
export const ETCD_TTL_SECONDS = 2;

/** How to start a built runner. */
export interface RunnerCommand {
  command: string;
  args: string[];
  /** Extra environment (e.g. PYTHONDONTWRITEBYTECODE). */
  env?: Record<string, string>;
}

/** A language's plug-in (test/conformance/langs/<lang>.ts). */
export interface Language {
  /** Name used in messages, the capability table and bench keys (`ts`, `python`, `python-async`, …). */
  name: string;
  /**
   * Builds the runner once under `work`: generates the caller for
   * conformance.proto with msec-gen, installs it as its README says, builds
   * `test/conformance/runners/<lang>/` against it. Returns how to start it.
   * Throws with the tool's output when something fails.
   */
  build(work: string): Promise<RunnerCommand>;
  /**
   * Tells why the runner cannot be built on this machine (toolchain missing),
   * or `undefined` when it can. Used by `npm run bench:callers` only; the
   * conformance test of a language fails when its toolchain is missing.
   */
  unavailable?(): Promise<string | undefined>;
  /** Scenario ids this language does not support, with the reason (shown by the test and the capability table). */
  unsupported: Record<string, string>;
  /**
   * Scenario ids expected to FAIL today, with the reason (a known gap being
   * fixed elsewhere). The test runs them and fails if one passes, so the list
   * shrinks as soon as the gap closes.
   */
  expectedFailures: Record<string, string>;
}

/** What one runner run produced. */
export interface ScenarioRun {
  observations: Array<Record<string, unknown>>;
  stderr: string;
  exitCode: number | null;
  /** Mismatches, each a complete message naming scenario, step, language, expected and observed. */
  failures: string[];
  ms: number;
}

/**
 * Servers and etcd for the scenarios of one needs-group; started once and
 * reused while consecutive scenarios need the same things (the tests sort
 * scenarios by `needsKey`). Instances a scenario killed are started again
 * (same id and port) before the next one.
 */
export class ConformanceEnv {
  private serverDir: string | undefined;
  private key: string | undefined;
  private etcd: EtcdCluster | undefined;
  private etcdPrefix = "";
  private readonly instances = new Map<string, Instance>();
  private closedPort = 0;

  constructor(private readonly work: string) {}

  /** Builds the TS conformance server (once). */
  async build(): Promise<void> {
    this.serverDir ??= await buildConformanceServer(path.join(this.work, "server"));
  }

  /** Makes the environment match `needs`: restarts only what differs. */
  async prepare(needs: readonly string[]): Promise<void> {
    if (instanceIds(needs).length > 0) await this.build();
    const key = needsKey(needs);
    if (key !== this.key) {
      await this.stop();
      this.key = key;
      if (needs.includes("etcd")) {
        this.etcd = await startEtcd(1);
        this.etcdPrefix = `/conformance-${process.pid}-${Date.now()}`;
      }
      for (const id of instanceIds(needs)) await this.startInstance(id, await freePort());
    }
    for (const [id, instance] of this.instances) {
      if (!instance.alive()) await this.startInstance(id, instance.port);
    }
    this.closedPort ||= await freePort();
  }

  private async startInstance(id: string, port: number): Promise<void> {
    const etcd = this.etcd === undefined ? undefined : { endpoints: this.etcd.endpoints, prefix: this.etcdPrefix, ttlSeconds: ETCD_TTL_SECONDS };
    const home = path.join(this.work, "instances", `${id}-${port}-${Date.now()}`);
    this.instances.set(id, await startInstance(this.serverDir!, home, id, port, etcd));
  }

  /** Placeholder values for the current group. */
  placeholders(dir: string, routesFile: string): Placeholders {
    const values: Placeholders = { "addr:closed": `127.0.0.1:${this.closedPort}`, routes_file: routesFile, dir };
    for (const [id, instance] of this.instances) values[`addr:${id}`] = instance.address;
    return values;
  }

  /** Environment of a runner: the routes file, and etcd when the group has one. */
  runnerEnv(routesFile: string): Record<string, string> {
    const env: Record<string, string> = { MSEC_ROUTES: routesFile };
    if (this.etcd !== undefined) {
      env["MSEC_ETCD_ENDPOINTS"] = this.etcd.endpoints.join(",");
      env["MSEC_ETCD_PREFIX"] = this.etcdPrefix;
    }
    return env;
  }

  /** Lines of the default routes file: every instance under Conformance.Echo (none with etcd). */
  defaultRoutes(): string[] {
    if (this.etcd !== undefined) return [];
    return [...this.instances.values()].map((i) => `${CONFORMANCE_SERVICE} ${i.address} weight=100`);
  }

  /** Runs a `notify` event; returns an error text, or undefined when done. */
  async handleEvent(event: string): Promise<string | undefined> {
    const kill = /^kill:([a-z])$/.exec(event);
    if (kill) {
      const instance = this.instances.get(kill[1]!);
      if (instance === undefined) return `event "${event}": no instance ${kill[1]} in this scenario`;
      await instance.kill();
      return undefined;
    }
    return `unknown event "${event}" (known: kill:<id>)`;
  }

  /** Output of every instance, for failure messages. */
  serverOutput(): string {
    return [...this.instances.values()].map((i) => `--- instance ${i.id} (${i.address}):\n${i.output()}`).join("\n");
  }

  async stop(): Promise<void> {
    for (const instance of this.instances.values()) await instance.stop();
    this.instances.clear();
    await this.etcd?.stop();
    this.etcd = undefined;
    this.key = undefined;
  }
}

/** Scenarios with the same key share servers (sorted: instances then etcd). */
export function needsKey(needs: readonly string[]): string {
  return [...needs].sort().join(",");
}

/** The scenario as sent to a runner: placeholders filled, call steps normalised. */
export function runnerScenario(scenario: Scenario, values: Placeholders): Pick<Scenario, "id" | "steps"> {
  return { id: scenario.id, steps: fillPlaceholders(normalizeSteps(scenario.steps), values, `scenario ${scenario.id}`) };
}

/** Runs `scenario` with `runner` of `lang` in `env` and compares the observations with its expectations. */
export async function runScenario(lang: string, runner: RunnerCommand, scenario: Scenario, env: ConformanceEnv, work: string): Promise<ScenarioRun> {
  const started = Date.now();
  await env.prepare(scenario.needs);
  mkdirSync(work, { recursive: true });
  const dir = mkdtempSync(path.join(work, `${scenario.id}-`));
  const routesFile = path.join(dir, "routes.conf");
  const values = env.placeholders(dir, routesFile);
  const routes = scenario.routes === undefined ? env.defaultRoutes() : fillPlaceholders(scenario.routes, values, `scenario ${scenario.id} routes`);
  writeFileSync(routesFile, `# routes of conformance scenario ${scenario.id}\n${routes.map((l) => l + "\n").join("")}`);
  const sent = runnerScenario(scenario, values);

  const child = spawn(runner.command, runner.args, {
    cwd: dir,
    env: { ...process.env, ...runner.env, ...env.runnerEnv(routesFile) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const failures: string[] = [];
  const observations: Array<Record<string, unknown>> = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  child.stdin.on("error", () => {}); // a runner that exits early: reported by its exit code
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const timer = setTimeout(() => {
    failures.push(`[${lang}] scenario "${scenario.id}": runner did not finish within ${SCENARIO_TIMEOUT_MS} ms (killed)`);
    child.kill("SIGKILL");
  }, SCENARIO_TIMEOUT_MS);
  child.stdin.write(JSON.stringify({ scenario: sent }) + "\n");

  for await (const line of lines) {
    let observation: Record<string, unknown>;
    try {
      observation = JSON.parse(line) as Record<string, unknown>;
    } catch {
      failures.push(`[${lang}] scenario "${scenario.id}": runner wrote a line that is not JSON: ${JSON.stringify(line)}`);
      continue;
    }
    observations.push(observation);
    const step = sent.steps[observation["step"] as number];
    if (step?.op === "notify" && typeof observation["event"] === "string") {
      const problem = await env.handleEvent(observation["event"]);
      if (problem !== undefined) failures.push(`[${lang}] scenario "${scenario.id}" step ${String(observation["step"])}: ${problem}`);
      child.stdin.write("go\n");
    }
  }
  const exitCode = await exited;
  clearTimeout(timer);
  child.stdin.end();

  if (exitCode !== 0) failures.push(`[${lang}] scenario "${scenario.id}": runner exited with ${exitCode}; stderr:\n${stderr}`);
  failures.push(...compare(lang, scenario, sent.steps, observations));
  if (failures.length === 0) rmSync(dir, { recursive: true, force: true });
  else failures.push(`(runner folder kept: ${dir})`);
  return { observations, stderr, exitCode, failures, ms: Date.now() - started };
}

/** Mismatches between the observations and the scenario's expectations, one message per step. */
export function compare(lang: string, scenario: Scenario, steps: readonly { op: string }[], observations: ReadonlyArray<Record<string, unknown>>): string[] {
  const failures: string[] = [];
  const bindings: Bindings = new Map();
  for (const [i, step] of steps.entries()) {
    const at = `[${lang}] scenario "${scenario.id}" step ${i} (${step.op})`;
    const observed = observations.find((o) => o["step"] === i);
    if (observed === undefined) {
      failures.push(`${at}: no observation`);
      continue;
    }
    const { step: _index, ...rest } = observed;
    const expected = scenario.expect[i];
    const problems = match(expected, rest, "observation", bindings);
    if (problems.length > 0) {
      failures.push(`${at}:\n  ${problems.join("\n  ")}\n  expected: ${JSON.stringify(expected)}\n  observed: ${JSON.stringify(rest)}`);
    }
  }
  const order = observations.map((o) => o["step"]);
  const wantOrder = steps.map((_, i) => i);
  if (JSON.stringify(order) !== JSON.stringify(wantOrder)) {
    failures.push(`[${lang}] scenario "${scenario.id}": observations for steps ${JSON.stringify(order)}, expected ${JSON.stringify(wantOrder)} in order`);
  }
  return failures;
}

/** A fresh work folder under the system temp folder. */
export function workFolder(lang: string): string {
  return mkdtempSync(path.join(tmpdir(), `msec-conformance-${lang}-`));
}
