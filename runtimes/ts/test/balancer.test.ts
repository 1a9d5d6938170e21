import { test } from "node:test";
import { strict as assert } from "node:assert";
import { Balancer, type RouteInstance } from "@msec-gen/runtime";

/** A random source that returns scripted values and records each bound it was asked for. */
function scripted(values: number[]) {
  const bounds: number[] = [];
  const randomInt = (n: number) => {
    bounds.push(n);
    const v = values.shift();
    assert.ok(v !== undefined, `random source exhausted (asked for [0, ${n}))`);
    assert.ok(v < n, `scripted ${v} is not below ${n}`);
    return v;
  };
  return { randomInt, bounds, push: (...v: number[]) => values.push(...v) };
}

function instance(ip: string, weight = 100): RouteInstance {
  return { ip, port: 7963, type: "tcp", weight };
}

function ok(b: Balancer, name: string, ip: string, n: number) {
  for (let i = 0; i < n; i++) assert.equal(b.update(name, `${ip}:7963`, 0, 1), true);
}
function fail(b: Balancer, name: string, ip: string, n: number) {
  for (let i = 0; i < n; i++) assert.equal(b.update(name, `${ip}:7963`, 1, 0), true);
}
function table(b: Balancer, name: string) {
  return b.weights(name).map((w) => `${w.address.split(":")[0]} ${w.dynamicWeight}${w.dead ? " dead" : ""}`);
}

test("weighted pick: two draws, the second over the alive weight", () => {
  let now = 0;
  const rng = scripted([0, 99, 0, 100, 0, 399]);
  const b = new Balancer({ now: () => now, randomInt: rng.randomInt });
  const list = [instance("10.0.0.1"), instance("10.0.0.2", 100), instance("10.0.0.3", 200)];
  assert.equal(b.pick("S.A", list)?.ip, "10.0.0.1");
  assert.equal(b.pick("S.A", list)?.ip, "10.0.0.2");
  assert.equal(b.pick("S.A", list)?.ip, "10.0.0.3");
  assert.deepEqual(rng.bounds, [400, 400, 400, 400, 400, 400]);
  assert.equal(b.pick("S.A", []), undefined);
});

test("normal mode: ratio² decrease, death at 0 %, carry-over below 10 requests, growth capped at static, probing and revival", () => {
  let now = 0;
  const rng = scripted([]);
  const b = new Balancer({ now: () => now, randomInt: rng.randomInt });
  const list = [instance("A"), instance("B"), instance("C", 200), instance("D")];
  rng.push(0, 0);
  b.pick("S.B", list);
  ok(b, "S.B", "A", 20);
  ok(b, "S.B", "B", 18);
  fail(b, "S.B", "B", 2);
  fail(b, "S.B", "C", 10);
  fail(b, "S.B", "D", 5); // below 10 requests: judged next period
  now = 4999;
  b.tick("S.B");
  assert.deepEqual(table(b, "S.B"), ["A 100", "B 100", "C 200", "D 100"], "nothing before 5 s");
  now = 5000;
  b.tick("S.B");
  // B: 100 × 0.9² = 81; C: 0 % → dead, moved to the tail.
  assert.deepEqual(table(b, "S.B"), ["A 100", "B 81", "D 100", "C 0 dead"]);

  ok(b, "S.B", "B", 20); // +max(1, 100 × 0.05) = 86
  fail(b, "S.B", "D", 5); // with the 5 carried over: 10 failures → dead
  now = 10000;
  b.tick("S.B");
  assert.deepEqual(table(b, "S.B"), ["A 100", "B 86", "D 0 dead", "C 0 dead"]);

  // Dead pool: int(186 × 0.01 + 1) = 2; one probe token (max(1, int(30 × 0.01))).
  rng.bounds.length = 0;
  rng.push(187, 1); // lands in the dead pool → second dead server
  assert.equal(b.pick("S.B", list)?.ip, "C");
  rng.push(186, 150); // dead pool again but no token left → weighted pick: 150 ≥ 100 → B
  assert.equal(b.pick("S.B", list)?.ip, "B");
  assert.deepEqual(rng.bounds, [188, 2, 188, 186]);

  ok(b, "S.B", "C", 1); // one successful probe revives at max(1, 200 × 0.1)
  ok(b, "S.B", "B", 10);
  now = 15000;
  b.tick("S.B");
  assert.deepEqual(table(b, "S.B"), ["A 100", "B 91", "C 20", "D 0 dead"]);
  for (let period = 4; period <= 6; period++) {
    ok(b, "S.B", "B", 10);
    now = period * 5000;
    b.tick("S.B");
  }
  assert.deepEqual(table(b, "S.B"), ["A 100", "B 100", "C 20", "D 0 dead"], "growth stops at the static weight");
});

