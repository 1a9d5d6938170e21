/**
 * `msec-gen generate --check [--diff] [--strict]`, `--json` on every command
 * (validated against docs/cli-result.schema.json) and msec-gen.yaml
 * validation (file:line:col), through the real CLI process on real files.
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { parseConfig } from "../../cli/config-file.js";
import { LANGUAGE_OPTIONS, optionName } from "../../generator/language-options.js";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { runCli } from "../generator/run-cli.js";
import { validate } from "./json-schema.js";
import { BILLING_NO_IMPORT, BILLING_WITH_IMPORT, CALLER, CALLER_ENTRY, SERVER, SERVER_ENTRY, TYPES, config, gen, project, read, snapshot, write } from "./project.js";

describe("msec-gen generate --check / --json / config", () => {
  test("--check: exit 0 when current, 1 listing changed / missing / stale files, writes nothing; strays fail only with --strict", async () => {
    const dir = await project({
      "protos/billing.proto": BILLING_WITH_IMPORT,
      "protos/common/types.proto": TYPES,
      "msec-gen.yaml": config(CALLER_ENTRY("ts")),
    });
    assert.equal((await gen(dir, "-q")).code, 0);
    const clean = await gen(dir, "--check");
    assert.deepEqual([clean.code, clean.stdout], [0, ""]);

    await write(dir, `${CALLER}/ts/src/index.ts`, "// edited\n");
    await fs.rm(path.join(dir, CALLER, "ts/tsconfig.json"));
    await write(dir, "sdk/notes.txt", "mine\n");
    await write(dir, "sdk/extra/a.txt", "mine\n");
    const before = await snapshot(dir);
    const r = await gen(dir, "--check");
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      [
        "changed  sdk/Shop.Billing-caller/ts/src/index.ts  (content differs)",
        "missing  sdk/Shop.Billing-caller/ts/tsconfig.json  (missing)",
        "stray    sdk/extra/  (not generated, not in the manifest; ignored without --strict)",
        "stray    sdk/notes.txt  (not generated, not in the manifest; ignored without --strict)",
        "",
      ].join("\n"),
    );
    assert.match(r.stderr, /msec-gen: check failed: 2 generated files changed, missing or stale; run msec-gen generate\n$/);
    assert.deepEqual(await snapshot(dir), before, "--check writes nothing");

    // stale: the input changed, the tree was not regenerated
    assert.equal((await gen(dir, "-q")).code, 0);
    assert.equal((await gen(dir, "--check", "-q")).code, 0, "strays alone do not fail");
    const strict = await gen(dir, "--check", "--strict", "-q");
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /check failed: 2 stray paths \(--strict\); run msec-gen generate and remove the stray files/);
    await fs.rm(path.join(dir, "sdk/notes.txt"));
    await fs.rm(path.join(dir, "sdk/extra"), { recursive: true });
    assert.equal((await gen(dir, "--check", "--strict", "-q")).code, 0);

    await write(dir, "protos/billing.proto", BILLING_NO_IMPORT);
    const stale = await gen(dir, "--check", "-q");
    assert.equal(stale.code, 1);
    const lines = stale.stdout.split("\n").filter((l) => l !== "");
    assert.deepEqual(
      lines.filter((l) => l.startsWith("stale")),
      [
        "stale    sdk/Shop.Billing-caller/ts/proto/common/types.proto  (no longer generated (generate removes it))",
        "stale    sdk/Shop.Billing-caller/ts/src/gen/common/types_pb.ts  (no longer generated (generate removes it))",
      ],
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith("changed")),
      [
        "changed  sdk/.msec-gen-manifest.json  (manifest differs)",
        "changed  sdk/Shop.Billing-caller/ts/proto/billing.proto  (content differs)",
        "changed  sdk/Shop.Billing-caller/ts/src/gen/billing_pb.ts  (content differs)",
        "changed  sdk/Shop.Billing-caller/ts/src/index.ts  (content differs)",
      ],
    );
  });

  test("--check --diff prints a unified diff from the tree to what generate would write", async () => {
    const dir = await project({ "protos/billing.proto": BILLING_NO_IMPORT, "msec-gen.yaml": config(CALLER_ENTRY("ts")) });
    assert.equal((await gen(dir, "-q")).code, 0);
    const index = `${CALLER}/ts/src/index.ts`;
    const original = await read(dir, index);
    const lines = original.split("\n");
    await write(dir, index, [...lines.slice(0, 2), "export const extra = 1;", ...lines.slice(2)].join("\n"));
    await fs.rm(path.join(dir, CALLER, "ts/.gitignore"));
    const r = await gen(dir, "--check", "--diff", "-q");
    assert.equal(r.code, 1);
    const gitignore = await (async () => {
      await gen(dir, "-q");
      return read(dir, `${CALLER}/ts/.gitignore`);
    })();
    const gitignoreLines = gitignore.split("\n").slice(0, -1);
    assert.equal(
      r.stdout,
      "changed  sdk/Shop.Billing-caller/ts/src/index.ts  (content differs)\n" +
        "--- a/Shop.Billing-caller/ts/src/index.ts\n" +
        "+++ b/Shop.Billing-caller/ts/src/index.ts\n" +
        `@@ -1,${lines.length - 1 > 5 ? 6 : lines.length} +1,${lines.length - 1 > 5 ? 5 : lines.length - 1} @@\n` +
        ` ${lines[0]}\n ${lines[1]}\n-export const extra = 1;\n` +
        lines
          .slice(2, 5)
          .filter((_, i) => i < lines.length - 3)
          .map((l) => ` ${l}\n`)
          .join("") +
        "missing  sdk/Shop.Billing-caller/ts/.gitignore  (missing)\n" +
        "--- /dev/null\n" +
        "+++ b/Shop.Billing-caller/ts/.gitignore\n" +
        `@@ -0,0 +1,${gitignoreLines.length} @@\n` +
        gitignoreLines.map((l) => `+${l}\n`).join(""),
    );
  });

  test("--json: one document per command, valid against docs/cli-result.schema.json", async () => {
    const schema = JSON.parse(await fs.readFile(path.join(REPO_ROOT, "docs/cli-result.schema.json"), "utf8")) as Record<string, unknown>;
    const dir = await project({
      "protos/billing.proto": BILLING_WITH_IMPORT,
      "protos/common/types.proto": TYPES,
      "msec-gen.yaml": config(CALLER_ENTRY("ts") + SERVER_ENTRY),
    });
    const parse = (stdout: string): Record<string, unknown> => {
      const doc = JSON.parse(stdout) as Record<string, unknown>;
      assert.deepEqual(validate(schema, doc), [], stdout);
      return doc;
    };
    type Dir = { path: string; written: string[]; removed: string[]; kept: string[]; changed: Array<{ path: string; reason: string; diff?: string }>; stale: Array<{ path: string }>; stray: string[] };

    const server = await runCli(["server", "protos/billing.proto", "-I", "protos", "--name", "Shop.Billing", "-o", "tgz", "--json", "--runtime", "registry"], { cwd: dir });
    assert.equal(server.code, 0, server.stderr);
    const s = parse(server.stdout);
    assert.equal(s.command, "server");
    assert.equal(s.ok, true);
    const sOut = (s.outputs as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual([sOut.format, sOut.path, sOut.name, sOut.languages], ["tgz", path.join(dir, "tgz/Shop.Billing-server-ts.tgz"), "Shop.Billing", ["ts"]]);
    assert.deepEqual((s.directories as Dir[])[0]!.written, ["Shop.Billing-server-ts.tgz"]);

    const caller = await runCli(["caller", "protos/billing.proto", "-I", "protos", "--lang", "ts", "-o", "cdir", "--dir", "--json", "--runtime", "registry"], { cwd: dir });
    assert.equal(caller.code, 0, caller.stderr);
    const c = parse(caller.stdout);
    const cOut = (c.outputs as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual([c.command, cOut.format, cOut.name, cOut.entry], ["caller", "dir", "billing.Billing", null]);
    assert.ok((c.directories as Dir[])[0]!.written.includes("billing.Billing-caller/ts/src/index.ts"));

    const g = parse((await gen(dir, "--json", "-q")).stdout);
    assert.deepEqual([g.command, g.ok, g.config], ["generate", true, path.join(dir, "msec-gen.yaml")]);
    assert.deepEqual((g.outputs as Array<Record<string, unknown>>).map((o) => [o.entry, o.kind, o.path]), [
      [0, "caller", path.join(dir, CALLER)],
      [1, "server", path.join(dir, SERVER)],
    ]);

    await write(dir, "protos/billing.proto", BILLING_NO_IMPORT);
    const check = await gen(dir, "--check", "--diff", "--json", "-q");
    assert.equal(check.code, 1);
    const k = parse(check.stdout);
    assert.deepEqual([k.command, k.ok], ["check", false]);
    const sdk = (k.directories as Dir[]).find((d) => d.path === path.join(dir, "sdk"))!;
    assert.deepEqual(sdk.stale.map((f) => f.path), ["Shop.Billing-caller/ts/proto/common/types.proto", "Shop.Billing-caller/ts/src/gen/common/types_pb.ts"]);
    assert.ok(sdk.changed.every((f) => typeof f.diff === "string" && f.diff.startsWith(`--- a/${f.path}\n`)));

    const regen = parse((await gen(dir, "--json", "-q")).stdout);
    const sdkAfter = (regen.directories as Dir[]).find((d) => d.path === path.join(dir, "sdk"))!;
    assert.deepEqual(sdkAfter.removed, ["Shop.Billing-caller/ts/proto/common/types.proto", "Shop.Billing-caller/ts/src/gen/common/types_pb.ts"]);
    const serverAfter = (regen.directories as Dir[]).find((d) => d.path === path.join(dir, "server"))!;
    assert.deepEqual(serverAfter.kept, ["Shop.Billing-server-ts/etc/config.ini", "Shop.Billing-server-ts/etc/routes.conf", "Shop.Billing-server-ts/src/handlers/BillingService.ts"]);

    await write(dir, "protos/billing.proto", "syntax = \"proto3\";\nmessage {\n");
    const failed = await gen(dir, "--json", "-q");
    assert.equal(failed.code, 1);
    const f = parse(failed.stdout);
    assert.equal(f.ok, false);
    assert.ok((f.errors as string[]).some((e) => e.startsWith("protos/billing.proto:2:")), JSON.stringify(f.errors));
    assert.match(failed.stderr, /^protos\/billing\.proto:2:/m, "human messages stay on stderr");
  });

  test("config errors are reported as file:line:col, all at once, before anything is generated", async () => {
    const dir = await project({
      "protos/billing.proto": BILLING_NO_IMPORT,
      "msec-gen.yaml": `version: 1
generate:
  - kind: caller
    protos: [protos/billing.proto]
    out: sdk
    go-modul: example.com/x
    version: 1.0
  - kind: server
    protos: protos/billing.proto
    out: server
    go-module: example.com/x
  - kind: client
    out: x
  - protos: [a.proto]
    out: y
  - kind: caller
    lang: [ts, 3]
extra: true
`,
    });
    const r = await gen(dir);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    const keys = ["kind", "protos", "name", "include", "out", "lang", "descriptor-set-in", "version", "runtime", ...LANGUAGE_OPTIONS.filter((o) => o.kinds.includes("caller")).map(optionName)];
    assert.equal(
      r.stderr,
      [
        `msec-gen.yaml:6:5: generate[0]: unknown key "go-modul" (known for caller: ${keys.join(", ")})`,
        'msec-gen.yaml:7:14: generate[0].version: expected a string, got the number 1.0 (quote it: "1.0")',
        'msec-gen.yaml:11:5: generate[1].go-module: "go-module" applies to caller entries, not to server entries',
        'msec-gen.yaml:12:11: generate[2]: kind must be caller or server, not "client"',
        'msec-gen.yaml:14:5: generate[3]: missing "kind: caller" or "kind: server"',
        'msec-gen.yaml:17:16: generate[4].lang: expected a non-empty string, got 3 (quote it: "3")',
        'msec-gen.yaml:16:5: generate[4]: missing "out:" (the folder the package goes into, relative to this file)',
        'msec-gen.yaml:16:5: generate[4]: missing "protos:" (the .proto files, relative to this file)',
        'msec-gen.yaml:18:1: unknown key "extra" (known: version, generate)',
        "",
      ].join("\n"),
    );
    assert.deepEqual(await fs.readdir(dir), ["msec-gen.yaml", "protos"]);

    await write(dir, "msec-gen.yaml", "version: 2\ngenerate:\n  - kind: caller\n    kind: server\n");
    const dup = await gen(dir);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^msec-gen\.yaml:4:5: Map keys must be unique/);

    await fs.rm(path.join(dir, "msec-gen.yaml"));
    const none = await gen(dir);
    assert.equal(none.stderr, "msec-gen: error: no config file msec-gen.yaml (create one with msec-gen init, or name one with --config FILE)\n");
  });

  test("every per-language option is a config key (from LANGUAGE_OPTIONS), mapped to the generator's setting", () => {
    for (const kind of ["caller", "server"] as const) {
      const rows = LANGUAGE_OPTIONS.filter((o) => o.kinds.includes(kind));
      const text = config(
        `  - kind: ${kind}\n    protos: [a.proto]\n    out: o\n` + rows.map((o) => `    ${optionName(o)}: ${o.repeatable === true ? "[x=y]" : "v"}\n`).join(""),
      );
      const parsed = parseConfig(text, "/p/msec-gen.yaml", "msec-gen.yaml");
      const entry = parsed.entries[0]!;
      assert.deepEqual(entry.options, Object.fromEntries(rows.map((o) => [o.key, o.repeatable === true ? ["x=y"] : "v"])));
      assert.deepEqual([entry.protos, entry.out], [["/p/a.proto"], "/p/o"]);
    }
  });
});
