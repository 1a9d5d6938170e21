/**
 * Routing on a real etcd (started on loopback by the test): registration
 * under a lease, the watch-fed resolver, lease expiry after SIGKILL, graceful
 * deregistration, and etcd going down with and without cached routes.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { callMethodRaw, closeConnections, getRoute, registerResolver, unregisterResolver, SrpcError } from "@msec-gen/runtime";
import { EtcdGateway, parseEndpoints } from "@msec-gen/runtime";
import { createEtcdResolver, type EtcdResolver } from "@msec-gen/runtime";
import { formatInstanceValue, instanceKey, servicePrefix } from "@msec-gen/runtime";
import { registerInEtcd } from "@msec-gen/runtime";
import { etcdSettingsFromConfig } from "@msec-gen/runtime";
import { parseConfig } from "@msec-gen/runtime";
import { ECHO_METHOD } from "../../examples/echo/echo-service.js";
import { EchoRequestSchema, EchoResponseSchema } from "../../examples/echo/gen/echo_pb.js";
import { type EtcdCluster, startEtcd } from "./etcd-process.js";
import { exited, startEchoServer } from "./registered-echo.js";

/** Polls `check` every 20 ms until it returns true; fails after `limitMs`. Resolves with the time it took. */
async function until(what: string, limitMs: number, check: () => boolean | Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

async function echoVia(service: string, message: string): Promise<string> {
  const bytes = toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: Buffer.from(message) }));
  const reply = await callMethodRaw(service, ECHO_METHOD, bytes, { timeoutMs: 3000 });
  return Buffer.from(fromBinary(EchoResponseSchema, reply).message).toString();
}

