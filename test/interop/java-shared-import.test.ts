/**
 * Two Java callers generated separately from protos that share an import
 * (`fixtures/shared`: billing and catalog both import common/types.proto), used
 * together in ONE Maven project — set up exactly as the generated READMEs say,
 * in a fresh temp folder, with nothing from the checkout: each caller maps the
 * shared file to one artifact (`--java-proto-dep`), so neither jar holds the
 * shared classes; both carry the same runtime and the same shared-artifact
 * project, installed once. The consumer's resolved classpath is checked for
 * exactly one copy of every class, then its main class calls the live shop
 * server (`shop-server.ts`) through both callers and prints exact replies.
 *
 * Maven runs (the costly part): the README lines of the first caller (runtime,
 * shared artifact, caller), the second caller's own install, one consumer build.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MAVEN_PLUGINS } from "../../generator/targets/java/caller.js";
import { jarEntries, runOk } from "./java-toolchain.js";
import { BILLING_PROTO, CATALOG_PROTO, SHOP_INCLUDE, type ShopServer, startShopServer } from "./shop-server.js";
import { msecGen } from "./ts-server.js";

const COMMON_DEP = "common/types.proto=com.example.shop:shop-common:1.0.0";

/** The consumer's program: both callers, one shared `Money` class passed from one to the other. */
const SHOP_MAIN = `import io.github.msecgen.runtime.SrpcException;
import shop.billing.Billing.ChargeReply;
import shop.billing.Billing.ChargeRequest;
import shop.billing.BillingServiceClient;
import shop.catalog.Catalog.PriceReply;
import shop.catalog.Catalog.PriceRequest;
import shop.catalog.CatalogServiceClient;
import shop.common.Types.Money;

public final class ShopMain {
    public static void main(String[] args) {
        BillingServiceClient billing = new BillingServiceClient(args[0]);
        CatalogServiceClient catalog = new CatalogServiceClient(args[0]);
        Money amount = Money.newBuilder().setCurrency("USD").setUnits(1234).build();
        ChargeReply charged = billing.charge(ChargeRequest.newBuilder().setAccount("acct-1").setAmount(amount).build(), 5000);
        System.out.println("charge: " + charged.getBalance().getCurrency() + " " + charged.getBalance().getUnits());
        PriceReply priced = catalog.price(PriceRequest.newBuilder().setSku("sku-42").build(), 5000);
        System.out.println("price: " + priced.getPrice().getCurrency() + " " + priced.getPrice().getUnits());
        // The catalog's Money is the billing's Money: one class.
        ChargeReply again = billing.charge(ChargeRequest.newBuilder().setAccount("acct-1").setAmount(priced.getPrice()).build(), 5000);
        System.out.println("charge price: " + again.getBalance().getCurrency() + " " + again.getBalance().getUnits());
        try {
            new CatalogServiceClient("Shop.Nowhere").price(PriceRequest.newBuilder().setSku("x").build());
        } catch (SrpcException e) {
            System.out.println("no route: " + e.code());
        }
    }
}
`;

let work: string;
let server: ShopServer | undefined;
let serving: Promise<unknown> | undefined;
let billingDir: string;
let catalogDir: string;
let consumer: string;
let classpath: string[];
const ran: string[] = [];

