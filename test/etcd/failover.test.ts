/**
 * Failover on etcd routes: three echo server processes registered in a real
 * etcd, a steady load through the balancer, one server SIGKILLed. Calls in
 * flight to it fail with -13 (a network error, not a timeout); refused
 * connections afterwards are retried on another instance (`retries`), and the
 * balancer stops picking the killed server at once. Prints the exact counts.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Balancer,
  type Route,
  type RouteInstance,
  SrpcCallError,
  callMethodRaw,
  closeConnections,
  createStaticResolver,
  currentBalancer,
  registerResolver,
  routeAddress,
  setBalancer,
  unregisterResolver,
} from "@msec-gen/runtime";
import { createEtcdResolver, type EtcdResolver } from "@msec-gen/runtime";
import { ECHO_METHOD } from "../../examples/echo/echo-service.js";
import { EchoRequestSchema } from "../../examples/echo/gen/echo_pb.js";
import { type EtcdCluster, freePort, startEtcd } from "./etcd-process.js";
import { exited, startEchoServer } from "./registered-echo.js";

/** Concurrent callers. */
const WORKERS = 6;
/** Load before the kill, and after it. */
const BEFORE_KILL_MS = 1000;
const AFTER_KILL_MS = 3000;
/** Within this time after the kill no new call may be routed to the killed server (issue 6). */
const STOP_PICKING_WITHIN_MS = 2000;

/** A balancer that records every pick with its time. */
class RecordingBalancer extends Balancer {
  readonly picks: Array<{ at: number; address: string }> = [];
  override pick(name: string, instances: readonly RouteInstance[]): Route | undefined {
    const route = super.pick(name, instances);
    if (route) this.picks.push({ at: Date.now(), address: routeAddress(route) });
    return route;
  }
}

interface CallRecord {
  start: number;
  end: number;
  ok: boolean;
  code?: number;
  address?: string;
  requestSent?: boolean;
}

