/**
 * Shared imports in Python (issue 10): the callers of Shop.Billing and
 * Shop.Catalog, generated separately with the CLI (both protos import
 * common/types.proto; Catalog maps that file to Billing's module with
 * `--python-import`, as Billing's README tells), install into one fresh venv
 * exactly as their READMEs say — one runtime, one copy of `common/types_pb2`
 * — and one program calls the live shop server through both.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { BILLING_PROTO, CATALOG_PROTO, SHOP_INCLUDE, startShopServer, type ShopServer } from "./shop-server.js";
import { msecGen, runOk } from "./ts-server.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-py-shared-"));
/** The consumer project: the two generated callers, a venv, a program. Nothing from the checkout. */
const consumer = path.join(work, "consumer");
const venv = path.join(consumer, "venv");
const python = path.join(venv, "bin/python");
let shop: ShopServer | undefined;

const PROGRAM = `"""Calls Shop.Billing and Shop.Catalog through their generated callers, in one program."""
import sys

from google.protobuf import descriptor_pool

from shop_billing import BillingServiceClient, ChargeRequest
from shop_billing.common_types_pb2 import Money
from shop_catalog import CatalogServiceClient, PriceRequest

address = sys.argv[1]
with BillingServiceClient(address) as billing, CatalogServiceClient(address) as catalog:
    charged = billing.charge(ChargeRequest(account="acme", amount=Money(currency="EUR", units=21)))
    priced = catalog.price(PriceRequest(sku="abc"))
print("charge", charged.balance.currency, charged.balance.units)
print("price", priced.price.currency, priced.price.units)
print("one Money class:", type(charged.balance) is type(priced.price) is Money)
print("pool:", descriptor_pool.Default().FindFileByName("common/types.proto").name)
`;

/** `msec-gen caller …` into the consumer folder; resolves the caller's folder. */
async function caller(args: readonly string[]): Promise<string> {
  const r = await msecGen(["caller", ...args, "-I", SHOP_INCLUDE, "--lang", "python", "--dir", "-o", consumer, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** The shell lines of the README's first ```sh block after `marker`. */
function shellBlockAfter(readme: string, marker: string): string[] {
  const at = readme.indexOf(marker);
  assert.ok(at >= 0, `README has "${marker}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `a sh block after "${marker}"`);
  return block[1]!.trim().split("\n");
}

before(async () => {
  mkdirSync(consumer);
  shop = await startShopServer(work);
});

after(async () => {
  await shop?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("Python shared imports: two callers generated separately, one venv", () => {
  test("both install as their READMEs say, share one runtime and one common/types_pb2, and call the live server", async () => {
    const billing = await caller([BILLING_PROTO, "--name", "Shop.Billing"]);
    const billingReadme = readFileSync(path.join(billing, "python/README.md"), "utf8");
    // Billing's README names the module of common/types.proto; Catalog imports it instead of a copy.
    const row = /^\| `common\/types\.proto` \| `([A-Za-z0-9_.]+)` \|$/m.exec(billingReadme);
    assert.ok(row, "Billing's README lists the module of common/types.proto");
    assert.equal(row[1], "shop_billing.common_types_pb2");
    const catalog = await caller([CATALOG_PROTO, "--name", "Shop.Catalog", "--python-import", `common/types.proto=${row[1]}`]);
    assert.deepEqual(readdirSync(path.join(catalog, "python/shop_catalog")).filter((f) => f.includes("common")), []);

    // The README's commands for several packages in one venv, its placeholders filled in.
    const lines = shellBlockAfter(billingReadme, "Several msec-gen packages in one venv");
    assert.deepEqual(lines, ["pip install ./path/to/A-caller/python/runtime", "pip install ./path/to/A-caller/python ./path/to/B-caller/python"]);
    await runOk("python3", ["-m", "venv", venv], { cwd: consumer });
    for (const line of lines) {
      const args = line
        .replace(/\.\/path\/to\/A-caller/g, `./${path.basename(billing)}`)
        .replace(/\.\/path\/to\/B-caller/g, `./${path.basename(catalog)}`)
        .split(" ")
        .slice(2);
      await runOk(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...args], { cwd: consumer });
    }
    assert.match(await runOk(python, ["-m", "pip", "check", "--disable-pip-version-check"], { cwd: consumer }), /^No broken requirements found\.$/m);
    const installed = await runOk(
      python,
      ["-c", "import importlib.metadata as m\nprint(sorted(str(f) for d in m.distributions() for f in (d.files or []) if f.name.endswith('_pb2.py') and f.parts[0] != 'google'))"],
      { cwd: consumer },
    );
    assert.equal(installed, "['shop_billing/billing_billing_pb2.py', 'shop_billing/common_types_pb2.py', 'shop_catalog/catalog_catalog_pb2.py']\n");

    writeFileSync(path.join(consumer, "shop.py"), PROGRAM);
    const out = await runOk(python, ["shop.py", shop!.address], { cwd: consumer, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
    assert.equal(out, "charge EUR 42\nprice EUR 300\none Money class: True\npool: common/types.proto\n");
  });
});