/** The fenced blocks of one language in a README, in order. */
function blocks(readme: string, lang: string): string[] {
  return [...readme.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
}

/** Runs the README's install lines (its one ```sh block) in `dir`, skipping lines already run for an identical folder. */
async function followReadme(dir: string): Promise<void> {
  const [script] = blocks(readFileSync(path.join(dir, "README.md"), "utf8"), "sh");
  assert.ok(script !== undefined, `no sh block in ${dir}/README.md`);
  for (const line of script.split("\n").filter((l) => l.trim() !== "")) {
    const [cmd, ...args] = line.split(" ");
    assert.equal(cmd, "mvn", line);
    const target = args.includes("-f") ? args[args.indexOf("-f") + 1]! : "pom.xml";
    // "once per machine" / "install it once": the same folder from the other caller is already installed.
    if (target !== "pom.xml" && ran.includes(line)) continue;
    await runOk("mvn", ["-B", ...args], { cwd: dir });
    ran.push(line);
  }
}

/** Every file under `dir` with its bytes, keyed by relative path. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    if (/\/target\//.test(abs)) continue;
    out.set(path.relative(dir, abs), readFileSync(abs, "hex"));
  }
  return out;
}

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), "msec-gen-java-shared-"));
  const started = startShopServer(work).then((s) => (server = s));
  serving = started.catch(() => {}); // awaited below; `after` stops it even when a Maven step fails

  const generated: string[] = [];
  for (const [proto, name] of [[BILLING_PROTO, "Shop.Billing"], [CATALOG_PROTO, "Shop.Catalog"]] as const) {
    const r = await msecGen(["caller", proto, "-I", SHOP_INCLUDE, "--name", name, "--lang", "java", "--java-proto-dep", COMMON_DEP, "--dir", "-o", path.join(work, "callers"), "-q"]);
    assert.equal(r.code, 0, r.stderr);
    generated.push(path.join(r.stdout.trim(), "java"));
  }
  [billingDir, catalogDir] = generated as [string, string];

  await followReadme(billingDir);
  await followReadme(catalogDir);

  // The consumer: a fresh folder, a pom with the READMEs' dependency snippets, one main class.
  consumer = path.join(work, "consumer");
  mkdirSync(path.join(consumer, "src/main/java"), { recursive: true });
  const dependencies = [billingDir, catalogDir].map((d) => blocks(readFileSync(path.join(d, "README.md"), "utf8"), "xml")[0]!);
  writeFileSync(
    path.join(consumer, "pom.xml"),
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<project xmlns="http://maven.apache.org/POM/4.0.0">',
      "  <modelVersion>4.0.0</modelVersion>",
      "  <groupId>com.example.consumer</groupId>",
      "  <artifactId>shop-consumer</artifactId>",
      "  <version>1.0.0</version>",
      "  <properties>",
      "    <maven.compiler.release>17</maven.compiler.release>",
      "    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>",
      "  </properties>",
      "  <dependencies>",
      ...dependencies.map((d) => d.trimEnd().replace(/^/gm, "    ")),
      "  </dependencies>",
      "  <build>",
      "    <plugins>",
      ...[...MAVEN_PLUGINS, { artifactId: "maven-dependency-plugin", version: "3.8.1" }].map(
        (p) => `      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>${p.artifactId}</artifactId><version>${p.version}</version></plugin>`,
      ),
      "    </plugins>",
      "  </build>",
      "</project>",
      "",
    ].join("\n"),
  );
  writeFileSync(path.join(consumer, "src/main/java/ShopMain.java"), SHOP_MAIN);
  await runOk("mvn", ["-q", "-B", "package", "dependency:build-classpath", "-Dmdep.outputFile=classpath.txt"], { cwd: consumer });
  classpath = readFileSync(path.join(consumer, "classpath.txt"), "utf8").trim().split(path.delimiter);

  await started;
});

after(async () => {
  await serving;
  await server?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("two Java callers sharing common/types.proto in one Maven project", () => {
  test("the callers carry byte-identical runtime/ and proto-deps/shop-common/ projects, and neither compiles the shared file", () => {
    assert.deepEqual(tree(path.join(catalogDir, "runtime")), tree(path.join(billingDir, "runtime")));
    assert.deepEqual(tree(path.join(catalogDir, "proto-deps")), tree(path.join(billingDir, "proto-deps")));
    assert.deepEqual([...tree(path.join(billingDir, "proto-deps")).keys()].sort(), [
      "shop-common/pom.xml",
      "shop-common/proto/common/types.proto",
      "shop-common/src/main/java/shop/common/Types.java",
    ]);
    assert.deepEqual(ran, ["mvn -q -f runtime/pom.xml install", "mvn -q -f proto-deps/shop-common/pom.xml install", "mvn -q install", "mvn -q install"]);
  });

  test("the consumer's classpath holds each artifact once and every class once", async () => {
    const names = classpath.map((jar) => path.basename(jar)).sort();
    assert.deepEqual(names, ["billing-caller-0.1.0.jar", "catalog-caller-0.1.0.jar", "msec-runtime-0.1.0.jar", "protobuf-java-4.36.2.jar", "shop-common-1.0.0.jar"]);
    const owner = new Map<string, string>();
    for (const jar of classpath) {
      for (const entry of (await jarEntries(jar)).filter((e) => e.endsWith(".class"))) {
        assert.equal(owner.get(entry), undefined, `${entry} is in ${owner.get(entry)} and ${path.basename(jar)}`);
        owner.set(entry, path.basename(jar));
      }
    }
    assert.equal(owner.get("shop/common/Types$Money.class"), "shop-common-1.0.0.jar");
    assert.equal(owner.get("io/github/msecgen/runtime/SrpcClient.class"), "msec-runtime-0.1.0.jar");
  });

  test("the consumer calls the live server through both callers", async () => {
    const out = await runOk("java", ["-cp", [path.join(consumer, "target/classes"), ...classpath].join(path.delimiter), "ShopMain", server!.address], { cwd: consumer });
    assert.equal(out, "charge: USD 2468\nprice: EUR 600\ncharge price: EUR 1200\nno route: -15\n");
  });
});
