import { after, test } from "node:test";
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Balancer,
  RoutesFileError,
  SrpcError,
  createRoutesFileResolver,
  createStaticResolver,
  getRoute,
  parseLiteral,
  parseRoutes,
  registerResolver,
  setBalancer,
  setRoutesFileResolver,
  unregisterResolver,
  updateRoute,
} from "@msec-gen/runtime";

const dir = mkdtempSync(join(tmpdir(), "msec-routes-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("literal names: ip:port, @tcp, @udp; any other suffix is tcp (as MSEC)", () => {
  assert.deepEqual(parseLiteral("1.2.3.4:80"), { ip: "1.2.3.4", port: 80, type: "tcp" });
  assert.deepEqual(parseLiteral("1.2.3.4:80@udp"), { ip: "1.2.3.4", port: 80, type: "udp" });
  assert.deepEqual(parseLiteral("1.2.3.4:80@tcp"), { ip: "1.2.3.4", port: 80, type: "tcp" });
  assert.deepEqual(parseLiteral("1.2.3.4:80@xyz"), { ip: "1.2.3.4", port: 80, type: "tcp" });
  assert.deepEqual(parseLiteral("[::1]:7963@udp"), { ip: "::1", port: 7963, type: "udp" });
  assert.equal(parseLiteral("VOA.Crawl"), undefined);
  assert.equal(parseLiteral("1.2.3.4:0"), undefined);
  assert.equal(parseLiteral("1.2.3.4:99999"), undefined);
  assert.equal(parseLiteral(":80"), undefined);
});

test("routes file: instances per name in file order, comments, blank lines, default weight 100", () => {
  const text = [
    "# VOA services",
    "",
    "VOA.Crawl   10.0.0.1:7963",
    "VOA.Crawl\t10.0.0.2:7963   weight=200   # bigger box",
    "VOA.Jsoup   10.0.0.3:9000@tcp",
    "VOA.Echo    10.0.0.4:7963@udp weight=1",
  ].join("\n");
  assert.deepEqual(Object.fromEntries(parseRoutes(text, "etc/routes.conf")), {
    "VOA.Crawl": [
      { ip: "10.0.0.1", port: 7963, type: "tcp", weight: 100 },
      { ip: "10.0.0.2", port: 7963, type: "tcp", weight: 200 },
    ],
    "VOA.Jsoup": [{ ip: "10.0.0.3", port: 9000, type: "tcp", weight: 100 }],
    "VOA.Echo": [{ ip: "10.0.0.4", port: 7963, type: "udp", weight: 1 }],
  });
});

test("routes file errors name file:line", () => {
  const cases: Array<[string, string]> = [
    ["VOA.Crawl", 'r.conf:2: expected "<Group.Service> <ip:port[@tcp|@udp]> [weight=N]", got "VOA.Crawl"'],
    ["Crawl 1.2.3.4:80", 'r.conf:2: service name "Crawl" is not of the form Group.Service'],
    ["VOA.Crawl 1.2.3.4", 'r.conf:2: invalid address "1.2.3.4" (expected ip:port, ip:port@tcp or ip:port@udp)'],
    ["VOA.Crawl 1.2.3.4:80@sctp", 'r.conf:2: invalid address "1.2.3.4:80@sctp" (expected ip:port, ip:port@tcp or ip:port@udp)'],
    ["VOA.Crawl 1.2.3.4:80 weight=0", 'r.conf:2: expected weight=N with N > 0, got "weight=0"'],
    ["VOA.Crawl 1.2.3.4:80 w=5", 'r.conf:2: expected weight=N with N > 0, got "w=5"'],
    ["VOA.Crawl 1.2.3.4:80 weight=5 x", 'r.conf:2: expected "<Group.Service> <ip:port[@tcp|@udp]> [weight=N]", got "VOA.Crawl 1.2.3.4:80 weight=5 x"'],
  ];
  for (const [line, message] of cases) {
    assert.throws(
      () => parseRoutes(`# header\n${line}\n`, "r.conf"),
      (err: unknown) => err instanceof RoutesFileError && err.message === message && err.line === 2 && err.file === "r.conf",
      line,
    );
  }
  assert.throws(() => parseRoutes("A.B 1.1.1.1:1\nA.B 1.1.1.1:1@udp\n", "r.conf"), /^RoutesFileError: r\.conf:2: A\.B lists 1\.1\.1\.1:1@udp twice$/);
});