describe("failover on etcd routes", () => {
  let etcd: EtcdCluster;
  let resolver: EtcdResolver | undefined;
  const children: ChildProcess[] = [];
  /** Port of a server still running after the failover test. */
  let livePort = 0;

  before(async () => {
    etcd = await startEtcd(1);
  });
  after(async () => {
    if (resolver) {
      resolver.close();
      unregisterResolver(resolver);
    }
    setBalancer(new Balancer());
    closeConnections();
    for (const c of children) {
      c.kill("SIGKILL");
      await exited(c);
    }
    await etcd?.stop();
  });

  test("three instances under load, one SIGKILLed: in-flight calls fail fast with -13, no new call to it within 2 s, ≥ 99.9 % succeed", async () => {
    const prefix = "/failover";
    const servers = [];
    for (let i = 0; i < 3; i++) {
      const s = await startEchoServer(etcd.endpoints, prefix, 10);
      children.push(s.child);
      servers.push(s);
    }
    resolver = createEtcdResolver({ endpoints: etcd.endpoints, prefix });
    registerResolver(resolver);
    await resolver.ready;
    assert.equal((await resolver.resolve("echo.EchoService"))?.length, 3);
    const balancer = new RecordingBalancer();
    setBalancer(balancer);

    const victim = servers[0]!;
    const victimAddress = `127.0.0.1:${victim.port}`;
    const body = toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: Buffer.from("load") }));
    const records: CallRecord[] = [];
    const started = Date.now();
    const stopAt = started + BEFORE_KILL_MS + AFTER_KILL_MS;
    let killedAt = Number.POSITIVE_INFINITY;

    async function worker(): Promise<void> {
      while (Date.now() < stopAt) {
        const rec: CallRecord = { start: Date.now(), end: 0, ok: false };
        try {
          await callMethodRaw("echo.EchoService", ECHO_METHOD, body, { timeoutMs: 2000, retries: 2 });
          rec.ok = true;
        } catch (err) {
          const e = err as SrpcCallError;
          rec.code = e.code;
          rec.address = e.address;
          rec.requestSent = e.requestSent;
        }
        rec.end = Date.now();
        records.push(rec);
      }
    }
    const load = Promise.all(Array.from({ length: WORKERS }, () => worker()));
    await new Promise((r) => setTimeout(r, BEFORE_KILL_MS));
    killedAt = Date.now();
    victim.child.kill("SIGKILL");
    await load;

    // "Before the kill" means finished before it: a call started earlier may still be in flight to
    // the victim when it dies (seen on a loaded machine), and then belongs to the incident.
    const before = records.filter((r) => r.end < killedAt);
    const during = records.filter((r) => r.end >= killedAt);
    const failed = during.filter((r) => !r.ok);
    const succeeded = during.length - failed.length;
    const victimPicks = balancer.picks.filter((p) => p.address === victimAddress && p.at >= killedAt);
    const lastVictimPick = victimPicks.length > 0 ? victimPicks[victimPicks.length - 1]!.at - killedAt : undefined;
    process.stdout.write(
      `# failover: ${before.filter((r) => r.ok).length}/${before.length} calls ok before the kill; ` +
        `during the incident (${AFTER_KILL_MS} ms after SIGKILL) ${succeeded}/${during.length} ok ` +
        `(${((100 * succeeded) / during.length).toFixed(3)} %), ${failed.length} failed ` +
        `[${failed.map((r) => `${r.code}@${r.address} sent=${r.requestSent} after ${r.end - killedAt} ms`).join(", ")}]; ` +
        `${victimPicks.length} picks of the killed server after the kill, last at +${lastVictimPick ?? "-"} ms\n`,
    );

    assert.ok(before.length > 0 && before.every((r) => r.ok), "every call that finished before the kill succeeded");
    // Calls in flight to the killed server fail with a network error (-13), not a timeout.
    for (const r of failed) {
      assert.equal(r.code, -13, JSON.stringify(r));
      assert.equal(r.address, victimAddress);
      assert.equal(r.requestSent, true, "only calls whose request was sent fail; refused connections are retried");
      // Sent to the server as it died (SIGKILL takes effect a few ms after kill() returns): they
      // fail when its connection drops, right after the kill — not at their 2 s timeout.
      assert.ok(r.end - killedAt < 1000, `failed ${r.end - killedAt} ms after the kill`);
    }
    assert.ok(succeeded / during.length >= 0.999, `${succeeded}/${during.length} succeeded`);
    // No new call to the killed server from 2 s after the kill on (in fact: after the first refused connection).
    assert.deepEqual(victimPicks.filter((p) => p.at - killedAt >= STOP_PICKING_WITHIN_MS), []);
    livePort = servers[1]!.port;
    // The other two took the load after the kill.
    for (const s of servers.slice(1)) {
      assert.ok(balancer.picks.some((p) => p.address === `127.0.0.1:${s.port}` && p.at > killedAt + STOP_PICKING_WITHIN_MS));
    }
  });

  test("retries: only refused connections, only when asked for, never for literal addresses; a refused server is not picked again", async () => {
    assert.ok(livePort > 0, "runs after the failover test");
    const dead = await freePort();
    const instances = [
      { ip: "127.0.0.1", port: dead, type: "tcp" as const, weight: 100 },
      { ip: "127.0.0.1", port: livePort, type: "tcp" as const, weight: 100 },
    ];
    const table = createStaticResolver({ "Retry.Echo": instances });
    registerResolver(table);
    try {
      const body = toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: Buffer.from("r") }));
      // randomInt → 0: the first alive server (the dead one) is picked while it is alive.
      setBalancer(new Balancer({ randomInt: () => 0 }));
      await assert.rejects(callMethodRaw("Retry.Echo", ECHO_METHOD, body), (err: SrpcCallError) => {
        assert.equal(err.code, -13);
        assert.equal(err.requestSent, false);
        assert.equal(err.address, `127.0.0.1:${dead}`);
        return true;
      });
      // Held out of picks now: the next call goes to the live one.
      await callMethodRaw("Retry.Echo", ECHO_METHOD, body);
      assert.deepEqual(
        currentBalancer().weights("Retry.Echo").map((w) => [w.address, w.dead]),
        [[`127.0.0.1:${livePort}`, false], [`127.0.0.1:${dead}`, true]],
      );
      // With retries the refused pick is retried on the other instance.
      setBalancer(new Balancer({ randomInt: () => 0 }));
      await callMethodRaw("Retry.Echo", ECHO_METHOD, body, { retries: 1 });
      // A literal address is never retried.
      await assert.rejects(callMethodRaw(`127.0.0.1:${dead}`, ECHO_METHOD, body, { retries: 3 }), { code: -13 });
      await assert.rejects(callMethodRaw("Retry.Echo", ECHO_METHOD, body, { retries: -1 }), RangeError);
    } finally {
      unregisterResolver(table);
    }
  });
});