describe("etcd routing", () => {
  let etcd: EtcdCluster;
  let gateway: EtcdGateway;
  const children: ChildProcess[] = [];
  const resolvers: EtcdResolver[] = [];

  before(async () => {
    etcd = await startEtcd(1);
    gateway = new EtcdGateway(etcd.endpoints);
  });
  after(async () => {
    for (const r of resolvers) {
      r.close();
      unregisterResolver(r);
    }
    closeConnections();
    for (const c of children) {
      c.kill("SIGKILL");
      await exited(c);
    }
    await etcd?.stop();
  });

  function resolver(prefix: string): EtcdResolver {
    const r = createEtcdResolver({ endpoints: etcd.endpoints, prefix });
    resolvers.push(r);
    return r;
  }

  test("config: [ROUTE] etcd keys, MSEC_ETCD_ENDPOINTS wins, bad values are errors", () => {
    const config = parseConfig("[ROUTE]\netcd=http://10.0.0.1:2379, http://10.0.0.2:2379/\netcd_ttl=5\netcd_weight=200\netcd_prefix=/team-a\n");
    assert.deepEqual(etcdSettingsFromConfig(config, {}), {
      endpoints: ["http://10.0.0.1:2379", "http://10.0.0.2:2379"],
      prefix: "/team-a",
      ttlSeconds: 5,
      weight: 200,
      advertise: undefined,
    });
    assert.deepEqual(etcdSettingsFromConfig(config, { MSEC_ETCD_ENDPOINTS: "http://127.0.0.1:1" })?.endpoints, ["http://127.0.0.1:1"]);
    assert.equal(etcdSettingsFromConfig(parseConfig("[ROUTE]\nFile=x\n"), {}), undefined);
    assert.equal(etcdSettingsFromConfig(parseConfig(""), { MSEC_ETCD_ENDPOINTS: "http://h:2379" })?.ttlSeconds, 10);
    assert.throws(() => etcdSettingsFromConfig(parseConfig("[ROUTE]\netcd=10.0.0.1:2379\n"), {}), /invalid etcd endpoint "10.0.0.1:2379"/);
    assert.throws(() => etcdSettingsFromConfig(parseConfig("[ROUTE]\netcd=http://h:1\netcd_ttl=0\n"), {}), /\[ROUTE\] etcd_ttl: expected an integer ≥ 1, got "0"/);
    assert.deepEqual(parseEndpoints("http://a:1,https://b:2"), ["http://a:1", "https://b:2"]);
  });

  test("register, resolve through getRoute, watch update within 1 s, graceful deregistration", async () => {
    const prefix = "/t-basic";
    const r = resolver(prefix);
    registerResolver(r);
    const reg = await registerInEtcd({ endpoints: etcd.endpoints, prefix, service: "VOA.Crawl", ip: "10.0.0.1", port: 7963, ttlSeconds: 5 });
    assert.equal(reg.key, "/t-basic/services/VOA.Crawl/10.0.0.1:7963");
    const stored = await gateway.getPrefix(servicePrefix(prefix, "VOA.Crawl"));
    assert.deepEqual(stored.kvs.map((kv) => [kv.key, JSON.parse(kv.value)]), [
      ["/t-basic/services/VOA.Crawl/10.0.0.1:7963", { ip: "10.0.0.1", port: 7963, protocol: "tcp", weight: 100 }],
    ]);
    assert.equal(stored.kvs[0]!.lease, reg.lease());
    await until("registration seen by the resolver", 1000, async () => (await r.resolve("VOA.Crawl"))?.length === 1);
    assert.deepEqual(await getRoute("VOA.Crawl"), { ip: "10.0.0.1", port: 7963, type: "tcp" });

    // A second instance written by someone else (scale-out) reaches the cache within 1 s.
    await gateway.put(instanceKey(prefix, "VOA.Crawl", "10.0.0.2", 7964), formatInstanceValue({ ip: "10.0.0.2", port: 7964, protocol: "udp", weight: 300 }));
    await until("scale-out seen", 1000, async () => (await r.resolve("VOA.Crawl"))?.length === 2);
    assert.deepEqual(r.snapshot().get("VOA.Crawl"), [
      { ip: "10.0.0.1", port: 7963, type: "tcp", weight: 100 },
      { ip: "10.0.0.2", port: 7964, type: "udp", weight: 300 },
    ]);

    // Graceful deregistration: the key is gone when close() resolves, and the cache follows within 1 s.
    await reg.close();
    assert.equal((await gateway.getPrefix(reg.key)).kvs.length, 0);
    await until("deregistration seen", 1000, async () => (await r.resolve("VOA.Crawl"))?.length === 1);
    assert.equal(r.connected(), true);
    assert.equal(r.lastError(), undefined);
    unregisterResolver(r);
  });

  test("malformed values under the prefix are skipped and reported", async () => {
    const prefix = "/t-bad";
    const bad: string[] = [];
    const r = createEtcdResolver({ endpoints: etcd.endpoints, prefix, onInvalid: (key, reason) => bad.push(`${key}: ${reason}`) });
    resolvers.push(r);
    await r.ready;
    await gateway.put(`${prefix}/services/A.B/1.2.3.4:5`, '{"ip":"1.2.3.4","port":70000}');
    await gateway.put(`${prefix}/services/A.B/1.2.3.4:6`, formatInstanceValue({ ip: "1.2.3.4", port: 6, protocol: "tcp", weight: 100 }));
    await until("good instance seen", 1000, async () => (await r.resolve("A.B"))?.length === 1);
    assert.deepEqual(bad, ["/t-bad/services/A.B/1.2.3.4:5: port must be 1..65535"]);
  });

  test("a server started with [ROUTE] etcd registers itself, serves calls routed by name, and deregisters on SIGTERM", async () => {
    const prefix = "/t-server";
    const r = resolver(prefix);
    registerResolver(r);
    const server = await startEchoServer(etcd.endpoints, prefix, 5);
    children.push(server.child);
    assert.equal(server.key, `/t-server/services/echo.EchoService/127.0.0.1:${server.port}`);
    await until("server seen", 1000, async () => (await r.resolve("echo.EchoService"))?.length === 1);
    assert.equal(await echoVia("echo.EchoService", "via etcd"), "via etcd");
    server.child.kill("SIGTERM");
    await exited(server.child);
    assert.equal(server.child.exitCode, 0);
    // Deregistered before the process exited: the key is already gone.
    assert.equal((await gateway.getPrefix(server.key)).kvs.length, 0);
    await until("deregistration seen", 1000, async () => (await r.resolve("echo.EchoService")) === undefined);
    unregisterResolver(r);
  });

  test("a server killed with SIGKILL disappears when its lease expires", async () => {
    const prefix = "/t-crash";
    const r = resolver(prefix);
    const ttl = 2;
    const server = await startEchoServer(etcd.endpoints, prefix, ttl);
    children.push(server.child);
    await until("server seen", 1000, async () => (await r.resolve("echo.EchoService"))?.length === 1);
    server.child.kill("SIGKILL");
    await exited(server.child);
    // etcd expires a lease within its TTL plus its own check interval (up to ~1 s more).
    const took = await until("lease expiry seen", ttl * 1000 + 2000, async () => (await r.resolve("echo.EchoService")) === undefined);
    assert.equal((await gateway.getPrefix(server.key)).kvs.length, 0);
    process.stdout.write(`# lease expired and the route vanished ${took} ms after SIGKILL (TTL ${ttl} s)\n`);
  });

  test("a lease lost while the server lives is re-granted and the key written again", async () => {
    const prefix = "/t-relet";
    const reg = await registerInEtcd({ endpoints: etcd.endpoints, prefix, service: "VOA.Relet", ip: "10.0.0.9", port: 1, ttlSeconds: 3 });
    const first = reg.lease();
    await gateway.revokeLease(first);
    assert.equal((await gateway.getPrefix(reg.key)).kvs.length, 0);
    await until("re-registered", 3000, async () => (await gateway.getPrefix(reg.key)).kvs.length === 1);
    assert.notEqual(reg.lease(), first);
    await reg.close();
  });

  // Last: stops etcd.
  test("etcd down: cached routes keep serving; a name never cached fails with -15 saying etcd is unreachable", async () => {
    const prefix = "/t-down";
    const r = resolver(prefix);
    registerResolver(r);
    await gateway.put(instanceKey(prefix, "VOA.Cached", "10.0.0.5", 7000), formatInstanceValue({ ip: "10.0.0.5", port: 7000, protocol: "tcp", weight: 100 }));
    await until("route cached", 1000, async () => (await r.resolve("VOA.Cached"))?.length === 1);
    for (const m of etcd.members) await etcd.kill(m);
    // (A reconnect racing the dying process can see ECONNRESET first; then connections are refused.)
    await until("resolver notices etcd is gone", 2000, () => /^etcd unreachable \(.*ECONNREFUSED\)$/.test(r.lastError() ?? ""));
    assert.equal(r.connected(), false);
    assert.deepEqual(await getRoute("VOA.Cached"), { ip: "10.0.0.5", port: 7000, type: "tcp" });
    assert.match(r.describe(), /^etcd http:\/\/127\.0\.0\.1:\d+ prefix \/t-down \(unreachable: .*; serving cached routes\)$/);
    await assert.rejects(getRoute("VOA.Never"), (err: SrpcError) => {
      assert.equal(err.code, -15);
      assert.match(err.message, /no route for VOA\.Never \(looked in: .*etcd http:\/\/127\.0\.0\.1:\d+ prefix \/t-down \(unreachable: etcd unreachable \(http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\); serving cached routes\)/);
      return true;
    });
    // A resolver that never reached etcd: nothing cached, and the error says why.
    const cold = createEtcdResolver({ endpoints: etcd.endpoints, prefix });
    resolvers.push(cold);
    registerResolver(cold);
    await assert.rejects(getRoute("VOA.Cold"), (err: SrpcError) => {
      assert.equal(err.code, -15);
      assert.match(err.message, /prefix \/t-down \(unreachable: etcd unreachable \(http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\); no routes cached\)/);
      return true;
    });
  });
});
