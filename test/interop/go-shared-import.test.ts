/**
 * Shared imported protos in Go (issue 10): the billing and catalog callers,
 * generated separately with the CLI's default options (both import
 * common/types.proto), are used together in one fresh Go module set up
 * exactly as their READMEs say (copy the folders in, `go mod init`, the
 * README's `go mod edit` lines, `go mod tidy`). The program builds, registers
 * common/types.proto once (no "already registered" panic), uses one runtime
 * (one msec.Options type for both clients) and calls the live shop server.
 * A control shows the panic the shared modules prevent.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { addCallers } from "./go-consumer.js";
import { BILLING_PROTO, CATALOG_PROTO, SHOP_INCLUDE, type ShopServer, startShopServer } from "./shop-server.js";
import { msecGen, run, runOk } from "./ts-server.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-go-shared-"));
let server: ShopServer | undefined;
after(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The consumer program: both callers, one msec.Options value type, one error helper. */
const MAIN_GO = `package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"example.com/msec/proto/shop/common"
	"example.com/msec/shop/billing/shop/billing"
	"example.com/msec/shop/catalog/shop/catalog"
	msec "github.com/msec-gen/msec-gen/runtimes/go"
)

func main() {
	opts := msec.Options{Service: os.Args[1]}
	billingClient := billing.NewBillingServiceClient(opts)
	catalogClient := catalog.NewCatalogServiceClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	charged, err := billingClient.Charge(ctx, &billing.ChargeRequest{Account: "acct-1", Amount: &common.Money{Currency: "USD", Units: 21}})
	if err != nil {
		log.Fatalf("Charge: SRPC code %d: %v", msec.CodeOf(err), err)
	}
	price, err := catalogClient.Price(ctx, &catalog.PriceRequest{Sku: "sku-1234"})
	if err != nil {
		log.Fatalf("Price: SRPC code %d: %v", msec.CodeOf(err), err)
	}
	// One Go type for the shared message: both replies' Money values are *common.Money.
	amounts := []*common.Money{charged.GetBalance(), price.GetPrice()}
	for _, m := range amounts {
		fmt.Printf("%s %d\\n", m.GetCurrency(), m.GetUnits())
	}
}
`;

let consumer = "";
let ran: string[] = [];

before(async () => {
  server = await startShopServer(work);
  // Generated separately, default options (bundled runtime), as a user would.
  const gen = async (proto: string, name: string, out: string) => {
    const r = await msecGen(["caller", proto, "-I", SHOP_INCLUDE, "--name", name, "--lang", "go", "--dir", "-o", path.join(work, out), "-q"]);
    assert.equal(r.code, 0, r.stderr);
    return path.join(r.stdout.trim(), "go");
  };
  const billingDir = await gen(BILLING_PROTO, "Shop.Billing", "gen-billing");
  const catalogDir = await gen(CATALOG_PROTO, "Shop.Catalog", "gen-catalog");

  // A fresh consumer module: copy the two folders in, then the READMEs' lines.
  consumer = path.join(work, "consumer");
  mkdirSync(path.join(consumer, "third_party"), { recursive: true });
  cpSync(billingDir, path.join(consumer, "third_party/billing"), { recursive: true });
  cpSync(catalogDir, path.join(consumer, "third_party/catalog"), { recursive: true });
  writeFileSync(path.join(consumer, "main.go"), MAIN_GO);
  ran = await addCallers(consumer, "example.com/shop-consumer", ["third_party/billing", "third_party/catalog"]);
});

test("the consumer module is set up by the READMEs' go mod edit lines alone", () => {
  const runtime = "github.com/msec-gen/msec-gen/runtimes/go";
  const common = "example.com/msec/proto/shop/common";
  assert.deepEqual(ran, [
    "go mod edit -require=example.com/msec/shop/billing@v0.1.0 -replace=example.com/msec/shop/billing=./third_party/billing",
    `go mod edit -require=${runtime}@v0.1.0 -replace=${runtime}=./third_party/billing/runtime`,
    `go mod edit -require=${common}@v0.0.0 -replace=${common}=./third_party/billing/shared/${common}`,
    "go mod edit -require=example.com/msec/shop/catalog@v0.1.0 -replace=example.com/msec/shop/catalog=./third_party/catalog",
    `go mod edit -require=${runtime}@v0.1.0 -replace=${runtime}=./third_party/catalog/runtime`,
    `go mod edit -require=${common}@v0.0.0 -replace=${common}=./third_party/catalog/shared/${common}`,
    "go mod tidy",
  ]);
  const goMod = readFileSync(path.join(consumer, "go.mod"), "utf8");
  // One runtime and one copy of the shared messages in the build: the last replace of each wins.
  const replaces = goMod.split("\n").filter((l) => l.startsWith("replace "));
  assert.deepEqual(replaces.sort(), [
    `replace ${common} => ./third_party/catalog/shared/${common}`,
    "replace example.com/msec/shop/billing => ./third_party/billing",
    "replace example.com/msec/shop/catalog => ./third_party/catalog",
    `replace ${runtime} => ./third_party/catalog/runtime`,
  ]);
});

test("go build and go vet pass; the program calls both services of the live server and prints the exact replies", async () => {
  await runOk("go", ["vet", "./..."], { cwd: consumer });
  await runOk("go", ["build", "-o", "shop", "."], { cwd: consumer });
  const r = await run(path.join(consumer, "shop"), [server!.address], { cwd: consumer });
  assert.equal(r.stderr, "", "no registration panic or warning");
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "USD 42\nEUR 800\n");
});

test("each caller folder also builds on its own, with its own go.mod", async () => {
  // Each caller folder builds on its own (its go.mod replaces the runtime and shared module with its own copies).
  for (const rel of ["third_party/billing", "third_party/catalog"]) {
    await runOk("go", ["build", "./..."], { cwd: path.join(consumer, rel) });
  }
});

test("control: when one caller keeps its own copy of common/types.proto (mapped into its module), the same program panics at start", async () => {
  // What the shared modules prevent, shown with the caller-owned layout of earlier versions.
  const r = await msecGen(["caller", CATALOG_PROTO, "-I", SHOP_INCLUDE, "--name", "Shop.Catalog", "--lang", "go", "--go-import", "common/types.proto=example.com/msec/shop/catalog/commonpb", "--dir", "-o", path.join(work, "gen-own"), "-q"]);
  assert.equal(r.code, 0, r.stderr);
  const control = path.join(work, "control");
  mkdirSync(path.join(control, "third_party"), { recursive: true });
  cpSync(path.join(consumer, "third_party/billing"), path.join(control, "third_party/billing"), { recursive: true });
  cpSync(path.join(r.stdout.trim(), "go"), path.join(control, "third_party/catalog"), { recursive: true });
  writeFileSync(
    path.join(control, "main.go"),
    'package main\n\nimport (\n\t_ "example.com/msec/shop/billing/shop/billing"\n\t_ "example.com/msec/shop/catalog/shop/catalog"\n)\n\nfunc main() {}\n',
  );
  await addCallers(control, "example.com/shop-control", ["third_party/billing", "third_party/catalog"]);
  await runOk("go", ["build", "-o", "control", "."], { cwd: control });
  const run2 = await run(path.join(control, "control"), []);
  assert.equal(run2.code, 2);
  // protobuf-go randomizes the space after "proto:" (U+0020 or U+00A0, chosen per binary) so
  // that nobody matches its text exactly; \s takes both.
  assert.match(run2.stderr, /^panic: proto:\sfile "common\/types\.proto" is already registered/m);
});
