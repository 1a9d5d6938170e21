/**
 * The live server of the shared-import consumer tests (issue 10): one
 * generated TypeScript server implementing both services of
 * `fixtures/shared/` (billing and catalog, which import common/types.proto).
 * Each language's consumer test generates its two callers separately, uses
 * them in one program and calls this server by literal address.
 *
 *   Charge{account, amount} → balance = {amount.currency, amount.units * 2}
 *   Price{sku}              → price   = {"EUR", 100 * sku.length}
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { buildTsServer, freePort, msecGen, type ServerProcess, setListenPort, startTsServer } from "./ts-server.js";

export const SHOP_INCLUDE = "fixtures/shared";
export const BILLING_PROTO = "fixtures/shared/billing/billing.proto";
export const CATALOG_PROTO = "fixtures/shared/catalog/catalog.proto";

const BILLING_HANDLER = `import type { BillingServiceHandler } from "../gen/billing/billing_msec.js";

export const billingService: BillingServiceHandler = {
  async charge(request) {
    const amount = request.amount;
    return { balance: { currency: amount?.currency ?? "", units: (amount?.units ?? 0n) * 2n } };
  },
};
`;

const CATALOG_HANDLER = `import type { CatalogServiceHandler } from "../gen/catalog/catalog_msec.js";

export const catalogService: CatalogServiceHandler = {
  async price(request) {
    return { price: { currency: "EUR", units: BigInt(100 * request.sku.length) } };
  },
};
`;

export interface ShopServer {
  /** `127.0.0.1:<port>`: the literal address both services answer on. */
  readonly address: string;
  readonly port: number;
  readonly process: ServerProcess;
  stop(): Promise<void>;
}

/** Generates, builds and starts the shop server under `work`. */
export async function startShopServer(work: string): Promise<ShopServer> {
  const r = await msecGen(["server", BILLING_PROTO, CATALOG_PROTO, "-I", SHOP_INCLUDE, "--name", "Shop.Server", "--dir", "-o", path.join(work, "shop-server"), "-q"]);
  if (r.code !== 0) throw new Error(`msec-gen server failed:\n${r.stderr}`);
  const dir = r.stdout.trim();
  writeFileSync(path.join(dir, "src/handlers/BillingService.ts"), BILLING_HANDLER);
  writeFileSync(path.join(dir, "src/handlers/CatalogService.ts"), CATALOG_HANDLER);
  await buildTsServer(dir);
  const port = await freePort();
  setListenPort(dir, port);
  const process = await startTsServer(dir, port);
  return { address: `127.0.0.1:${port}`, port, process, stop: () => process.stop() };
}
