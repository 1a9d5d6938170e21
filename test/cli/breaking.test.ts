/**
 * `msec-gen breaking` on a real git history (and against a descriptor set
 * built by buf), through the real CLI: wire and source breaks with their
 * positions, exit codes, the next version, `--bump` writing it into the
 * config and the regenerated package.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, test } from "node:test";
import { bufCommand } from "../../generator/buf-binary.js";
import { runCli } from "../generator/run-cli.js";
import { config, project, read, write } from "./project.js";

const run = promisify(execFile);

const V1 = `syntax = "proto2";
package shop;
// Billing.
service Billing {
  rpc Charge(Req) returns (Rep);
  rpc Refund(Req) returns (Rep);
}
message Req { optional string id = 1; optional int32 n = 2; }
message Rep { optional string id = 1; }
`;

const ENTRY = `  - kind: caller
    protos: [protos/billing.proto]
    include: [protos]
    lang: ts
    runtime: registry
    out: sdk
`;

async function git(dir: string, ...args: string[]): Promise<string> {
  return (await run("git", ["-c", "user.email=test@example.com", "-c", "user.name=test", ...args], { cwd: dir })).stdout;
}

/** A repository with V1 and its config committed and tagged v1. */
async function repository(): Promise<string> {
  const dir = await project({ "protos/billing.proto": V1, "msec-gen.yaml": config(ENTRY) });
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-qm", "v1");
  await git(dir, "tag", "v1");
  return dir;
}

const breaking = (dir: string, ...args: string[]) => runCli(["breaking", "-q", ...args], { cwd: dir });

describe("msec-gen breaking", () => {
  test("an unchanged proto has no breaks; wire and source breaks are listed with file:line:col and exit 1", async () => {
    const dir = await repository();
    const same = await breaking(dir, "--against", "v1");
    assert.deepEqual([same.code, same.stdout], [0, "msec-gen.yaml:3:5: generate[0] (caller) shop.Billing: no breaking changes, no changes; version 0.1.0 stays\n"]);

    await write(
      dir,
      "protos/billing.proto",
      `syntax = "proto2";
package shop;
option go_package = "example.com/shop";
// Billing.
service Billing {
  rpc Charge(Req) returns (Rep);
}
message Req { optional string id = 1; optional int64 n = 2; required string must = 3; }
message Rep { optional string id = 1; }
`,
    );
    const r = await breaking(dir, "--against", "v1");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stdout,
      [
        'protos/billing.proto:3:1: source: File option "go_package" changed from "" to "example.com/shop". (FILE_SAME_GO_PACKAGE)',
        'protos/billing.proto:5:1: wire: Previously present RPC "Refund" on service "Billing" was deleted. (RPC_NO_DELETE)',
        'protos/billing.proto:8:48: wire: Field "2" with name "n" on message "Req" changed type from "int32" to "int64". (FIELD_SAME_TYPE)',
        'protos/billing.proto:8:61: wire: Message "Req" had required field "3" added. Required fields must always be sent, so if one side does not know about the required field, this will result in a breakage. (MESSAGE_SAME_REQUIRED_FIELDS)',
        "msec-gen.yaml:3:5: generate[0] (caller) shop.Billing: 4 breaking changes (3 wire, 1 source), 1 addition; version 0.1.0 -> 1.0.0 (major)",
        "",
      ].join("\n"),
    );
    assert.equal(r.stderr, "msec-gen: 4 breaking changes against v1\n");
  });

  test("additions make a minor version, other changes a patch; --bump writes the version into the config and the packages, twice the same", async () => {
    const dir = await repository();
    await write(dir, "protos/billing.proto", V1.replace("// Billing.", "// Billing, with comments."));
    const patch = await breaking(dir, "--against", "v1");
    assert.deepEqual([patch.code, patch.stdout], [0, "msec-gen.yaml:3:5: generate[0] (caller) shop.Billing: no breaking changes, other changes (comments, options); version 0.1.0 -> 0.1.1 (patch)\n"]);

    await write(dir, "protos/billing.proto", V1.replace("  rpc Refund(Req) returns (Rep);\n", "  rpc Refund(Req) returns (Rep);\n  rpc Ping(Req) returns (Rep);\n"));
    const minor = await breaking(dir, "--against", "v1");
    assert.deepEqual([minor.code, minor.stdout], [0, "msec-gen.yaml:3:5: generate[0] (caller) shop.Billing: no breaking changes, 1 addition; version 0.1.0 -> 0.2.0 (minor)\n"]);

    for (let i = 0; i < 2; i++) {
      const bump = await breaking(dir, "--against", "v1", "--bump");
      assert.equal(bump.code, 0, bump.stderr);
      assert.equal(bump.stdout, `msec-gen.yaml:3:5: generate[0] (caller) shop.Billing: no breaking changes, 1 addition; version 0.1.0 -> 0.2.0 (minor)\n${path.join(dir, "sdk/shop.Billing-caller")}\n`);
      assert.equal(await read(dir, "msec-gen.yaml"), config(`${ENTRY}    version: 0.2.0\n`), "only the version is added; layout kept");
      const pkg = JSON.parse(await read(dir, "sdk/shop.Billing-caller/ts/package.json")) as { version: string };
      assert.equal(pkg.version, "0.2.0");
    }
    assert.equal((await runCli(["generate", "--check", "-q"], { cwd: dir })).code, 0);
  });

  test("--against a descriptor set built by buf gives the same result; a bad revision is a user error", async () => {
    const dir = await repository();
    const buf = bufCommand();
    await run(buf.command, [...buf.prefixArgs, "build", "-o", path.join(dir, "v1.binpb")], { cwd: path.join(dir, "protos") });
    await write(dir, "protos/billing.proto", V1.replace("optional int32 n = 2;", "optional string n = 2;"));
    const fromSet = await breaking(dir, "--against", "v1.binpb");
    const fromGit = await breaking(dir, "--against", "v1");
    assert.equal(fromSet.code, 1);
    assert.equal(fromSet.stdout, fromGit.stdout);
    assert.match(fromSet.stdout, /^protos\/billing\.proto:8:48: wire: Field "2" with name "n" on message "Req" changed type from "int32" to "string"\. \(FIELD_SAME_TYPE\)$/m);

    const bad = await breaking(dir, "--against", "no-such-branch");
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, `msec-gen: error: --against no-such-branch: neither a file nor a git revision of ${await realPath(dir)}\n`);
  });
});

async function realPath(p: string): Promise<string> {
  return (await run("realpath", [p])).stdout.trim();
}
