/**
 * Shared imports in C++ (issue 10): callers generated separately from
 * fixtures/shared/billing and fixtures/shared/catalog (both import
 * common/types.proto) are built and installed into one prefix exactly as
 * their READMEs say, and one consumer CMake project finds both with
 * find_package, links one runtime and one copy of common/types.proto's
 * message code (protobuf aborts on a file registered twice), and calls the
 * live shop server. The same two packages also work side by side with
 * add_subdirectory, and a caller built from another text of a shared file is
 * refused with a clear message.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT, run, runOk, toolEnv } from "./cpp-toolchain.js";
import { BILLING_PROTO, CATALOG_PROTO, SHOP_INCLUDE, type ShopServer, startShopServer } from "./shop-server.js";
import { msecGen } from "./ts-server.js";

/** Builds run at most 2 jobs wide (the README's `cmake --build build` honours this variable). */
const ENV = toolEnv({ CMAKE_BUILD_PARALLEL_LEVEL: "2" });

const CONSUMER_MAIN = `#include <iostream>

#include "ShopBillingCaller/billing/billing.msec.h"
#include "ShopCatalogCaller/catalog/catalog.msec.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const shop::billing::BillingServiceClient billing(argv[1]);
  shop::billing::ChargeRequest charge;
  charge.set_account("acct-7");
  shop::common::Money* amount = charge.mutable_amount();  // the shared type, one class for both callers
  amount->set_currency("USD");
  amount->set_units(21);
  shop::billing::ChargeReply charged;
  msec::Status status = billing.Charge(charge, &charged, 5000);
  std::cout << "Charge " << status.code() << " " << charged.balance().currency() << " " << charged.balance().units() << "\\n";

  const shop::catalog::CatalogServiceClient catalog(argv[1]);
  shop::catalog::PriceRequest price;
  price.set_sku("sku-123");
  shop::catalog::PriceReply priced;
  status = catalog.Price(price, &priced, 5000);
  const shop::common::Money& money = priced.price();
  std::cout << "Price " << status.code() << " " << money.currency() << " " << money.units() << "\\n";
  return 0;
}
`;

/** The fenced block of `lang` that follows `heading` in a README. */
function readmeBlock(readme: string, heading: string, lang: string): string {
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `no "${heading}" in the README`);
  const block = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(readme.slice(at));
  assert.ok(block !== null, `no \`\`\`${lang} block after "${heading}"`);
  return block[1]!;
}

