/**
 * Issue 13's acceptance for C++: a C++ program using the generated caller of
 * fixtures/echo/echo.proto (built with add_subdirectory as its README says)
 * calls TypeScript echo servers it finds only through etcd — no routes file;
 * the runtime reads MSEC_ETCD_ENDPOINTS / MSEC_ETCD_PREFIX as a user's program
 * would — and survives the SIGKILL of one of three instances under load with
 * ≥ 99.9 % success (modelled on test/etcd/failover.test.ts): calls in flight
 * to the killed server fail with -13 right after the kill, refused
 * connections are retried on another instance (retries: 2), and the balancer
 * holds the killed server out as dead.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type EtcdCluster, startEtcd } from "../etcd/etcd-process.js";
import { exited, startEchoServer } from "../etcd/registered-echo.js";
import { buildConsumer, generateCppCaller, run, toolEnv } from "./cpp-toolchain.js";

/** Client threads, load before the kill and after it. */
const THREADS = 6;
const BEFORE_KILL_MS = 1000;
const AFTER_KILL_MS = 3000;
const PREFIX = "/cpp-etcd";

interface LoadSummary {
  before: number;
  before_ok: number;
  during: number;
  during_ok: number;
  failures: Array<{ code: number; address: string; sent: boolean; after_ms: number }>;
  weights: Array<{ address: string; weight: number; dead: boolean }>;
}

describe("C++ caller on etcd routes (no routes file)", () => {
  let etcd: EtcdCluster;
  let build: string;
  const servers: Array<{ child: ChildProcess; port: number }> = [];
  const cwd = mkdtempSync(path.join(tmpdir(), "msec-cpp-etcd-"));
  let env: NodeJS.ProcessEnv;

  before(async () => {
    etcd = await startEtcd(1);
    const caller = await generateCppCaller("echo-etcd", ["fixtures/echo/echo.proto"], "echo.EchoService");
    build = await buildConsumer("echo-etcd", caller, "EchoEchoServiceCaller", "etcd_client.cc");
    for (let i = 0; i < 3; i++) servers.push(await startEchoServer(etcd.endpoints, PREFIX, 10));
    env = toolEnv({ MSEC_ETCD_ENDPOINTS: etcd.endpoints.join(","), MSEC_ETCD_PREFIX: PREFIX });
    delete env.MSEC_ROUTES;
  });

  after(async () => {
    for (const s of servers) {
      s.child.kill("SIGKILL");
      await exited(s.child);
    }
    await etcd?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  test("a name found only in etcd is called; an unknown one fails -15 naming etcd and the missing routes file", async () => {
    const ok = await run(path.join(build, "client"), ["once", "echo.EchoService"], { cwd, env });
    assert.equal(ok.stdout, "0 success\nhello via etcd\n", ok.stderr);
    const none = await run(path.join(build, "client"), ["once", "Cold.Service"], { cwd, env });
    assert.equal(
      none.stdout,
      `-15 get route failed: no route for Cold.Service (looked in: etcd ${etcd.endpoints[0]} prefix ${PREFIX}, routes file etc/routes.conf (missing))\n\n`,
    );
  });

  test("three instances under load, one SIGKILLed: ≥ 99.9 % succeed, failures are -13 from the killed one right after the kill", async () => {
    const victim = servers[0]!;
    const victimAddress = `127.0.0.1:${victim.port}`;
    const child = spawn(path.join(build, "client"), ["load", String(THREADS), String(BEFORE_KILL_MS + AFTER_KILL_MS)], {
      cwd,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const started = new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.startsWith("started\n")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`client exited ${code} before starting: ${stdout}${stderr}`)));
    });
    const done = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await started;
    await new Promise((r) => setTimeout(r, BEFORE_KILL_MS));
    victim.child.kill("SIGKILL");
    const killedAt = Date.now();
    child.stdin!.end(`${killedAt}\n`);
    assert.equal(await done, 0, stderr);
    const summary = JSON.parse(stdout.split("\n")[1]!) as LoadSummary;
    process.stdout.write(
      `# C++ failover: ${summary.before_ok}/${summary.before} calls ok before the kill; during the incident ` +
        `(${AFTER_KILL_MS} ms after SIGKILL) ${summary.during_ok}/${summary.during} ok ` +
        `(${((100 * summary.during_ok) / summary.during).toFixed(3)} %), failures ${JSON.stringify(summary.failures)}; ` +
        `weights ${JSON.stringify(summary.weights)}\n`,
    );
    assert.ok(summary.before > 0 && summary.before_ok === summary.before, "every call that finished before the kill succeeded");
    assert.ok(summary.during > 0);
    for (const f of summary.failures) {
      assert.equal(f.code, -13, JSON.stringify(f));
      assert.equal(f.address, victimAddress);
      assert.equal(f.sent, true, "only calls whose request was sent fail; refused connections are retried");
      assert.ok(f.after_ms < 1000, `failed ${f.after_ms} ms after the kill, not at the kill`);
    }
    assert.ok(summary.during_ok / summary.during >= 0.999, `${summary.during_ok}/${summary.during} succeeded`);
    // The killed server is still listed (its 10 s lease has not expired) but dead for the balancer;
    // the two survivors are alive.
    const byAddress = new Map(summary.weights.map((w) => [w.address, w]));
    assert.equal(byAddress.get(victimAddress)?.dead, true, JSON.stringify(summary.weights));
    for (const s of servers.slice(1)) assert.equal(byAddress.get(`127.0.0.1:${s.port}`)?.dead, false, JSON.stringify(summary.weights));
  });
});