test("routes file resolver re-reads the file when it changes, at most once per second", async () => {
  const path = join(dir, "reload.conf");
  writeFileSync(path, "VOA.Crawl 10.0.0.1:7963\n");
  let now = 1_000_000;
  const resolver = createRoutesFileResolver({ path, now: () => now });
  assert.deepEqual(await resolver.resolve("VOA.Crawl"), [{ ip: "10.0.0.1", port: 7963, type: "tcp", weight: 100 }]);
  writeFileSync(path, "VOA.Crawl 10.0.0.9:7963 weight=300\n");
  utimesSync(path, new Date(), new Date(Date.now() + 10_000));
  now += 500;
  assert.equal((await resolver.resolve("VOA.Crawl"))![0]!.ip, "10.0.0.1", "not re-checked within a second");
  now += 600;
  assert.deepEqual(await resolver.resolve("VOA.Crawl"), [{ ip: "10.0.0.9", port: 7963, type: "tcp", weight: 300 }]);
  writeFileSync(path, "VOA.Crawl nonsense\n");
  utimesSync(path, new Date(), new Date(Date.now() + 20_000));
  now += 1000;
  assert.throws(() => resolver.resolve("VOA.Crawl"), new RegExp(`^RoutesFileError: ${path}:1: invalid address "nonsense"`));
  rmSync(path);
  now += 1000;
  assert.equal(await resolver.resolve("VOA.Crawl"), undefined, "a missing file resolves nothing");
  assert.equal(resolver.describe(), `routes file ${path} (missing)`);
});

test("getRoute: literal as written; names via MSEC_ROUTES; unknown name → -15 naming where it looked", async () => {
  const path = join(dir, "env.conf");
  writeFileSync(path, "VOA.Crawl 10.0.0.1:7963\nVOA.Crawl 10.0.0.2:7964@udp weight=300\nVOA.Bad 1.2.3.4:80\n");
  const saved = process.env["MSEC_ROUTES"];
  process.env["MSEC_ROUTES"] = path;
  setRoutesFileResolver(createRoutesFileResolver());
  const draws = [0, 150];
  setBalancer(new Balancer({ randomInt: () => draws.shift() ?? 0 }));
  try {
    assert.deepEqual(await getRoute("127.0.0.1:5000@udp"), { ip: "127.0.0.1", port: 5000, type: "udp" });
    assert.deepEqual(await getRoute("VOA.Crawl"), { ip: "10.0.0.2", port: 7964, type: "udp" });
    await assert.rejects(
      getRoute("VOA.Nope"),
      (err: unknown) =>
        err instanceof SrpcError && err.code === -15 && err.message === `get route failed: no route for VOA.Nope (looked in: routes file ${path})`,
    );
    const extra = createStaticResolver({ "VOA.Nope": [{ ip: "10.1.1.1", port: 1, type: "tcp", weight: 100 }] });
    registerResolver(extra);
    assert.equal((await getRoute("VOA.Nope")).ip, "10.1.1.1", "registered resolvers come before the routes file");
    unregisterResolver(extra);
    updateRoute("VOA.Crawl", "10.0.0.1:7963", 1, 0);
    updateRoute("1.2.3.4:80", "1.2.3.4:80", 1, 0); // literal: ignored
  } finally {
    if (saved === undefined) delete process.env["MSEC_ROUTES"];
    else process.env["MSEC_ROUTES"] = saved;
    setRoutesFileResolver(createRoutesFileResolver());
    setBalancer(new Balancer());
  }
});