describe("C++: two callers sharing common/types.proto in one CMake project", () => {
  const work = mkdtempSync(path.join(tmpdir(), "msec-cpp-shared-"));
  const prefix = path.join(work, "prefix");
  const callers = { billing: path.join(work, "gen/Shop.Billing-caller/cpp"), catalog: path.join(work, "gen/Shop.Catalog-caller/cpp") };
  let server: ShopServer | undefined;
  let app = "";

  before(async () => {
    const steps = await Promise.allSettled([
      startShopServer(work).then((s) => (server = s)),
      (async () => {
        // Generated separately, with default options, as a user would.
        for (const [proto, name] of [
          [BILLING_PROTO, "Shop.Billing"],
          [CATALOG_PROTO, "Shop.Catalog"],
        ] as const) {
          const r = await msecGen(["caller", proto, "-I", SHOP_INCLUDE, "--name", name, "--lang", "cpp", "--dir", "-o", path.join(work, "gen"), "-q"]);
          assert.equal(r.code, 0, r.stderr);
        }
        // Each package: the README's install commands, in its folder, with our prefix for /opt/msec.
        for (const dir of [callers.billing, callers.catalog]) {
          const commands = readmeBlock(readFileSync(path.join(dir, "README.md"), "utf8"), "## Install", "sh").replaceAll("/opt/msec", prefix);
          await runOk("bash", ["-euo", "pipefail", "-c", commands], { cwd: dir, env: ENV });
        }
        // The consumer: a fresh project with the README's find_package lines of both packages.
        const consumer = path.join(work, "app");
        mkdirSync(consumer);
        const lines = [callers.billing, callers.catalog].map((dir) =>
          readmeBlock(readFileSync(path.join(dir, "README.md"), "utf8"), "## Add it to your CMake project", "cmake"),
        );
        const cmakeLists = [
          "cmake_minimum_required(VERSION 3.16)",
          "project(app LANGUAGES CXX)",
          ...lines.map((l) => l.split("\n").filter((x) => x.startsWith("find_package(")).join("\n")),
          "add_executable(app main.cc)",
          ...lines.map((l) => l.split("\n").filter((x) => x.startsWith("target_link_libraries(")).join("\n")),
          "",
        ].join("\n");
        writeFileSync(path.join(consumer, "CMakeLists.txt"), cmakeLists);
        writeFileSync(path.join(consumer, "main.cc"), CONSUMER_MAIN);
        await runOk("cmake", ["-S", consumer, "-B", path.join(consumer, "build"), `-DCMAKE_PREFIX_PATH=${prefix}`], { env: ENV });
        await runOk("cmake", ["--build", path.join(consumer, "build")], { env: ENV });
        app = path.join(consumer, "build");
      })(),
    ]);
    for (const step of steps) if (step.status === "rejected") throw step.reason;
  });

  after(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test("the README's consumer lines are find_package + the package target", () => {
    const cmake = readFileSync(path.join(work, "app/CMakeLists.txt"), "utf8");
    assert.equal(
      cmake,
      "cmake_minimum_required(VERSION 3.16)\nproject(app LANGUAGES CXX)\n" +
        "find_package(ShopBillingCaller 0.1 REQUIRED)\nfind_package(ShopCatalogCaller 0.1 REQUIRED)\n" +
        "add_executable(app main.cc)\n" +
        "target_link_libraries(app PRIVATE ShopBillingCaller::ShopBillingCaller)\ntarget_link_libraries(app PRIVATE ShopCatalogCaller::ShopCatalogCaller)\n",
    );
  });

  test("one program calls both services on the live server: exact replies", async () => {
    const r = await run(path.join(app, "app"), [server!.address], { env: ENV });
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "Charge 0 USD 42\nPrice 0 EUR 700\n");
  });

  test("one copy of the shared message code and one runtime are linked", () => {
    const link = readFileSync(path.join(app, "CMakeFiles/app.dir/link.txt"), "utf8");
    const libs = link.split(/\s+/).filter((w) => w.endsWith(".a")).map((w) => path.relative(prefix, w));
    assert.deepEqual([...new Set(libs)].sort(), [
      "lib/ShopBillingCaller/libShopBillingCaller.a",
      "lib/ShopBillingCaller/libmsec_pb_billing_2fbilling_2eproto.a",
      "lib/ShopBillingCaller/libmsec_pb_common_2ftypes_2eproto.a",
      "lib/ShopCatalogCaller/libShopCatalogCaller.a",
      "lib/ShopCatalogCaller/libmsec_pb_catalog_2fcatalog_2eproto.a",
      "lib/libmsec_runtime.a",
    ]);
  });

  test("the runtime is built once: the first package installs its runtime/, the second finds it", () => {
    assert.ok(existsSync(path.join(callers.billing, "build/runtime/libmsec_runtime.a")));
    assert.equal(existsSync(path.join(callers.catalog, "build/runtime")), false);
  });

  test("no installed file is written by both packages (namespaced headers and libraries)", () => {
    const manifest = (dir: string): string[] => readFileSync(path.join(dir, "build/install_manifest.txt"), "utf8").split("\n").filter((l) => l !== "");
    const billing = manifest(callers.billing);
    const catalog = manifest(callers.catalog);
    assert.deepEqual(billing.filter((f) => catalog.includes(f)), []);
    const rel = (files: string[]): string[] => files.map((f) => path.relative(prefix, f)).filter((f) => f.startsWith("include/")).sort();
    assert.deepEqual(rel(catalog), [
      "include/ShopCatalogCaller/catalog/catalog.msec.h",
      "include/ShopCatalogCaller/proto/catalog/catalog.pb.h",
      "include/ShopCatalogCaller/proto/common/types.pb.h",
    ]);
    assert.ok(rel(billing).includes("include/msec/call.h"));
  });

  test("add_subdirectory of both packages: one runtime, one common/types target, same replies", async () => {
    const consumer = path.join(work, "app-subdirs");
    mkdirSync(consumer);
    writeFileSync(
      path.join(consumer, "CMakeLists.txt"),
      [
        "cmake_minimum_required(VERSION 3.16)",
        "project(app LANGUAGES CXX)",
        `add_subdirectory("${callers.billing}" billing)`,
        `add_subdirectory("${callers.catalog}" catalog)`,
        "add_executable(app main.cc)",
        "target_link_libraries(app PRIVATE ShopBillingCaller::ShopBillingCaller ShopCatalogCaller::ShopCatalogCaller)",
        "",
      ].join("\n"),
    );
    writeFileSync(path.join(consumer, "main.cc"), CONSUMER_MAIN);
    const build = path.join(consumer, "build");
    await runOk("cmake", ["-S", consumer, "-B", build], { env: ENV });
    await runOk("cmake", ["--build", build], { env: ENV });
    const r = await run(path.join(build, "app"), [server!.address], { env: ENV });
    assert.equal(r.stdout, "Charge 0 USD 42\nPrice 0 EUR 700\n");
    assert.ok(existsSync(path.join(build, "billing/libmsec_pb_common_2ftypes_2eproto.a")));
    assert.equal(existsSync(path.join(build, "catalog/libmsec_pb_common_2ftypes_2eproto.a")), false);
    assert.equal(existsSync(path.join(build, "catalog/runtime")), false);
  });

  test("a caller built from another text of a shared .proto is refused, not silently mixed", async () => {
    // Catalog generated from a copy of the fixtures whose common/types.proto has one more field.
    const shared = path.join(work, "shared-changed");
    cpSync(path.join(REPO_ROOT, SHOP_INCLUDE), shared, { recursive: true });
    const types = path.join(shared, "common/types.proto");
    writeFileSync(types, readFileSync(types, "utf8").replace("int64 units = 2;", "int64 units = 2;\n  string note = 3;"));
    const out = path.join(work, "gen-changed");
    const g = await msecGen(["caller", path.join(shared, "catalog/catalog.proto"), "-I", shared, "--name", "Shop.Catalog", "--lang", "cpp", "--dir", "-o", out, "-q"]);
    assert.equal(g.code, 0, g.stderr);
    const changed = path.join(out, "Shop.Catalog-caller/cpp");
    const consumer = path.join(work, "app-mismatch");
    mkdirSync(consumer);
    writeFileSync(
      path.join(consumer, "CMakeLists.txt"),
      `cmake_minimum_required(VERSION 3.16)\nproject(app LANGUAGES CXX)\nadd_subdirectory("${callers.billing}" billing)\nadd_subdirectory("${changed}" catalog)\n`,
    );
    const r = await run("cmake", ["-S", consumer, "-B", path.join(consumer, "build")], { env: ENV });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr.replace(/\s+/g, " "),
      /ShopCatalogCaller: common\/types\.proto differs from the common\/types\.proto another package of this project already built \(msec_pb::common_2ftypes_2eproto\); generate both from the same file/,
    );

    // Installed: find_package of the changed catalog after billing's fails with the Config's message.
    const otherPrefix = path.join(work, "prefix-changed");
    await runOk("cmake", ["-S", changed, "-B", path.join(changed, "build"), `-DCMAKE_PREFIX_PATH=${prefix}`], { env: ENV });
    await runOk("cmake", ["--build", path.join(changed, "build")], { env: ENV });
    await runOk("cmake", ["--install", path.join(changed, "build"), "--prefix", otherPrefix], { env: ENV });
    const installed = path.join(work, "app-mismatch-installed");
    mkdirSync(installed);
    writeFileSync(
      path.join(installed, "CMakeLists.txt"),
      "cmake_minimum_required(VERSION 3.16)\nproject(app LANGUAGES CXX)\nfind_package(ShopBillingCaller 0.1 REQUIRED)\nfind_package(ShopCatalogCaller 0.1 REQUIRED)\n",
    );
    const f = await run(
      "cmake",
      ["-S", installed, "-B", path.join(installed, "build"), `-DCMAKE_PREFIX_PATH=${prefix}`, `-DShopCatalogCaller_DIR=${otherPrefix}/lib/cmake/ShopCatalogCaller`],
      { env: ENV },
    );
    assert.equal(f.code, 1);
    assert.match(
      f.stderr.replace(/\s+/g, " "),
      /msec_pb::common_2ftypes_2eproto is already defined from another version of its \.proto file; generate both packages from the same file/,
    );
  });
});
