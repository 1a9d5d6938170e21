/** Shared fixtures of the msec-gen.yaml tests: a small project with an import, run through the real CLI. */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after } from "node:test";
import { MANIFEST_FILE } from "../../generator/managed-output.js";
import { type CliResult, runCli } from "../generator/run-cli.js";

const created: string[] = [];
after(async () => {
  for (const dir of created) await fs.rm(dir, { recursive: true, force: true });
});

export const TYPES = `syntax = "proto3";
package shop.common;
message Money { int64 units = 1; string currency = 2; }
`;

export const BILLING_WITH_IMPORT = `syntax = "proto3";
package shop.billing;
import "common/types.proto";
// Billing.
service BillingService {
  // Charges.
  rpc Charge(ChargeRequest) returns (ChargeReply);
}
message ChargeRequest { shop.common.Money amount = 1; }
message ChargeReply { string id = 1; }
`;

export const BILLING_NO_IMPORT = `syntax = "proto3";
package shop.billing;
// Billing.
service BillingService {
  // Charges.
  rpc Charge(ChargeRequest) returns (ChargeReply);
}
message ChargeRequest { int64 amount = 1; }
message ChargeReply { string id = 1; }
`;

export const CALLER = "sdk/Shop.Billing-caller";
export const SERVER = "server/Shop.Billing-server-ts";

export function config(entries: string): string {
  return `version: 1\ngenerate:\n${entries}`;
}

export const CALLER_ENTRY = (lang: string): string => `  - kind: caller
    protos: [protos/billing.proto]
    include: [protos]
    name: Shop.Billing
    lang: ${lang}
    runtime: registry
    out: sdk
`;

export const SERVER_ENTRY = `  - kind: server
    protos: [protos/billing.proto]
    include: [protos]
    name: Shop.Billing
    runtime: registry
    out: server
`;

/** A project folder with these files (path → content), in a fresh temp folder removed when the test file ends. */
export async function project(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-project-"));
  created.push(dir);
  for (const [p, content] of Object.entries(files)) await write(dir, p, content);
  return dir;
}

export async function write(dir: string, p: string, content: string): Promise<void> {
  await fs.mkdir(path.dirname(path.join(dir, p)), { recursive: true });
  await fs.writeFile(path.join(dir, p), content);
}

export async function read(dir: string, p: string): Promise<string> {
  return fs.readFile(path.join(dir, p), "utf8");
}

export async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/** Every file under `dir` with its sha256 (and mode), to prove a command wrote nothing. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(p);
      else {
        const stat = await fs.lstat(path.join(dir, p));
        out[p] = `${createHash("sha256").update(await fs.readFile(path.join(dir, p))).digest("hex")} ${stat.mode.toString(8)}`;
      }
    }
  }
  await walk("");
  return out;
}

export const gen = (cwd: string, ...args: string[]): Promise<CliResult> => runCli(["generate", ...args], { cwd });

export async function manifest(dir: string): Promise<{ version: string; files: Record<string, { sha256: string; userOwned?: boolean }> }> {
  return JSON.parse(await read(dir, MANIFEST_FILE)) as { version: string; files: Record<string, { sha256: string; userOwned?: boolean }> };
}

