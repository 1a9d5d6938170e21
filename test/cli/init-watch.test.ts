/**
 * `msec-gen init` (a starter config generate runs as is) and
 * `msec-gen generate --watch` on a real file change, through the real CLI.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { LANGUAGE_OPTIONS, optionName } from "../../generator/language-options.js";
import { MANIFEST_FILE } from "../../generator/managed-output.js";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { CLI, runCli } from "../generator/run-cli.js";
import { BILLING_NO_IMPORT, BILLING_WITH_IMPORT, CALLER, CALLER_ENTRY, TYPES, config, exists, gen, project, read, write } from "./project.js";

describe("msec-gen init", () => {
  test("writes a config and a sample .proto that generate runs as is; refuses to overwrite", async () => {
    const dir = await project({});
    const r = await runCli(["init"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${path.join(dir, "msec-gen.yaml")}\n`);
    assert.equal(r.stderr, "msec-gen: wrote protos/hello.proto (a sample service)\nmsec-gen: wrote msec-gen.yaml; run msec-gen generate\n");
    const text = await read(dir, "msec-gen.yaml");
    for (const row of LANGUAGE_OPTIONS) assert.ok(text.includes(`#   ${optionName(row)}: `), `the starter lists ${optionName(row)}`);
    const g = await gen(dir, "-q");
    assert.equal(g.code, 0, g.stderr);
    assert.equal(g.stdout, `${path.join(dir, "sdk/hello.Greeter-caller")}\n${path.join(dir, "server/hello.Greeter-server-ts")}\n`);
    assert.equal((await gen(dir, "--check", "--strict")).code, 0);

    const again = await runCli(["init"], { cwd: dir });
    assert.equal(again.code, 1);
    assert.equal(again.stderr, "msec-gen: error: msec-gen.yaml exists; init never overwrites it (edit it, or write another with --config FILE)\n");
    assert.equal(await read(dir, "msec-gen.yaml"), text);
  });

  test("uses the project's own .proto with a service and the folder holding all of them as include", async () => {
    const dir = await project({ "api/billing.proto": BILLING_WITH_IMPORT, "api/common/types.proto": TYPES });
    const r = await runCli(["init"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "msec-gen: wrote msec-gen.yaml; run msec-gen generate\n");
    const text = await read(dir, "msec-gen.yaml");
    assert.match(text, /^ {4}protos: \[api\/billing\.proto\]\n {4}include: \[api\]$/m);
    assert.equal(await exists(path.join(dir, "protos")), false, "no sample when the project has a service");
    const g = await gen(dir, "-q");
    assert.equal(g.code, 0, g.stderr);
    assert.ok(await exists(path.join(dir, "sdk/billing.Billing-caller/ts/src/gen/common/types_pb.ts")));
  });
});

/** Wait until `condition` holds (checked every 50 ms); fails after `timeoutMs` with `what`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("msec-gen generate --watch", () => {
  test("regenerates the affected output after a real .proto change, prints a compile error without exiting, recovers, stops on SIGINT", async (t) => {
    const dir = await project({
      "protos/billing.proto": BILLING_NO_IMPORT,
      "other/ping.proto": 'syntax = "proto3";\npackage ping;\nservice PingService { rpc Ping(P) returns (P); }\nmessage P {}\n',
      // a second output whose input does not change: not regenerated
      "msec-gen.yaml": config(CALLER_ENTRY("ts") + "  - kind: caller\n    protos: [other/ping.proto]\n    lang: ts\n    runtime: registry\n    out: sdk2\n"),
    });
    const child = spawn(process.execPath, ["--import", path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs"), CLI, "generate", "--watch"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const count = (re: RegExp): number => stderr.split("\n").filter((l) => re.test(l)).length;
    const clientFile = path.join(dir, CALLER, "ts/src/gen/billing_msec.ts");
    try {
      await until(() => count(/^msec-gen: watching other, protos for \.proto changes and msec-gen\.yaml \(Ctrl-C stops\)$/) === 1 && count(/^msec-gen: done in \d+ ms; watching$/) === 1, "the first run", () => stderr);
      assert.equal(count(/^msec-gen: start: generating 2 outputs$/), 1, stderr);
      assert.doesNotMatch(await fs.readFile(clientFile, "utf8"), /refund/i);
      const otherManifest = path.join(dir, "sdk2", MANIFEST_FILE);
      const otherBefore = (await fs.stat(otherManifest)).mtimeMs;

      const changedAt = Date.now();
      await write(dir, "protos/billing.proto", BILLING_NO_IMPORT.replace("}\nmessage", "  // Refunds.\n  rpc Refund(ChargeReply) returns (ChargeReply);\n}\nmessage"));
      await until(async () => /refund/i.test(await fs.readFile(clientFile, "utf8").catch(() => "")), "the regenerated client", () => stderr);
      t.diagnostic(`regenerated ${Date.now() - changedAt} ms after the write`);
      await until(() => count(/^msec-gen: done in \d+ ms; watching$/) === 2, "the second run's end", () => stderr);
      assert.equal(count(/^msec-gen: protos\/billing\.proto changed: generating 1 output$/), 1, stderr);
      assert.equal(count(/^msec-gen: writing sdk2$/), 1, "the other output was written once, at the start");
      assert.equal((await fs.stat(otherManifest)).mtimeMs, otherBefore);

      await write(dir, "protos/billing.proto", 'syntax = "proto3";\nmessage Broken {\n');
      await until(() => count(/^msec-gen: watching \(fix the error and save\)$/) === 1, "the compile error", () => stderr);
      assert.match(stderr, /^protos\/billing\.proto:2:16: encountered unmatched `{` delimiter$/m);
      assert.equal(child.exitCode, null, "still watching");
      assert.match(await fs.readFile(clientFile, "utf8"), /refund/i, "the last good tree stays");

      await write(dir, "protos/billing.proto", BILLING_NO_IMPORT);
      await until(async () => !/refund/i.test(await fs.readFile(clientFile, "utf8")), "the tree after the fix", () => stderr);
      await until(() => count(/^msec-gen: done in \d+ ms; watching$/) === 3, "the third run's end", () => stderr);
      const check = await gen(dir, "--check");
      assert.equal(check.code, 0, check.stdout);
    } finally {
      child.kill("SIGINT");
    }
    assert.equal(await exited, 0, stderr);
  });
});
