/**
 * The inputs of the golden tests: each case is one `generate()` call whose
 * files are committed under `test/golden/<case>/`, each with a `.golden`
 * suffix (so golden `*.test.ts` files are never picked up as tests).
 * Refresh them only with `scripts/update-golden.sh`.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { GenerateOptions } from "../../generator/generate.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const GOLDEN_DIR = path.join(REPO_ROOT, "test/golden");
/** Suffix appended to every golden file name. */
export const GOLDEN_SUFFIX = ".golden";

export interface GoldenCase {
  readonly id: string;
  readonly options: GenerateOptions;
}

const voa = (f: string): string => `fixtures/voa/${f}`;
const edge = (f: string): string => `fixtures/edge/${f}`;
const ids = (f: string): string => `fixtures/identifiers/${f}`;

export const GOLDEN_CASES: readonly GoldenCase[] = [
  { id: "voa-mainlogic-server", options: { kind: "server", protos: [voa("MainLogic.proto")], name: "VOA.MainLogic" } },
  { id: "voa-crawl-server", options: { kind: "server", protos: [voa("Crawl.proto")], name: "VOA.Crawl" } },
  { id: "voa-crawl-caller", options: { kind: "caller", protos: [voa("Crawl.proto")], name: "VOA.Crawl", lang: "ts" } },
  { id: "voa-mainlogic-caller", options: { kind: "caller", protos: [voa("MainLogic.proto")], name: "VOA.MainLogic", lang: "ts" } },
  { id: "voa-mainlogic-server-python", options: { kind: "server", protos: [voa("MainLogic.proto")], name: "VOA.MainLogic", lang: "python" } },
  { id: "voa-crawl-server-python", options: { kind: "server", protos: [voa("Crawl.proto")], name: "VOA.Crawl", lang: "python" } },
  { id: "edge-legacy-server", options: { kind: "server", protos: [edge("legacy_proto2.proto")] } },
  { id: "edge-modern-server", options: { kind: "server", protos: [edge("modern_proto3.proto")], name: "Modern.Events" } },
  { id: "edge-modern-caller", options: { kind: "caller", protos: [edge("modern_proto3.proto")], name: "Modern.Events", lang: "ts" } },
  { id: "edge-reserved-server", options: { kind: "server", protos: [edge("reserved_words.proto")], name: "Reserved.Words" } },
  { id: "edge-reserved-caller", options: { kind: "caller", protos: [edge("reserved_words.proto")], name: "Reserved.Words", lang: "ts" } },
  { id: "voa-crawl-caller-python", options: { kind: "caller", protos: [voa("Crawl.proto")], name: "VOA.Crawl", lang: "python" } },
  { id: "voa-crawl-caller-go", options: { kind: "caller", protos: [voa("Crawl.proto")], name: "VOA.Crawl", lang: "go" } },
  { id: "voa-crawl-caller-php", options: { kind: "caller", protos: [voa("Crawl.proto")], name: "VOA.Crawl", lang: "php" } },
  {
    id: "shared-billing-caller-go",
    options: { kind: "caller", protos: ["fixtures/shared/billing/billing.proto"], includes: ["fixtures/shared"], name: "Shop.Billing", lang: "go" },
  },
  {
    id: "shared-catalog-caller-go-registry",
    options: { kind: "caller", protos: ["fixtures/shared/catalog/catalog.proto"], includes: ["fixtures/shared"], name: "Shop.Catalog", lang: "go", runtime: "registry" },
  },
  { id: "edge-reserved-caller-python", options: { kind: "caller", protos: [edge("reserved_words.proto")], name: "Reserved.Words", lang: "python" } },
  // Shared imports: Billing generates common/types.proto's module, Catalog imports it from Billing's package.
  { id: "shop-billing-caller-python", options: { kind: "caller", protos: ["fixtures/shared/billing/billing.proto"], includes: ["fixtures/shared"], name: "Shop.Billing", lang: "python" } },
  {
    id: "shop-catalog-caller-python",
    options: {
      kind: "caller",
      protos: ["fixtures/shared/catalog/catalog.proto"],
      includes: ["fixtures/shared"],
      name: "Shop.Catalog",
      lang: "python",
      pythonImport: ["common/types.proto=shop_billing.common_types_pb2"],
    },
  },
  { id: "voa-crawl-caller-java", options: { kind: "caller", protos: [voa("Crawl.proto")], name: "VOA.Crawl", lang: "java" } },
  {
    // The shared-import fixture as a user generates it for one Maven project with the catalog caller.
    id: "shared-billing-caller-java",
    options: {
      kind: "caller",
      protos: ["fixtures/shared/billing/billing.proto"],
      includes: ["fixtures/shared"],
      name: "Shop.Billing",
      lang: "java",
      javaProtoDep: ["common/types.proto=com.example.shop:shop-common:1.0.0"],
    },
  },
  {
    id: "edge-multi-file-server",
    options: {
      kind: "server",
      protos: [edge("users.proto"), edge("orders.proto")],
      includes: [edge("include"), edge(".")],
      name: "Shop.Users",
    },
  },
  {
    id: "edge-multi-file-caller",
    options: {
      kind: "caller",
      protos: [edge("users.proto"), edge("orders.proto"), edge("messages_only.proto")],
      includes: [edge("include"), edge(".")],
      name: "Shop.Users",
      lang: "ts",
    },
  },
  { id: "voa-crawl-caller-cpp", options: { kind: "caller", protos: [voa("Crawl.proto")], name: "VOA.Crawl", lang: "cpp" } },
  {
    id: "shared-billing-caller-cpp",
    options: { kind: "caller", protos: ["fixtures/shared/billing/billing.proto"], includes: ["fixtures/shared"], name: "Shop.Billing", lang: "cpp" },
  },
  {
    // The TypeScript side of the shared-import fixture: Catalog takes common/types from Billing's package.
    id: "shared-catalog-caller-ts",
    options: {
      kind: "caller",
      protos: ["fixtures/shared/catalog/catalog.proto"],
      includes: ["fixtures/shared"],
      name: "Shop.Catalog",
      lang: "ts",
      tsImport: ["common/types.proto=shop.billing-caller"],
    },
  },
  // Hostile identifiers (issue 12): rpcs special as TS members, Python keyword messages and `self` fields, in every language.
  { id: "ids-members-server", options: { kind: "server", protos: [ids("ts_members.proto")], name: "Id.Members" } },
  { id: "ids-members-caller", options: { kind: "caller", protos: [ids("ts_members.proto")], name: "Id.Members", lang: "ts" } },
  { id: "ids-pykw-server-python", options: { kind: "server", protos: [ids("python_keywords.proto")], name: "Id.Pykw", lang: "python" } },
  { id: "ids-pykw-caller-all", options: { kind: "caller", protos: [ids("python_keywords.proto")], name: "Id.Pykw", lang: ["python", "go", "java", "cpp"] } },
];
