/**
 * `msec-gen routes list | set | rm` against a real etcd, run as a user runs
 * the CLI (a child process); what it writes is found by the runtime's etcd
 * resolver and `getRoute` (heterogeneous services: MySQL, another MSEC).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getRoute, registerResolver, unregisterResolver } from "@msec-gen/runtime";
import { createEtcdResolver, type EtcdResolver } from "@msec-gen/runtime";
import { EtcdGateway } from "@msec-gen/runtime";
import { runCli } from "../generator/run-cli.js";
import { type EtcdCluster, freePort, startEtcd } from "./etcd-process.js";

describe("msec-gen routes", () => {
  let etcd: EtcdCluster;
  let etcdArg: string;
  let resolver: EtcdResolver | undefined;

  before(async () => {
    etcd = await startEtcd(1);
    etcdArg = etcd.endpoints.join(",");
  });
  after(async () => {
    if (resolver) {
      resolver.close();
      unregisterResolver(resolver);
    }
    await etcd?.stop();
  });

  test("set, list and rm; heterogeneous services are found with getRoute", async () => {
    const prefix = "/cli";
    resolver = createEtcdResolver({ endpoints: etcd.endpoints, prefix });
    registerResolver(resolver);
    await resolver.ready;

    let r = await runCli(["routes", "set", "VOA.MySQL", "10.1.1.1:3306", "--etcd", etcdArg, "--prefix", prefix]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "set /cli/services/VOA.MySQL/10.1.1.1:3306\n");
    r = await runCli(["routes", "set", "VOA.Jsoup", "10.1.1.2:9000", "250", "--etcd", etcdArg, "--prefix", prefix]);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(["routes", "set", "Other.Msec", "[::1]:7963@udp", "--etcd", etcdArg, "--prefix", prefix]);
    assert.equal(r.code, 0, r.stderr);
    // The same instance again only changes its weight.
    r = await runCli(["routes", "set", "VOA.Jsoup", "10.1.1.2:9000", "300", "--etcd", etcdArg, "--prefix", prefix]);
    assert.equal(r.code, 0, r.stderr);

    r = await runCli(["routes", "list", "--etcd", etcdArg, "--prefix", prefix]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "Other.Msec  [::1]:7963@udp  weight=100\n" +
        "VOA.Jsoup   10.1.1.2:9000   weight=300\n" +
        "VOA.MySQL   10.1.1.1:3306   weight=100\n",
    );
    r = await runCli(["routes", "list", "VOA.MySQL", "--etcd", etcdArg, "--prefix", prefix]);
    assert.equal(r.stdout, "VOA.MySQL  10.1.1.1:3306  weight=100\n");

    // The runtime's resolver sees them (watch-fed) and getRoute returns them.
    const deadline = Date.now() + 1000;
    while (resolver.snapshot().size < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(await getRoute("VOA.MySQL"), { ip: "10.1.1.1", port: 3306, type: "tcp" });
    assert.deepEqual(await getRoute("Other.Msec"), { ip: "::1", port: 7963, type: "udp" });
    assert.deepEqual(resolver.snapshot().get("VOA.Jsoup"), [{ ip: "10.1.1.2", port: 9000, type: "tcp", weight: 300 }]);

    // MSEC_ETCD_ENDPOINTS / MSEC_ETCD_PREFIX instead of the options.
    process.env.MSEC_ETCD_ENDPOINTS = etcdArg;
    process.env.MSEC_ETCD_PREFIX = prefix;
    try {
      r = await runCli(["routes", "rm", "VOA.Jsoup", "10.1.1.2:9000"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "removed 1 instance of VOA.Jsoup\n");
      r = await runCli(["routes", "rm", "Other.Msec"]);
      assert.equal(r.stdout, "removed 1 instance of Other.Msec\n");
      r = await runCli(["routes", "rm", "Other.Msec"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "msec-gen: error: no route for Other.Msec in etcd (prefix /cli)\n");
      r = await runCli(["routes", "list"]);
      assert.equal(r.stdout, "VOA.MySQL  10.1.1.1:3306  weight=100\n");
    } finally {
      delete process.env.MSEC_ETCD_ENDPOINTS;
      delete process.env.MSEC_ETCD_PREFIX;
    }
    const gone = Date.now() + 1000;
    while (resolver.snapshot().has("VOA.Jsoup") && Date.now() < gone) await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual([...resolver.snapshot().keys()], ["VOA.MySQL"]);
  });

  test("user errors exit 1 with the reason", async () => {
    const cases: Array<[string[], string]> = [
      [["routes", "list"], "msec-gen: error: no etcd endpoints: pass --etcd URL[,URL] or set MSEC_ETCD_ENDPOINTS\n"],
      [["routes", "set", "VOA", "1.2.3.4:5", "--etcd", etcdArg], 'msec-gen: error: invalid service name "VOA" (expected Group.Service)\n'],
      [["routes", "set", "VOA.X", "1.2.3.4", "--etcd", etcdArg], 'msec-gen: error: invalid address "1.2.3.4" (expected ip:port, ip:port@tcp or ip:port@udp)\n'],
      [["routes", "set", "VOA.X", "1.2.3.4:5", "0", "--etcd", etcdArg], 'msec-gen: error: invalid weight "0" (expected an integer ≥ 1)\n'],
      [["routes", "list", "--etcd", "localhost:2379"], 'msec-gen: error: invalid etcd endpoint "localhost:2379" (expected http://host:port)\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = await runCli(args);
      assert.equal(r.stderr, stderr, args.join(" "));
      assert.equal(r.code, 1, args.join(" "));
    }
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(["routes", "list", "--etcd", dead]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `msec-gen: error: etcd unreachable (${dead}: ECONNREFUSED)\n`);
  });
});