test("protect mode: when most servers are low, base = global ratio and no server is decreased", () => {
  let now = 0;
  const rng = scripted([0, 0]);
  const b = new Balancer({ now: () => now, randomInt: rng.randomInt });
  const list = [instance("X"), instance("Y"), instance("Z")];
  b.pick("S.C", list);
  fail(b, "S.C", "X", 10);
  fail(b, "S.C", "Y", 10);
  ok(b, "S.C", "Z", 10);
  now = 5000;
  b.tick("S.C");
  assert.deepEqual(table(b, "S.C"), ["Z 100", "X 0 dead", "Y 0 dead"]);

  // 2 of 3 servers below half weight → protect; global ratio 12/20 = 0.6 is the base.
  ok(b, "S.C", "Y", 6);
  fail(b, "S.C", "Y", 4);
  ok(b, "S.C", "Z", 6);
  fail(b, "S.C", "Z", 4);
  now = 10000;
  b.tick("S.C");
  assert.deepEqual(table(b, "S.C"), ["Z 100", "Y 10", "X 0 dead"], "Y revived at 60 %, Z not cut to int(100 × 0.36)");

  // Still protect (Y at 10 % and X dead are both low): 50 % everywhere is the base, nobody is cut.
  ok(b, "S.C", "Z", 5);
  fail(b, "S.C", "Z", 5);
  ok(b, "S.C", "Y", 5);
  fail(b, "S.C", "Y", 5);
  now = 15000;
  b.tick("S.C");
  assert.deepEqual(table(b, "S.C"), ["Z 100", "Y 15", "X 0 dead"]);
});

test("per-pick check: a server under 60 % success with ≥ 10 requests this period is replaced by a random one", () => {
  const rng = scripted([]);
  const b = new Balancer({ now: () => 0, randomInt: rng.randomInt });
  const list = [instance("P"), instance("Q")];
  rng.push(0, 50);
  assert.equal(b.pick("S.D", list)?.ip, "P");
  ok(b, "S.D", "P", 5);
  fail(b, "S.D", "P", 4); // 9 requests: not judged yet
  rng.push(0, 50);
  assert.equal(b.pick("S.D", list)?.ip, "P");
  fail(b, "S.D", "P", 1); // 10 requests, 50 %
  rng.push(0, 50, 1);
  assert.equal(b.pick("S.D", list)?.ip, "Q");
  assert.deepEqual(rng.bounds.slice(-3), [200, 200, 2]);
});

test("all servers dead → uniformly random server; updates for unknown services or addresses are refused", () => {
  let now = 0;
  const rng = scripted([0, 0]);
  const b = new Balancer({ now: () => now, randomInt: rng.randomInt });
  const list = [instance("M"), instance("N")];
  b.pick("S.E", list);
  fail(b, "S.E", "M", 10);
  fail(b, "S.E", "N", 10);
  now = 5000;
  b.tick("S.E");
  assert.deepEqual(table(b, "S.E"), ["M 0 dead", "N 0 dead"]);
  rng.push(1);
  assert.equal(b.pick("S.E", list)?.ip, "N");
  assert.equal(b.update("S.Unknown", "M:7963", 1, 0), false);
  assert.equal(b.update("S.E", "10.9.9.9:1", 1, 0), false);
  assert.equal(b.update("S.E", "M", 0, 3), true, "a bare ip matches any port of that host");
});

test("shapingRequestMin 0 reproduces MSEC's periodic path: one failure in a quiet period kills", () => {
  let now = 0;
  const b = new Balancer({ now: () => now, randomInt: () => 0, shapingRequestMin: 0 });
  b.pick("S.F", [instance("K"), instance("L")]);
  fail(b, "S.F", "K", 1);
  now = 5000;
  b.tick("S.F");
  assert.deepEqual(table(b, "S.F"), ["L 100", "K 0 dead"]);
});
