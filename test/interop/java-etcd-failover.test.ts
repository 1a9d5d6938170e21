/**
 * Issue 13 acceptance for Java: a Java program using the generated echo caller
 * finds a TypeScript echo service only through etcd (no routes file; etcd
 * configured with MSEC_ETCD_ENDPOINTS / MSEC_ETCD_PREFIX, as a user's program
 * would be) and survives the SIGKILL of one of three instances with ≥ 99.9 %
 * of its calls succeeding. The caller package and the runtime it carries are
 * built with Maven (one reactor run, as test/interop/java-interop.test.ts);
 * the program is test/interop/java/EtcdFailoverMain.java.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type EtcdCluster, startEtcd } from "../etcd/etcd-process.js";
import { exited, startEchoServer } from "../etcd/registered-echo.js";
import { JAVA_CACHE, PROTOBUF_JAR, REPO_ROOT, compileJavaProgram, generateJavaCaller, mavenReactorPackage, runtimeJar } from "./java-toolchain.js";

const BEFORE_KILL_MS = 1500;
const AFTER_KILL_MS = 3000;

interface Summary {
  before: number;
  beforeOk: number;
  during: number;
  duringOk: number;
  failures: Array<{ code: number; address: string; sent: boolean; afterMs: number }>;
  weights: Array<{ address: string; weight: number; dead: boolean }>;
  victim: string;
}

describe("Java caller on etcd routes: failover", () => {
  let etcd: EtcdCluster;
  const children: ChildProcess[] = [];
  let work = "";

  before(async () => {
    etcd = await startEtcd(1);
    work = await fs.mkdtemp(path.join(tmpdir(), "msec-java-etcd-"));
  });
  after(async () => {
    for (const c of children) {
      c.kill("SIGKILL");
      await exited(c);
    }
    await etcd?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  test("three TS instances found only through etcd, one SIGKILLed: ≥ 99.9 % succeed, failures are -13 to the victim, which ends dead", async () => {
    const prefix = "/java-failover";
    const servers = [];
    for (let i = 0; i < 3; i++) {
      const s = await startEchoServer(etcd.endpoints, prefix, 10);
      children.push(s.child);
      servers.push(s);
    }
    const dir = await generateJavaCaller("echo-etcd", ["fixtures/echo/echo.proto"], "echo.EchoService");
    const [jar] = (await mavenReactorPackage("echo-etcd-reactor", [dir])) as [string];
    const classpath = [jar, runtimeJar(dir), PROTOBUF_JAR];
    const classes = path.join(JAVA_CACHE, "etcd-failover-program");
    await compileJavaProgram(classes, "EtcdFailoverMain", await fs.readFile(path.join(REPO_ROOT, "test/interop/java/EtcdFailoverMain.java"), "utf8"), classpath);

    const victim = servers[0]!;
    const victimAddress = `127.0.0.1:${victim.port}`;
    // The working directory has no etc/: no routes file, no config.ini — etcd is the only source.
    const env: NodeJS.ProcessEnv = { ...process.env, MSEC_ETCD_ENDPOINTS: etcd.endpoints.join(","), MSEC_ETCD_PREFIX: prefix };
    delete env.MSEC_ROUTES;
    const java = spawn(
      "java",
      ["-cp", [classes, ...classpath].join(path.delimiter), "EtcdFailoverMain", victimAddress, String(BEFORE_KILL_MS), String(AFTER_KILL_MS)],
      { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(java);
    let out = "";
    let err = "";
    java.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => {
      java.stdout!.on("data", (c: Buffer) => {
        const first = !out.includes("kill\n");
        out += c.toString();
        if (first && out.includes("kill\n")) victim.child.kill("SIGKILL");
      });
      java.once("exit", (c) => resolve(c));
    });
    assert.equal(code, 0, `java exited ${code}\n${out}\n${err}`);
    const summary = JSON.parse(out.split("\n").find((l) => l.startsWith("{"))!) as Summary;
    process.stdout.write(
      `# java failover: ${summary.beforeOk}/${summary.before} ok before the kill; ${summary.duringOk}/${summary.during} ok during the ` +
        `${AFTER_KILL_MS} ms after it (${((100 * summary.duringOk) / summary.during).toFixed(3)} %), failures ${JSON.stringify(summary.failures)}; ` +
        `weights ${JSON.stringify(summary.weights)}\n`,
    );

    assert.ok(summary.before > 0 && summary.beforeOk === summary.before, "every call before the kill succeeded");
    assert.ok(summary.during > 0);
    assert.ok(summary.duringOk / summary.during >= 0.999, `${summary.duringOk}/${summary.during} succeeded`);
    for (const f of summary.failures) {
      // Only calls in flight to the killed server fail, with a network error (-13) — not at their 2 s timeout;
      // refused connections afterwards were retried on another instance.
      assert.equal(f.code, -13, JSON.stringify(f));
      assert.equal(f.address, victimAddress);
      assert.equal(f.sent, true);
      assert.ok(f.afterMs < 1000, `failed ${f.afterMs} ms after the kill`);
    }
    // The balancer took the victim out (dead, at the tail) and the other two carry the load at full weight.
    assert.deepEqual(summary.weights.at(-1), { address: victimAddress, weight: 0, dead: true });
    assert.deepEqual(
      summary.weights.slice(0, -1).map((w) => `${w.address} ${w.weight} ${w.dead}`).sort(),
      servers.slice(1).map((s) => `127.0.0.1:${s.port} 100 false`).sort(),
    );
  });
});
