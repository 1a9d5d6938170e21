/**
 * `msec-gen generate` with msec-gen.yaml, through the real CLI process on real
 * files in temp folders: stale files removed (a dropped import, a narrowed
 * --lang), user files never removed or overwritten, paths relative to the
 * config file, nothing written when an entry fails.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { generatorVersion } from "../../generator/package-root.js";
import { runCli } from "../generator/run-cli.js";
import { BILLING_NO_IMPORT, BILLING_WITH_IMPORT, CALLER, CALLER_ENTRY, SERVER, SERVER_ENTRY, TYPES, config, exists, gen, manifest, project, read, write } from "./project.js";

describe("msec-gen generate", () => {
  test("stale import: regenerating after an import is dropped removes that file's code, says so, and --check passes", async () => {
    const dir = await project({
      "protos/billing.proto": BILLING_WITH_IMPORT,
      "protos/common/types.proto": TYPES,
      "msec-gen.yaml": config(CALLER_ENTRY("[ts]") + SERVER_ENTRY),
    });
    const first = await gen(dir);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `${path.join(dir, CALLER)}\n${path.join(dir, SERVER)}\n`);
    const typesTs = `${CALLER}/ts/src/gen/common/types_pb.ts`;
    assert.ok(await exists(path.join(dir, typesTs)));
    const m = await manifest(path.join(dir, "sdk"));
    assert.equal(m.version, generatorVersion());
    const entry = m.files["Shop.Billing-caller/ts/src/gen/common/types_pb.ts"];
    assert.equal(entry?.sha256, createHash("sha256").update(await fs.readFile(path.join(dir, typesTs))).digest("hex"));
    assert.equal(m.files["Shop.Billing-server-ts/src/handlers/BillingService.ts"], undefined, "each output folder has its own manifest");
    assert.deepEqual((await manifest(path.join(dir, "server"))).files["Shop.Billing-server-ts/src/handlers/BillingService.ts"]?.userOwned, true);

    await write(dir, "protos/billing.proto", BILLING_NO_IMPORT);
    const second = await gen(dir);
    assert.equal(second.code, 0, second.stderr);
    const removed = second.stderr.split("\n").filter((l) => l.startsWith("msec-gen: removed "));
    assert.deepEqual(removed, [
      "msec-gen: removed sdk/Shop.Billing-caller/ts/proto/common/ (msec-gen wrote it; no longer generated)",
      "msec-gen: removed sdk/Shop.Billing-caller/ts/src/gen/common/ (msec-gen wrote it; no longer generated)",
      "msec-gen: removed server/Shop.Billing-server-ts/proto/common/ (msec-gen wrote it; no longer generated)",
      "msec-gen: removed server/Shop.Billing-server-ts/src/gen/common/ (msec-gen wrote it; no longer generated)",
    ]);
    for (const gone of [`${CALLER}/ts/src/gen/common`, `${CALLER}/ts/proto/common`, `${SERVER}/src/gen/common`, `${SERVER}/proto/common`]) {
      assert.equal(await exists(path.join(dir, gone)), false, `${gone} is gone (empty folders too)`);
    }
    assert.equal((await manifest(path.join(dir, "sdk"))).files["Shop.Billing-caller/ts/src/gen/common/types_pb.ts"], undefined);
    assert.doesNotMatch(await read(dir, `${CALLER}/ts/src/index.ts`), /common\/types_pb/);

    const check = await gen(dir, "--check");
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.stdout, "");
    assert.equal(check.stderr.split("\n").at(-2), "msec-gen: up to date: 2 outputs in 2 output folders");
  });

  test("narrowed --lang: the language folder msec-gen wrote goes away as a whole", async () => {
    const dir = await project({
      "protos/billing.proto": BILLING_NO_IMPORT,
      "msec-gen.yaml": config(CALLER_ENTRY("[ts, python]")),
    });
    const first = await gen(dir, "-q");
    assert.equal(first.code, 0, first.stderr);
    const pythonFiles = Object.keys((await manifest(path.join(dir, "sdk"))).files).filter((p) => p.startsWith("Shop.Billing-caller/python/"));
    assert.ok(pythonFiles.length >= 5, `python files: ${pythonFiles.join(", ")}`);
    assert.match(await read(dir, `${CALLER}/README.md`), /python/);

    await write(dir, "msec-gen.yaml", config(CALLER_ENTRY("ts")));
    const second = await gen(dir, "-q");
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, `msec-gen: removed sdk/Shop.Billing-caller/python/ (msec-gen wrote it; no longer generated, ${pythonFiles.length} files)\n`);
    assert.equal(await exists(path.join(dir, CALLER, "python")), false);
    assert.deepEqual((await fs.readdir(path.join(dir, CALLER))).sort(), ["README.md", "ts"]);
    assert.doesNotMatch(await read(dir, `${CALLER}/README.md`), /python/);
    assert.equal((await gen(dir, "--check")).code, 0);
  });

  test("manifest safety: user files, edited handlers, etc/ and unknown files are never removed or overwritten; edits to generated files are reported", async () => {
    const twoServices = BILLING_WITH_IMPORT.replace(
      "message ChargeRequest",
      "// Refunds.\nservice RefundService {\n  // Refunds a charge.\n  rpc Refund(ChargeReply) returns (ChargeReply);\n}\nmessage ChargeRequest",
    );
    const dir = await project({
      "protos/billing.proto": twoServices,
      "protos/common/types.proto": TYPES,
      "msec-gen.yaml": config(SERVER_ENTRY),
    });
    assert.equal((await gen(dir, "-q")).code, 0);
    const handler = `${SERVER}/src/handlers/BillingService.ts`;
    const refundHandler = `${SERVER}/src/handlers/RefundService.ts`;
    assert.ok(await exists(path.join(dir, refundHandler)));
    const edits: Record<string, string> = {
      [handler]: `${await read(dir, handler)}// my implementation\n`,
      [`${SERVER}/etc/config.ini`]: `${await read(dir, `${SERVER}/etc/config.ini`)}; my setting\n`,
      [`${SERVER}/src/mine.ts`]: "export const mine = 1;\n",
      ["server/notes.txt"]: "notes\n",
    };
    for (const [p, content] of Object.entries(edits)) await write(dir, p, content);
    // a generated file edited by hand, and a generated file that goes stale after an edit
    const pb = `${SERVER}/src/gen/billing_pb.ts`;
    await write(dir, pb, `${await read(dir, pb)}// hand edit\n`);
    const typesPb = `${SERVER}/src/gen/common/types_pb.ts`;
    await write(dir, typesPb, `${await read(dir, typesPb)}// hand edit\n`);

    // RefundService and the import go away
    await write(dir, "protos/billing.proto", BILLING_NO_IMPORT);
    const r = await gen(dir, "-q");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stderr.split("\n").filter((l) => l !== ""), [
      "msec-gen: removed server/Shop.Billing-server-ts/proto/common/ (msec-gen wrote it; no longer generated)",
      "msec-gen: warning: kept server/Shop.Billing-server-ts/src/gen/common/types_pb.ts: edited since msec-gen wrote it, no longer generated; msec-gen no longer manages it",
      "msec-gen: warning: kept server/Shop.Billing-server-ts/src/handlers/RefundService.ts: yours (user-owned), no longer generated; msec-gen no longer manages it",
      "msec-gen: warning: overwrote server/Shop.Billing-server-ts/src/gen/billing_pb.ts: edited since msec-gen wrote it",
    ]);
    for (const [p, content] of Object.entries(edits)) assert.equal(await read(dir, p), content, `${p} kept as the user left it`);
    assert.ok(await exists(path.join(dir, refundHandler)), "a handler of a removed service stays");
    assert.match(await read(dir, typesPb), /\/\/ hand edit\n$/);
    assert.doesNotMatch(await read(dir, pb), /hand edit/, "a generated file is regenerated");
    const m = await manifest(path.join(dir, "server"));
    assert.equal(m.files["Shop.Billing-server-ts/src/handlers/RefundService.ts"], undefined, "orphans leave the manifest");
    assert.equal(m.files["Shop.Billing-server-ts/src/handlers/BillingService.ts"]?.userOwned, true);

    // orphans are the user's now: reported as stray, not failing
    const check = await gen(dir, "--check");
    assert.equal(check.code, 0, check.stdout);
    assert.deepEqual(check.stdout.split("\n").filter((l) => l !== ""), [
      "stray    server/Shop.Billing-server-ts/src/gen/common/  (not generated, not in the manifest; ignored without --strict)",
      "stray    server/Shop.Billing-server-ts/src/handlers/RefundService.ts  (not generated, not in the manifest; ignored without --strict)",
      "stray    server/Shop.Billing-server-ts/src/mine.ts  (not generated, not in the manifest; ignored without --strict)",
      "stray    server/notes.txt  (not generated, not in the manifest; ignored without --strict)",
    ]);
    // a deleted handler is written again (like --dir)
    await fs.rm(path.join(dir, handler));
    const check2 = await gen(dir, "--check", "-q");
    assert.equal(check2.code, 1);
    assert.match(check2.stdout, /^missing  server\/Shop\.Billing-server-ts\/src\/handlers\/BillingService\.ts  \(missing \(a user-owned file generate would create\)\)$/m);
    assert.equal((await gen(dir, "-q")).code, 0);
    assert.doesNotMatch(await read(dir, handler), /my implementation/);
  });

  test("paths are relative to the config file, wherever msec-gen runs", async () => {
    const dir = await project({
      "api/protos/billing.proto": BILLING_NO_IMPORT,
      "api/msec-gen.yaml": config(CALLER_ENTRY("ts")),
      "elsewhere/.keep": "",
    });
    const r = await runCli(["generate", "--config", "../api/msec-gen.yaml", "-q"], { cwd: path.join(dir, "elsewhere") });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${path.join(dir, "api", CALLER)}\n`);
    assert.equal((await gen(path.join(dir, "api"), "--check")).code, 0, "the same tree from the config's own folder");
  });

  test("a failing entry writes nothing at all and names the entry", async () => {
    const dir = await project({
      "protos/billing.proto": BILLING_NO_IMPORT,
      "protos/bad.proto": 'syntax = "proto3";\nmessage M {\n',
      "msec-gen.yaml": config(CALLER_ENTRY("ts") + SERVER_ENTRY.replace("protos/billing.proto", "protos/bad.proto") + SERVER_ENTRY.replace("Shop.Billing", "VOA").replace("out: server", "out: other")),
    });
    const r = await gen(dir, "-q");
    assert.equal(r.code, 1);
    const lines = r.stderr.split("\n");
    assert.equal(lines[0], "protos/bad.proto:2:11: encountered unmatched `{` delimiter");
    assert.deepEqual(lines.slice(1), [
      "msec-gen: error: msec-gen.yaml:10:5: generate[1] (server): the .proto input above does not compile",
      'msec-gen: error: msec-gen.yaml:16:5: generate[2] (server): invalid --name "VOA": expected two levels "Group.Service", each 1-32 characters: a letter, then letters, digits, "_" or "-" (e.g. VOA.MainLogic)',
      "msec-gen: error: nothing was written (2 of 3 outputs failed)",
      "",
    ]);
    assert.deepEqual((await fs.readdir(dir)).sort(), ["msec-gen.yaml", "protos"]);
  });
});
