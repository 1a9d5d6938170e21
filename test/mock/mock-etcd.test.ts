/**
 * `msec-gen mock --name Group.Service --etcd URLS` against a real etcd
 * (test/etcd/etcd-process.ts): the mock registers itself as a server does,
 * `msec-gen routes list` shows it, a caller resolving the routing name
 * through etcd reaches it, and SIGTERM / SIGINT remove the key before the
 * drain, while a call still running is answered. `$MSEC_ETCD_ENDPOINTS`
 * works in place of `--etcd`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { callMethodRaw, createEtcdResolver, type EtcdResolver, registerResolver, unregisterResolver } from "@msec-gen/runtime";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { type EtcdCluster, freePort, startEtcd } from "../etcd/etcd-process.js";
import { CALL_TIMEOUT_MS, eventually, jsonCall, runMsecGen, startMock, untilInFlight } from "./mock-process.js";

const ECHO = path.join(REPO_ROOT, "fixtures/echo/echo.proto");
const PREFIX = "/mocktest";
describe("msec-gen mock in etcd", () => {
  let etcd: EtcdCluster;
  let dir: string;

  before(async () => {
    etcd = await startEtcd(1);
    dir = mkdtempSync(path.join(tmpdir(), "msec-mock-etcd-"));
  });
  after(async () => {
    await etcd?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function routes(): Promise<string> {
    const r = await runMsecGen(["routes", "list", "--etcd", etcd.endpoints.join(","), "--prefix", PREFIX]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  }

  test("registers under --name, is reached by name, and is removed on SIGTERM before the drain ends", async () => {
    // A 2 s scripted delay keeps one call running across the SIGTERM.
    writeFileSync(path.join(dir, "slow.yaml"), "echo.EchoService.Echo:\n  - reply: {message: ZmFzdA==}\n  - reply: {message: c2xvdw==}\n    delay_ms: 2000\n");
    const port = await freePort();
    const mock = await startMock(
      [ECHO, "--port", String(port), "--host", "127.0.0.1", "--name", "Mock.Echo", "--etcd", etcd.endpoints.join(","), "--prefix", PREFIX, "--responses", "slow.yaml"],
      { cwd: dir },
    );
    let resolver: EtcdResolver | undefined;
    try {
      assert.equal(mock.ready.etcdKey, `${PREFIX}/services/Mock.Echo/127.0.0.1:${port}`);
      await mock.untilStderr(`registered ${PREFIX}/services/Mock.Echo/127.0.0.1:${port} in etcd (removed on SIGINT/SIGTERM)\n`);
      assert.equal(await routes(), `Mock.Echo  127.0.0.1:${port}  weight=100\n`);

      // A caller resolving "Mock.Echo" through etcd reaches the mock (the first scripted answer).
      resolver = createEtcdResolver({ endpoints: etcd.endpoints, prefix: PREFIX });
      registerResolver(resolver);
      await resolver.ready;
      const reply = await callMethodRaw("Mock.Echo", "echo.EchoService.Echo", new Uint8Array(), { timeoutMs: CALL_TIMEOUT_MS });
      assert.deepEqual([...reply], [0x0a, 4, ...new TextEncoder().encode("fast")]);

      // The second answer is the slow one: wait until the mock is running it, then SIGTERM.
      const slow = jsonCall(port, "echo.EchoService.Echo", "{}");
      await untilInFlight(port, 1);
      const exited = mock.stop("SIGTERM");
      await eventually("the key is gone from etcd", async () => (await routes()) === "");
      assert.equal((await slow).text, '{"ret":0, "errmsg":"", "resultObj": {"message": "c2xvdw=="}}');
      assert.equal(await exited, 0);
      assert.match(mock.stderr(), /msec-gen mock: SIGTERM: deregistering, draining\n$/);
    } finally {
      if (resolver !== undefined) {
        resolver.close();
        unregisterResolver(resolver);
      }
      await mock.stop("SIGKILL");
    }
  });

  test("$MSEC_ETCD_ENDPOINTS and $MSEC_ETCD_PREFIX stand in for --etcd and --prefix; SIGINT deregisters", async () => {
    const mock = await startMock([ECHO, "--port", "0", "--host", "127.0.0.1", "--name", "Mock.Env"], {
      env: { ...process.env, MSEC_ETCD_ENDPOINTS: etcd.endpoints.join(","), MSEC_ETCD_PREFIX: PREFIX },
    });
    try {
      assert.equal(mock.ready.etcdKey, `${PREFIX}/services/Mock.Env/127.0.0.1:${mock.port}`);
      assert.equal(await routes(), `Mock.Env  127.0.0.1:${mock.port}  weight=100\n`);
      assert.equal(await mock.stop("SIGINT"), 0);
      assert.equal(await routes(), "");
    } finally {
      await mock.stop("SIGKILL");
    }
  });

  test("an etcd that cannot be reached is an error at start (exit 1), not a mock that is silently missing", async () => {
    const port = await freePort();
    const r = await runMsecGen(["mock", ECHO, "--port", "0", "--host", "127.0.0.1", "--name", "Mock.Gone", "--etcd", `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^msec-gen: error: cannot register Mock\\.Gone in etcd \\(http://127\\.0\\.0\\.1:${port}\\): .+\\n$`));
  });
});
