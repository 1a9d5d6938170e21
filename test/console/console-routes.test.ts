/**
 * The console's route endpoints against a real etcd, checked with
 * `msec-gen routes list` (a CLI process) after every change: a heterogeneous
 * instance added disabled, scaled out, reweighted, scaled in, removed; a
 * self-registered server (the echo server, leased) is listed as standard,
 * probed for health and metrics, and keeps its lease when scaled in and out;
 * etcd errors and bad input answer with the right status.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EtcdGateway } from "../../runtimes/ts/src/etcd/gateway.js";
import { type EtcdCluster, freePort, startEtcd } from "../etcd/etcd-process.js";
import { exited, startEchoServer } from "../etcd/registered-echo.js";
import { type ConsoleProcess, runBuiltCli, startConsoleProcess } from "./console-process.js";

const PREFIX = "/console";

describe("msec-gen console: routes", () => {
  let etcd: EtcdCluster;
  let consoleProc: ConsoleProcess;

  before(async () => {
    etcd = await startEtcd(1);
    consoleProc = await startConsoleProcess(["--etcd", etcd.endpoints.join(","), "--prefix", PREFIX]);
  });
  after(async () => {
    await consoleProc?.stop();
    await etcd?.stop();
  });

  const cliList = async () => {
    const r = await runBuiltCli(["routes", "list", "--etcd", etcd.endpoints.join(","), "--prefix", PREFIX]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${consoleProc.base}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: res.headers.get("content-type")?.startsWith("application/json") ? (JSON.parse(text) as Record<string, any>) : undefined, text };
  };

  test("add disabled, scale out, reweight, scale in, remove: routes list agrees each time", async () => {
    const url = `/api/routes/VOA.MySQL/${encodeURIComponent("10.1.1.1:3306")}`;
    let r = await call("PUT", url, { weight: 50, enabled: false });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json!.route, { service: "VOA.MySQL", address: "10.1.1.1:3306", protocol: "tcp", weight: 50, enabled: false, registered: false });
    assert.equal(await cliList(), "", "a disabled instance is not a route");
    assert.deepEqual((await call("GET", "/api/routes")).json, { routes: [], invalid: [] });
    const all = await call("GET", "/api/routes?all=1");
    assert.deepEqual(all.json!.routes, [{ service: "VOA.MySQL", address: "10.1.1.1:3306", protocol: "tcp", weight: 50, enabled: false, registered: false }]);

    r = await call("PUT", url, { enabled: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(await cliList(), "VOA.MySQL  10.1.1.1:3306  weight=50\n");
    assert.equal((await call("GET", "/api/routes?format=text")).text, await cliList());

    r = await call("PUT", url, { weight: 70 });
    assert.equal(r.json!.route.enabled, true, "a weight change keeps the state");
    assert.equal(await cliList(), "VOA.MySQL  10.1.1.1:3306  weight=70\n");

    r = await call("PUT", url, { enabled: false });
    assert.equal(r.json!.route.weight, 70, "scale-in keeps the weight");
    assert.equal(await cliList(), "");
    const gateway = new EtcdGateway(etcd.endpoints);
    assert.deepEqual((await gateway.getPrefix(`${PREFIX}/`)).kvs.map((kv) => [kv.key, kv.value]), [
      [`${PREFIX}/disabled/VOA.MySQL/10.1.1.1:3306`, '{"ip":"10.1.1.1","port":3306,"protocol":"tcp","weight":70}'],
    ]);

    // msec-gen routes set enables a disabled instance (set = "in the routes")
    const set = await runBuiltCli(["routes", "set", "VOA.MySQL", "10.1.1.1:3306", "80", "--etcd", etcd.endpoints.join(","), "--prefix", PREFIX]);
    assert.equal(set.stdout, `set ${PREFIX}/services/VOA.MySQL/10.1.1.1:3306\n`);
    assert.equal(await cliList(), "VOA.MySQL  10.1.1.1:3306  weight=80\n");
    assert.equal((await gateway.getPrefix(`${PREFIX}/disabled/`)).kvs.length, 0);

    r = await call("DELETE", url);
    assert.deepEqual(r.json, { removed: 1 });
    assert.equal(await cliList(), "");
    r = await call("DELETE", url);
    assert.equal(r.status, 404);
    assert.equal(r.json!.error.message, `no route for VOA.MySQL at 10.1.1.1:3306 in etcd (prefix ${PREFIX})`);
  });

  test("the services view: a self-registered server is standard, probed, and keeps its lease through scale-in/out", async () => {
    const echo = await startEchoServer(etcd.endpoints, PREFIX, 10);
    try {
      await call("PUT", `/api/routes/Ext.Jsoup/${encodeURIComponent("127.0.0.1:1")}`, { weight: 5, enabled: false });
      const view = (await call("GET", "/api/services")).json!;
      const echoName = echo.key.split("/")[3]!;
      const address = `127.0.0.1:${echo.port}`;
      assert.deepEqual(view.services, [
        { name: "Ext.Jsoup", kind: "heterogeneous", instances: [{ address: "127.0.0.1:1", protocol: "tcp", weight: 5, enabled: false, registered: false }] },
        { name: echoName, kind: "standard", instances: [{ address, protocol: "tcp", weight: 100, enabled: true, registered: true }] },
      ]);

      // One JSON call, so the metrics count a request.
      const callRes = await fetch(`http://${address}/?methodName=echo.EchoService.Echo`, { method: "POST", body: JSON.stringify({ message: "aGk=" }) });
      assert.equal(callRes.status, 200);
      assert.match(await callRes.text(), /aGk=/);
      const probe = (await call("GET", `/api/probe?service=${echoName}&address=${address}`)).json!;
      assert.equal(probe.health, "ok");
      assert.equal(probe.metrics.requests, 1, JSON.stringify(probe));
      assert.equal(probe.metrics.errors, 0);
      assert.equal(probe.metrics.inFlight, 0);
      const down = (await call("GET", "/api/probe?service=Ext.Jsoup&address=127.0.0.1:1")).json!;
      assert.equal(down.health, "unreachable");
      assert.equal(down.reason, "ECONNREFUSED");
      const foreign = await call("GET", "/api/probe?service=Ext.Jsoup&address=127.0.0.1:22");
      assert.equal(foreign.status, 404, "only addresses listed in etcd are probed");

      const gateway = new EtcdGateway(etcd.endpoints);
      const lease = (await gateway.getPrefix(echo.key)).kvs[0]!.lease;
      assert.ok(lease !== undefined && lease !== "0");
      let r = await call("PUT", `/api/routes/${echoName}/${encodeURIComponent(address)}`, { enabled: false });
      assert.equal(r.status, 200, r.text);
      assert.equal(await cliList(), "");
      const disabled = (await gateway.getPrefix(`${PREFIX}/disabled/${echoName}/`)).kvs;
      assert.equal(disabled[0]!.lease, lease, "the disabled key keeps the server's lease");
      r = await call("PUT", `/api/routes/${echoName}/${encodeURIComponent(address)}`, { enabled: true });
      assert.equal(await cliList(), `${echoName}  ${address}  weight=100\n`);
      assert.equal((await gateway.getPrefix(echo.key)).kvs[0]!.lease, lease);
    } finally {
      echo.child.kill("SIGTERM");
      await exited(echo.child);
      await call("DELETE", "/api/routes/Ext.Jsoup");
    }
  });

  test("bad input is a 400, unknown paths 404, wrong methods 405", async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ["PUT", "/api/routes/VOA.X/1.2.3.4:5", { weight: 0 }, 400, /^invalid weight 0 \(expected an integer ≥ 1\)$/],
      ["PUT", "/api/routes/VOA.X/1.2.3.4:5", { weight: 1.5 }, 400, /^invalid weight 1\.5/],
      ["PUT", "/api/routes/NoDot/1.2.3.4:5", {}, 400, /^invalid service name "NoDot" \(expected Group\.Service\)$/],
      ["PUT", "/api/routes/VOA.X/1.2.3.4", {}, 400, /^invalid address "1\.2\.3\.4"/],
      ["PUT", "/api/routes/VOA.X/1.2.3.4:5", { enabled: "yes" }, 400, /^enabled must be true or false$/],
      ["PUT", "/api/routes/VOA.X/1.2.3.4:5", { colour: 1 }, 400, /^unknown field "colour"/],
      ["PUT", "/api/routes/VOA.X", {}, 404, /PUT \/api\/routes\/<Group\.Service>\/<ip:port\[@udp\]>/],
      ["POST", "/api/routes", {}, 405, /POST is not allowed on \/api\/routes/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const r = await call(method, path, body);
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      assert.match(r.json!.error.message, message, `${method} ${path}`);
    }
    assert.equal(await cliList(), "");
  });

  test("a cross-origin PUT is refused and changes nothing", async () => {
    const res = await fetch(`${consoleProc.base}/api/routes/VOA.X/1.2.3.4:5`, { method: "PUT", headers: { origin: "http://evil.example", "content-type": "application/json" }, body: "{}" });
    assert.equal(res.status, 403);
    await res.text();
    assert.deepEqual((await call("GET", "/api/routes?all=1")).json!.routes, []);
  });
});

describe("msec-gen console: routes without etcd", () => {
  test("no etcd configured: 503 naming --etcd; etcd unreachable: 502 naming the endpoint", async () => {
    const none = await startConsoleProcess();
    try {
      const res = await fetch(`${none.base}/api/services`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { error: { message: string } }).error.message, "no etcd configured: start the console with --etcd URL[,URL] (or set MSEC_ETCD_ENDPOINTS)");
    } finally {
      await none.stop();
    }
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await startConsoleProcess(["--etcd", closed]);
    try {
      const res = await fetch(`${down.base}/api/routes`);
      assert.equal(res.status, 502);
      const message = ((await res.json()) as { error: { message: string } }).error.message;
      assert.match(message, new RegExp(`etcd unreachable \\(${closed.replace(/[.:/]/g, "\\$&")}: ECONNREFUSED\\)`));
    } finally {
      await down.stop();
    }
  });
});
