/**
 * A 3-member etcd cluster on loopback with one member killed: registration,
 * lease renewal and resolution keep working through the other two.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getRoute, registerResolver, unregisterResolver } from "@msec-gen/runtime";
import { EtcdGateway } from "@msec-gen/runtime";
import { createEtcdResolver, type EtcdResolver } from "@msec-gen/runtime";
import { type EtcdRegistration, registerInEtcd } from "@msec-gen/runtime";
import { type EtcdCluster, isHealthy, startEtcd } from "./etcd-process.js";

async function until(what: string, limitMs: number, check: () => boolean | Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

describe("3-member etcd cluster", () => {
  let etcd: EtcdCluster;
  let resolver: EtcdResolver | undefined;
  const registrations: EtcdRegistration[] = [];

  before(async () => {
    etcd = await startEtcd(3);
  });
  after(async () => {
    if (resolver) {
      resolver.close();
      unregisterResolver(resolver);
    }
    for (const r of registrations) await r.close().catch(() => {});
    await etcd?.stop();
  });

  test("one member killed: the registration's lease is still renewed, new registrations and removals reach the resolver", async () => {
    const prefix = "/cluster";
    const endpoints = etcd.endpoints;
    resolver = createEtcdResolver({ endpoints, prefix });
    registerResolver(resolver);
    await resolver.ready;
    const ttl = 2;
    const first = await registerInEtcd({ endpoints, prefix, service: "VOA.Crawl", ip: "10.0.0.1", port: 7963, ttlSeconds: ttl });
    registrations.push(first);
    await until("first instance seen", 1000, async () => (await resolver!.resolve("VOA.Crawl"))?.length === 1);

    // Kill the member every client started on (the first endpoint): the watch and the renewals move on.
    await etcd.kill(etcd.members[0]!);
    assert.equal(await isHealthy(etcd.members[0]!.clientUrl), false);

    const second = await registerInEtcd({ endpoints, prefix, service: "VOA.Crawl", ip: "10.0.0.2", port: 7963, ttlSeconds: ttl });
    registrations.push(second);
    const took = await until("second instance seen through a surviving member", 5000, async () => (await resolver!.resolve("VOA.Crawl"))?.length === 2);
    process.stdout.write(`# with member m0 down the resolver saw a new registration after ${took} ms\n`);
    // (The re-read may show it before etcd confirmed the new watch.)
    await until("watch re-established on a surviving member", 5000, () => resolver!.connected());
    assert.deepEqual((await getRoute("VOA.Crawl")).port, 7963);

    // Outlive the TTL twice: the first registration's lease is renewed through the surviving members.
    await new Promise((r) => setTimeout(r, ttl * 2000 + 500));
    const gateway = new EtcdGateway(endpoints.slice(1));
    const keys = (await gateway.getPrefix("/cluster/services/VOA.Crawl/")).kvs.map((kv) => kv.key);
    assert.deepEqual(keys, ["/cluster/services/VOA.Crawl/10.0.0.1:7963", "/cluster/services/VOA.Crawl/10.0.0.2:7963"]);
    assert.equal((await resolver.resolve("VOA.Crawl"))?.length, 2);

    // Graceful deregistration through the surviving members.
    await first.close();
    await until("removal seen", 1000, async () => (await resolver!.resolve("VOA.Crawl"))?.length === 1);
    assert.deepEqual(resolver.snapshot().get("VOA.Crawl"), [{ ip: "10.0.0.2", port: 7963, type: "tcp", weight: 100 }]);
  });
});
