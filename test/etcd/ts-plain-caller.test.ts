/**
 * A plain TypeScript program using the generated TS caller (installed as its
 * README says) finds a TS server only through etcd: the program has no
 * routing code, its environment names etcd (`MSEC_ETCD_ENDPOINTS`,
 * `MSEC_ETCD_PREFIX`) and no routes file exists. It must also exit by itself
 * once its calls are done — the runtime's etcd watch may not keep Node alive —
 * so the test waits for the exit and never kills the program.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  callMethodRaw,
  closeConnections,
  createConfiguredEtcdResolver,
  createEtcdResolver,
  getRoute,
  registerResolver,
  setConfiguredEtcdResolver,
  unregisterResolver,
} from "@msec-gen/runtime";
import { REPO_ROOT, runOk } from "../interop/ts-server.js";
import { installTsCaller } from "../conformance/langs/ts.js";
import { buildConformanceServer, ECHO_METHOD, type Instance, startInstance } from "../conformance/server.js";
import { type EtcdCluster, freePort, startEtcd } from "./etcd-process.js";

/** How long the program may take to call and exit on a loaded machine; a watch that kept it alive would never exit. */
const EXIT_BOUND_MS = 30_000;
const PREFIX = "/plain-ts";

/** The user's program: one import, two calls by routing name, no routing code, no close, no exit. */
const PROGRAM = `import { ConformanceServiceClient } from "conformance.echo-caller";

const client = new ConformanceServiceClient(); // routing name "Conformance.Echo"
for (const text of ["first", "second"]) {
  const reply = await client.echo({ text }, { timeoutMs: 5000 });
  console.log(JSON.stringify({ text: reply.text, instance: reply.instance }));
}
`;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from start to exit. */
  ms: number;
}

/** Runs the built program in `cwd` with `env`; resolves when it exits, or rejects (after killing it) past `EXIT_BOUND_MS`. */
function runProgram(program: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Exit> {
  const started = Date.now();
  const child = spawn(process.execPath, [program], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the program did not exit by itself within ${EXIT_BOUND_MS} ms (stdout: ${stdout}, stderr: ${stderr})`));
    }, EXIT_BOUND_MS);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The environment of a user's shell, minus any routing settings the test process has. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ["MSEC_ROUTES", "MSEC_ETCD_ENDPOINTS", "MSEC_ETCD_PREFIX", "MSEC_SERVICE_NAME"]) if (!(key in extra)) delete env[key];
  return env;
}

describe("a plain TS caller program resolves through MSEC_ETCD_ENDPOINTS", () => {
  let work: string;
  let etcd: EtcdCluster;
  let instance: Instance;
  let program: string;
  /** Working folder of the program: empty, so there is no etc/routes.conf nor etc/config.ini. */
  let cwd: string;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), "ts-plain-caller-"));
    const app = path.join(work, "app");
    mkdirSync(app);
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "plain-caller", version: "0.0.0", private: true, type: "module" }, null, 2));
    writeFileSync(path.join(app, "main.ts"), PROGRAM);
    writeFileSync(
      path.join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, types: [], outDir: "dist" }, include: ["main.ts"] }),
    );
    const [cluster, serverDir] = await Promise.all([startEtcd(1), buildConformanceServer(path.join(work, "server")), installTsCaller(work, app)]);
    etcd = cluster;
    await runOk(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(app, "tsconfig.json")]);
    program = path.join(app, "dist/main.js");
    instance = await startInstance(serverDir, path.join(work, "instance-a"), "a", await freePort(), { endpoints: etcd.endpoints, prefix: PREFIX, ttlSeconds: 2 });
    cwd = path.join(work, "cwd");
    mkdirSync(cwd);
  });

  after(async () => {
    setConfiguredEtcdResolver(createConfiguredEtcdResolver());
    closeConnections();
    await instance?.stop();
    await etcd?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  test("with only MSEC_ETCD_ENDPOINTS and MSEC_ETCD_PREFIX set, the program calls the server found in etcd and exits 0 by itself", async () => {
    const run = await runProgram(program, cwd, cleanEnv({ MSEC_ETCD_ENDPOINTS: etcd.endpoints.join(","), MSEC_ETCD_PREFIX: PREFIX }));
    assert.equal(run.stderr, "");
    assert.deepEqual(
      run.stdout.trim().split("\n").map((l) => JSON.parse(l) as unknown),
      [
        { text: "first", instance: "a" },
        { text: "second", instance: "a" },
      ],
    );
    assert.equal(run.signal, null);
    assert.equal(run.code, 0);
  });

  test("without MSEC_ETCD_ENDPOINTS the same program finds no route (-15, looking only at the routes file) and exits 1", async () => {
    const run = await runProgram(program, cwd, cleanEnv({}));
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /get route failed: no route for Conformance\.Echo \(looked in: routes file etc\/routes\.conf \(missing\)\)/);
    assert.equal(run.code, 1);
  });

  test("a prefix with nothing registered under it: -15 names etcd and the routes file, and the program still exits by itself", async () => {
    const run = await runProgram(program, cwd, cleanEnv({ MSEC_ETCD_ENDPOINTS: etcd.endpoints.join(","), MSEC_ETCD_PREFIX: "/nobody-here" }));
    assert.equal(run.stdout, "");
    assert.match(run.stderr, new RegExp(`looked in: etcd ${etcd.endpoints[0]!.replace(/[.]/g, "\\.")} prefix /nobody-here, routes file etc/routes\\.conf \\(missing\\)\\)`));
    assert.equal(run.signal, null);
    assert.equal(run.code, 1);
  });

  test("a malformed MSEC_ETCD_ENDPOINTS is a -15 naming the variable", async () => {
    const run = await runProgram(program, cwd, cleanEnv({ MSEC_ETCD_ENDPOINTS: "etcd-without-scheme:2379" }));
    assert.match(run.stderr, /get route failed for Conformance\.Echo: \$MSEC_ETCD_ENDPOINTS: invalid etcd endpoint "etcd-without-scheme:2379" \(expected http:\/\/host:port\)/);
    assert.equal(run.code, 1);
  });

  test("in process: the configured resolver (given its environment) resolves the name; it stands aside for a registered resolver of the same etcd", async () => {
    const configured = createConfiguredEtcdResolver({ env: { MSEC_ETCD_ENDPOINTS: etcd.endpoints.join(","), MSEC_ETCD_PREFIX: PREFIX }, configFile: path.join(work, "no-such-config.ini") });
    setConfiguredEtcdResolver(configured);
    // EchoRequest{text: "in process"}; the reply's field 2 is the instance id.
    const text = Buffer.from("in process");
    const reply = await callMethodRaw("Conformance.Echo", ECHO_METHOD, Uint8Array.from([0x0a, text.length, ...text]), { timeoutMs: 5000 });
    assert.ok(Buffer.from(reply).includes(Buffer.from([0x12, 1, 0x61])), "served by instance a");
    assert.equal(configured.current()?.prefix, PREFIX);
    assert.deepEqual(configured.wanted([]), true);
    const own = createEtcdResolver({ endpoints: etcd.endpoints, prefix: PREFIX });
    registerResolver(own);
    try {
      assert.equal(configured.wanted([own]), false);
      const other = createEtcdResolver({ endpoints: etcd.endpoints, prefix: "/another" });
      assert.equal(configured.wanted([other]), true);
      other.close();
      assert.deepEqual(await getRoute("Conformance.Echo"), { ip: "127.0.0.1", port: instance.port, type: "tcp" });
    } finally {
      own.close();
      unregisterResolver(own);
    }
  });
});
