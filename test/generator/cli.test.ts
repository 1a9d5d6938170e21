/**
 * The msec-gen command as users run it: exit codes, messages for every bad
 * input, nothing written on failure, progress and --quiet, regeneration that
 * keeps handler files, --descriptor-set-in.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { bufCommand } from "../../generator/buf-binary.js";
import { report } from "../../cli/program.js";
import { generatorVersion } from "../../generator/package-root.js";
import { CompileError, UserError } from "../../generator/user-error.js";
import { REPO_ROOT } from "./golden-cases.js";
import { runCli } from "./run-cli.js";

let work: string;

before(async () => {
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-cli-"));
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** A fresh, empty output directory. */
async function outDir(): Promise<string> {
  return fs.mkdtemp(path.join(work, "out-"));
}

async function assertEmpty(dir: string): Promise<void> {
  assert.deepEqual(await fs.readdir(dir), [], `${dir} must stay empty`);
}

/** `p` was not created (an output directory given with -o that must not appear on failure). */
async function assertMissing(p: string): Promise<void> {
  await assert.rejects(fs.lstat(p), { code: "ENOENT" }, `${p} must not be created`);
}

describe("msec-gen command line", () => {
  test("--version prints the package version and exits 0", async () => {
    const r = await runCli(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${generatorVersion()}\n`);
  });

  test("--help lists both commands and the exit codes", async () => {
    const r = await runCli(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /server \[options\] \[protos\.\.\.\]/);
    assert.match(r.stdout, /caller \[options\] \[protos\.\.\.\]/);
    assert.match(r.stdout, /Exit codes: 0 ok, 1 user error \(bad input or options\), 2 internal error \(a bug\)\./);
  });

  test("server --help shows options and examples", async () => {
    const r = await runCli(["server", "--help"]);
    assert.equal(r.code, 0);
    for (const option of ["--name <Group.Service>", "--include <dir>", "--output <dir>", "--dir", "--lang <langs>", "--descriptor-set-in <file>", "--version <version>", "--runtime <mode>", "--npm-name <name>", "--quiet"]) {
      assert.ok(r.stdout.includes(option), `help mentions ${option}`);
    }
    // Caller-only options are not offered for servers.
    for (const option of ["--go-module", "--java-group-id", "--java-artifact-id"]) {
      assert.ok(!r.stdout.includes(option), `server help does not mention ${option}`);
    }
    assert.match(r.stdout, /Examples:\n  msec-gen server MainLogic\.proto --name VOA\.MainLogic/);
  });

  test("caller --help shows every language's options", async () => {
    const r = await runCli(["caller", "--help"]);
    assert.equal(r.code, 0);
    for (const option of ["--version <version>", "--runtime <mode>", "--npm-name <name>", "--go-module <path>", "--java-group-id <id>", "--java-artifact-id <id>"]) {
      assert.ok(r.stdout.includes(option), `help mentions ${option}`);
    }
  });

  test("an option of a language that is not generated is a user error, and nothing is written", async () => {
    const out = await outDir();
    const r = await runCli(["caller", "fixtures/voa/Crawl.proto", "--lang", "ts,python", "--go-module", "example.org/x", "-o", out, "--quiet"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "msec-gen: error: --go-module applies to the go caller, which is not being generated (--lang ts,python)\n");
    await assertEmpty(out);
    const server = await runCli(["server", "fixtures/voa/Crawl.proto", "--go-module", "example.org/x", "-o", out, "--quiet"]);
    assert.equal(server.code, 1);
    assert.match(server.stderr, /^error: unknown option '--go-module'/);
    await assertEmpty(out);
  });

  test("--ts-import is validated against the input", async () => {
    const out = await outDir();
    const base = ["caller", "fixtures/shared/catalog/catalog.proto", "-I", "fixtures/shared", "--lang", "ts", "-o", out, "--quiet"];
    const notImported = await runCli([...base, "--ts-import", "other/x.proto=shop.billing-caller"]);
    assert.equal(notImported.code, 1);
    assert.equal(notImported.stderr, 'msec-gen: error: --ts-import "other/x.proto=shop.billing-caller": other/x.proto is not a file this input imports\n');
    const requested = await runCli([...base, "--ts-import", "catalog/catalog.proto=x"]);
    assert.equal(requested.code, 1);
    assert.match(requested.stderr, /catalog\/catalog\.proto is one of the files being generated/);
    const badName = await runCli([...base, "--ts-import", "common/types.proto=Not A Package"]);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /"Not A Package" is not an npm package name/);
    await assertEmpty(out);
  });

  test("--version and --runtime are validated", async () => {
    const out = await outDir();
    const version = await runCli(["server", "fixtures/voa/Crawl.proto", "--version", "1.2", "-o", out, "--quiet"]);
    assert.equal(version.code, 1);
    assert.equal(version.stderr, 'msec-gen: error: --version "1.2" is not a version of the form MAJOR.MINOR.PATCH[-pre] (e.g. 1.2.0)\n');
    const runtime = await runCli(["server", "fixtures/voa/Crawl.proto", "--runtime", "vendored", "-o", out, "--quiet"]);
    assert.equal(runtime.code, 1);
    assert.equal(runtime.stderr, 'msec-gen: error: --runtime must be bundled or registry, not "vendored"\n');
    await assertEmpty(out);
  });

  test("a compile error prints path:line:col: message, exits 1 and writes nothing", async () => {
    const out = await outDir();
    const r = await runCli(["server", "fixtures/edge/invalid/syntax_error.proto", "-o", out, "--quiet"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "fixtures/edge/invalid/syntax_error.proto:7:1: unexpected `}` after definition\n");
    assert.equal(r.stdout, "");
    await assertEmpty(out);
  });

  test("an unresolvable import is a compile error at the import line", async () => {
    const out = await outDir();
    const r = await runCli(["server", "fixtures/edge/users.proto", "-o", out, "--quiet"]);
    assert.equal(r.code, 1);
    const lines = r.stderr.split("\n");
    assert.equal(
      lines[0],
      `fixtures/edge/users.proto:5:1: imported file does not exist: "common/types.proto" (include directories: ${path.join(REPO_ROOT, "fixtures/edge")}; add one with -I)`,
    );
    assert.equal(lines[1], "fixtures/edge/users.proto:8:3: cannot find `common.Page` in this scope");
    await assertEmpty(out);
  });

  test("a missing .proto file is reported by name", async () => {
    const out = await outDir();
    const r = await runCli(["server", "fixtures/voa/Nope.proto", "-o", out, "--quiet"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "msec-gen: error: file not found: fixtures/voa/Nope.proto\n");
    await assertEmpty(out);
  });

  test("no .proto file at all is a usage error", async () => {
    const r = await runCli(["server"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^msec-gen: error: no \.proto file given/);
  });

  test("a missing include directory is reported by name", async () => {
    const out = await outDir();
    const r = await runCli(["server", "-I", "fixtures/no-such-dir", "fixtures/voa/Crawl.proto", "-o", out, "--quiet"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "msec-gen: error: include directory not found: fixtures/no-such-dir (ENOENT)\n");
    await assertEmpty(out);
  });

  test("an include path that is a file is reported", async () => {
    const r = await runCli(["server", "-I", "fixtures/voa/Crawl.proto", "fixtures/voa/Crawl.proto", "-o", await outDir(), "--quiet"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "msec-gen: error: include path is not a directory: fixtures/voa/Crawl.proto\n");
  });

  test("an unreadable include directory is reported (run as an unprivileged user)", async () => {
    const dir = await fs.mkdtemp(path.join(work, "shared-"));
    await fs.chmod(dir, 0o777);
    await fs.chmod(work, 0o755);
    const locked = path.join(dir, "locked");
    await fs.mkdir(locked, { mode: 0o700 });
    await fs.copyFile(path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), path.join(dir, "Crawl.proto"));
    await fs.chmod(path.join(dir, "Crawl.proto"), 0o644);
    const out = path.join(dir, "out");
    await fs.mkdir(out, { mode: 0o777 });
    await fs.chmod(out, 0o777);
    const r = await runCli(["server", "-I", locked, path.join(dir, "Crawl.proto"), "-o", out, "--quiet"], { uid: 65534, cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `msec-gen: error: cannot read include directory ${locked}: EACCES\n`);
    await assertEmpty(out);
  });

  test("a file without a service cannot make a server", async () => {
    const out = await outDir();
    const r = await runCli(["server", "fixtures/edge/messages_only.proto", "-o", out, "--quiet"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'msec-gen: error: messages_only.proto: no service to serve; a server needs at least one "service" declaration\n');
    await assertEmpty(out);
  });

  test("a streaming rpc is rejected (MSEC is unary only)", async () => {
    const r = await runCli(["server", "fixtures/edge/invalid/streaming.proto", "-o", await outDir(), "--quiet"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "msec-gen: error: streaming.proto: rpc stream.Clock.Watch is server streaming; MSEC services support unary rpcs only\n");
  });

  const badNames = [
    "VOA", "VOA.Main.Logic", ".MainLogic", "VOA.", "VOA.Main Logic", "VOA.Main/Logic", "VÖA.Main",
    // a leading "-" reads as an option to shells and tar; levels start with a letter
    "-rf.x", "VOA.-x", "9VOA.Main", "_VOA.Main", "..", "VOA...",
    // too long for the folder and tar entry names made from it
    `VOA.${"x".repeat(33)}`, `A.${"x".repeat(120)}`,
  ];
  for (const bad of badNames) {
    test(`--name ${JSON.stringify(bad.length > 40 ? `${bad.slice(0, 20)}…(${bad.length})` : bad)} is rejected before anything is compiled or created`, async () => {
      const out = path.join(await outDir(), "not-created");
      const r = await runCli(["server", "fixtures/voa/MainLogic.proto", "--name", bad, "-o", out]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `msec-gen: error: invalid --name ${JSON.stringify(bad)}: expected two levels "Group.Service", each 1-32 characters: a letter, then letters, digits, "_" or "-" (e.g. VOA.MainLogic)\n`,
      );
      await assertMissing(out);
    });
  }

  test("--name levels of 32 characters make a package whose paths all fit a tar archive", async () => {
    const out = await outDir();
    const name = `${"G".repeat(32)}.${"s".repeat(32)}`;
    const r = await runCli(["server", "fixtures/voa/MainLogic.proto", "--name", name, "--lang", "python", "-o", out, "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${path.join(out, `${name}-server-python.tgz`)}\n`);
  });

  test("an unknown --lang names the available languages", async () => {
    const out = await outDir();
    const r = await runCli(["caller", "fixtures/voa/Crawl.proto", "--lang", "ts,cobol", "-o", out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^msec-gen: error: unknown --lang "cobol" for caller; available: ts/);
    await assertEmpty(out);
  });

  test("an output path that is a file is a user error and leaves nothing behind", async () => {
    const dir = await outDir();
    const blocker = path.join(dir, "not-a-dir");
    await fs.writeFile(blocker, "x");
    const r = await runCli(["server", "fixtures/voa/Crawl.proto", "-o", blocker, "--quiet"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^msec-gen: error: cannot write to ${blocker.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: EEXIST `));
    assert.deepEqual(await fs.readdir(dir), ["not-a-dir"]);
  });

  test("an unexpected exception is reported as an internal error with exit code 2", () => {
    let text = "";
    const code = report(new TypeError("cannot read properties of undefined"), (t) => (text += t));
    assert.equal(code, 2);
    assert.match(text, /^msec-gen: internal error \(a bug in msec-gen; please report it with the command line\):\nTypeError: cannot read properties of undefined\n    at /);
  });

  test("user errors exit 1; compile errors print without a prefix", () => {
    let text = "";
    assert.equal(report(new UserError("bad"), (t) => (text += t)), 1);
    assert.equal(report(new CompileError("a.proto:1:2: nope"), (t) => (text += t)), 1);
    assert.equal(text, "msec-gen: error: bad\na.proto:1:2: nope\n");
  });

  test("an unknown option exits 1", async () => {
    const r = await runCli(["server", "fixtures/voa/Crawl.proto", "--frobnicate"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown option '--frobnicate'/);
  });

  test("success prints the tarball path on stdout and progress on stderr", async () => {
    const out = await outDir();
    const r = await runCli(["server", "fixtures/voa/MainLogic.proto", "--name", "VOA.MainLogic", "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    const tgz = path.join(out, "VOA.MainLogic-server-ts.tgz");
    assert.equal(r.stdout, `${tgz}\n`);
    assert.deepEqual(await fs.readdir(out), ["VOA.MainLogic-server-ts.tgz"]);
    assert.equal(
      r.stderr,
      "msec-gen: compiling 1 .proto file with buf\n" +
        "msec-gen: generating TypeScript server dev package (Node >= 20, msec-gen runtime) for VOA.MainLogic\n" +
        "msec-gen: writing 14 files as a .tgz\n",
    );
  });

  test("--quiet keeps stderr empty", async () => {
    const out = await outDir();
    const r = await runCli(["caller", "fixtures/voa/Crawl.proto", "--name", "VOA.Crawl", "-o", out, "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, `${path.join(out, "VOA.Crawl-caller.tgz")}\n`);
  });

  test("the tarball holds relative regular files and directories only, with fixed owner, modes and mtime", async () => {
    const out = await outDir();
    const r = await runCli(["caller", "fixtures/voa/Crawl.proto", "--name", "VOA.Crawl", "--lang", "ts", "-o", out, "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    const listing = execFileSync("tar", ["--numeric-owner", "--utc", "-tvzf", r.stdout.trim()], { encoding: "utf8" }).trim().split("\n");
    const names = listing.map((l) => l.split(/\s+/).slice(5).join(" "));
    assert.deepEqual(names, [
      "VOA.Crawl-caller/",
      "VOA.Crawl-caller/README.md",
      "VOA.Crawl-caller/ts/",
      "VOA.Crawl-caller/ts/.gitignore",
      "VOA.Crawl-caller/ts/README.md",
      "VOA.Crawl-caller/ts/package.json",
      "VOA.Crawl-caller/ts/proto/",
      "VOA.Crawl-caller/ts/proto/Crawl.proto",
      "VOA.Crawl-caller/ts/runtime/",
      "VOA.Crawl-caller/ts/runtime/msec-gen-runtime-0.1.0.tgz",
      "VOA.Crawl-caller/ts/src/",
      "VOA.Crawl-caller/ts/src/gen/",
      "VOA.Crawl-caller/ts/src/gen/Crawl_msec.ts",
      "VOA.Crawl-caller/ts/src/gen/Crawl_pb.ts",
      "VOA.Crawl-caller/ts/src/index.ts",
      "VOA.Crawl-caller/ts/tsconfig.json",
    ]);
    for (const line of listing) {
      const [mode, owner, , date, time] = line.split(/\s+/);
      assert.equal(owner, "0/0", line);
      assert.equal(`${date} ${time}`, "1980-01-01 00:00", line);
      assert.ok(mode === "drwxr-xr-x" || mode === "-rw-r--r--", line);
    }
  });

  test("--dir writes the tree; regenerating keeps handler files and rewrites generated ones", async () => {
    const out = await outDir();
    const args = ["server", "fixtures/voa/MainLogic.proto", "--name", "VOA.MainLogic", "-o", out, "--dir"];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    const root = path.join(out, "VOA.MainLogic-server-ts");
    assert.equal(first.stdout, `${root}\n`);
    const handler = path.join(root, "src/handlers/MainLogicService.ts");
    const generated = path.join(root, "src/gen/MainLogic_msec.ts");
    const original = await fs.readFile(generated, "utf8");
    await fs.writeFile(handler, "// my implementation\n");
    await fs.writeFile(generated, "// clobbered\n");
    await fs.writeFile(path.join(root, "notes.txt"), "mine\n");
    await fs.writeFile(path.join(root, "etc/config.ini"), "[SRPC]\nlisten=8000/tcp\n");
    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(
      second.stderr.split("\n").filter((l) => l.includes(" kept ")).join("\n"),
      [
        "msec-gen: kept etc/config.ini (yours; not overwritten)",
        "msec-gen: kept etc/routes.conf (yours; not overwritten)",
        "msec-gen: kept src/handlers/MainLogicService.ts (yours; not overwritten)",
      ].join("\n"),
    );
    assert.equal(await fs.readFile(path.join(root, "etc/config.ini"), "utf8"), "[SRPC]\nlisten=8000/tcp\n");
    assert.equal(await fs.readFile(handler, "utf8"), "// my implementation\n");
    assert.equal(await fs.readFile(generated, "utf8"), original);
    assert.equal(await fs.readFile(path.join(root, "notes.txt"), "utf8"), "mine\n");
    assert.deepEqual((await fs.readdir(out)).sort(), ["VOA.MainLogic-server-ts"], "no temporary files left behind");
  });

  test("--descriptor-set-in generates the same code as the .proto source", async () => {
    const set = path.join(work, "voa.binpb");
    const buf = bufCommand();
    execFileSync(buf.command, [...buf.prefixArgs, "build", path.join(REPO_ROOT, "fixtures/voa/MainLogic.proto"), "--as-file-descriptor-set", "-o", set], {
      cwd: path.join(REPO_ROOT, "fixtures/voa"),
    });
    const fromSet = await outDir();
    const fromProto = await outDir();
    const a = await runCli(["server", "--descriptor-set-in", set, "--name", "VOA.MainLogic", "-o", fromSet, "--dir", "--quiet"]);
    const b = await runCli(["server", "fixtures/voa/MainLogic.proto", "--name", "VOA.MainLogic", "-o", fromProto, "--dir", "--quiet"]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    for (const file of ["src/gen/MainLogic_pb.ts", "src/gen/MainLogic_msec.ts", "src/main.ts", "test/smoke.test.ts"]) {
      assert.equal(
        await fs.readFile(path.join(fromSet, "VOA.MainLogic-server-ts", file), "utf8"),
        await fs.readFile(path.join(fromProto, "VOA.MainLogic-server-ts", file), "utf8"),
        file,
      );
    }
  });

  test("caller without --lang writes every registered language", async () => {
    const out = await outDir();
    const r = await runCli(["caller", "fixtures/voa/Crawl.proto", "--name", "VOA.Crawl", "-o", out, "--dir", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual((await fs.readdir(path.join(out, "VOA.Crawl-caller"))).sort(), ["README.md", "cpp", "go", "java", "php", "python", "ts"]);
  });

  test("caller without --lang skips a language the input cannot give, with a warning; naming that language fails", async () => {
    const set = path.join(work, "crawl.binpb");
    const buf = bufCommand();
    execFileSync(buf.command, [...buf.prefixArgs, "build", path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), "--as-file-descriptor-set", "-o", set], {
      cwd: path.join(REPO_ROOT, "fixtures/voa"),
    });
    const out = await outDir();
    const r = await runCli(["caller", "--descriptor-set-in", set, "--name", "VOA.Crawl", "-o", out, "--dir", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      "msec-gen: warning: skipping the cpp caller: Crawl.proto: the C++ caller compiles .proto sources with protoc at build time, " +
        "but this input has no source for it (a descriptor set?); generate from the .proto files or without --lang cpp (name languages with --lang)\n",
    );
    const top = path.join(out, "VOA.Crawl-caller");
    assert.deepEqual((await fs.readdir(top)).sort(), ["README.md", "go", "java", "php", "python", "ts"]);
    assert.doesNotMatch(await fs.readFile(path.join(top, "README.md"), "utf8"), /cpp\//);
    const explicit = await runCli(["caller", "--descriptor-set-in", set, "--name", "VOA.Crawl", "--lang", "ts,cpp", "-o", await outDir(), "--quiet"]);
    assert.equal(explicit.code, 1);
    assert.match(explicit.stderr, /^msec-gen: error: Crawl\.proto: the C\+\+ caller compiles \.proto sources/);
  });

  test("--descriptor-set-in with a file that is not a descriptor set is a user error", async () => {
    const bogus = path.join(work, "bogus.binpb");
    await fs.writeFile(bogus, "definitely not protobuf\n");
    const r = await runCli(["server", "--descriptor-set-in", bogus, "-o", await outDir(), "--quiet"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^msec-gen: error: .*bogus\.binpb: not a binary google\.protobuf\.FileDescriptorSet/);
  });
});

describe("inputs that would make an unsafe or unusable package are user errors, refused before anything is written", () => {
  /** A .proto declaring a service, with `options` (lines of `option …;`) right after the package (line 3 on). */
  async function protoWith(options: string[], file = "evil.proto"): Promise<string> {
    const dir = await fs.mkdtemp(path.join(work, "input-"));
    const text = ['syntax = "proto3";', "package evil;", ...options, "message Req { string a = 1; }", "service EvilService { rpc Get(Req) returns (Req); }", ""];
    await fs.writeFile(path.join(dir, file), text.join("\n"));
    return dir;
  }

  /** Runs msec-gen in `cwd` with `-o <fresh>/out`; asserts exit 1, the one stderr line, nothing on stdout and no `out`. */
  async function assertRefused(args: string[], line: string, cwd = REPO_ROOT): Promise<void> {
    const out = path.join(await outDir(), "out");
    const r = await runCli([...args, "-o", out, "--quiet"], { cwd });
    assert.equal(r.stderr, `${line}\n`);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    await assertMissing(out);
  }

  test("an input not named *.proto", async () => {
    const dir = await fs.mkdtemp(path.join(work, "input-"));
    await fs.copyFile(path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), path.join(dir, "Crawl.txt"));
    await assertRefused(
      ["server", "Crawl.txt"],
      "msec-gen: error: Crawl.txt: not a .proto file (inputs are named *.proto; a binary descriptor set goes with --descriptor-set-in)",
      dir,
    );
    await assertRefused(
      ["caller", "fixtures/voa/Crawl.proto", "fixtures/voa"],
      "msec-gen: error: fixtures/voa: not a .proto file (inputs are named *.proto; a binary descriptor set goes with --descriptor-set-in)",
    );
  });

  test("java_package escaping the source folder names the option's file:line:col", async () => {
    const dir = await protoWith(['option go_package = "example.com/evil";', 'option java_package = "../../etc";']);
    await assertRefused(
      ["caller", "evil.proto", "--lang", "java"],
      'msec-gen: error: evil.proto:4:1: option java_package "../../etc" is not a Java package name (dot-separated Java identifiers, e.g. com.example.crawl)',
      dir,
    );
    const slash = await protoWith(['option java_package = "com/example";']);
    await assertRefused(
      ["caller", path.join(slash, "evil.proto"), "--lang", "ts,java"],
      `msec-gen: error: ${path.join(slash, "evil.proto")}:3:1: option java_package "com/example" is not a Java package name (dot-separated Java identifiers, e.g. com.example.crawl)`,
    );
  });

  test("java_outer_classname that is not a class name names the option's file:line:col", async () => {
    const dir = await protoWith(['option java_outer_classname = "../Evil";']);
    await assertRefused(
      ["caller", "evil.proto", "--lang", "java"],
      'msec-gen: error: evil.proto:3:1: option java_outer_classname "../Evil" is not a Java class name (letters, digits, _ and $, not starting with a digit)',
      dir,
    );
  });

  test("go_package of an imported file that is not a Go import path names the option's file:line:col", async () => {
    const dir = await protoWith(['import "common.proto";']);
    await fs.writeFile(path.join(dir, "common.proto"), 'syntax = "proto3";\npackage common;\noption go_package = "../../evil";\nmessage Page { int32 n = 1; }\n');
    await assertRefused(
      ["caller", "evil.proto", "--lang", "go"],
      'msec-gen: error: common.proto:3:1: option go_package "../../evil" is not a Go import path; map the file with --go-import common.proto=<import path>',
      dir,
    );
  });

  test("a default routing name that breaks the --name rule asks for --name", async () => {
    const dir = await fs.mkdtemp(path.join(work, "input-"));
    const service = `${"Very".repeat(9)}LongService`;
    await fs.writeFile(path.join(dir, "long.proto"), `syntax = "proto3";\npackage _9shop;\nmessage Req { string a = 1; }\nservice ${service} { rpc Get(Req) returns (Req); }\n`);
    await assertRefused(
      ["server", "long.proto"],
      `msec-gen: error: the default routing name "shop.${"Very".repeat(9)}Long" (from the first service and its package) is not valid; give one with --name: two levels "Group.Service", each 1-32 characters: a letter, then letters, digits, "_" or "-" (e.g. VOA.MainLogic)`,
      dir,
    );
  });

  test("--npm-name must be an npm package name", async () => {
    for (const bad of ["../x", "-rf", ".hidden", "Upper", `${"x".repeat(215)}`]) {
      await assertRefused(
        ["caller", "fixtures/voa/Crawl.proto", "--lang", "ts", "--npm-name", bad],
        `msec-gen: error: --npm-name ${JSON.stringify(bad)} is not an npm package name (lower-case letters, digits, ".", "_", "~" and "-", not starting with "." or "_", optionally @scope/, at most 214 characters; e.g. voa.crawl-caller)`,
      );
    }
    await assertRefused(
      ["server", "fixtures/voa/Crawl.proto", "--npm-name", "../x"],
      `msec-gen: error: --npm-name "../x" is not an npm package name (lower-case letters, digits, ".", "_", "~" and "-", not starting with "." or "_", optionally @scope/, at most 214 characters; e.g. voa.crawl-caller)`,
    );
  });

  test("Maven coordinates that would name a folder outside the package", async () => {
    await assertRefused(
      ["caller", "fixtures/voa/Crawl.proto", "--lang", "java", "--java-artifact-id", ".."],
      'msec-gen: error: invalid Java artifactId "..": must start with a letter, digit or "_"',
    );
    await assertRefused(
      ["caller", "fixtures/shared/catalog/catalog.proto", "-I", "fixtures/shared", "--lang", "java", "--java-proto-dep", "common/types.proto=com.example:..:1.0.0"],
      'msec-gen: error: invalid "common/types.proto=com.example:..:1.0.0": expected --java-proto-dep <file.proto>=<groupId>:<artifactId>:<version>, e.g. common/types.proto=com.example.shop:shop-common:1.0.0',
    );
  });

  test("other path-making options are checked too", async () => {
    const cases: Array<[string[], string]> = [
      [["--lang", "python", "--python-package", "../x"], 'msec-gen: error: --python-package "../x": want a Python identifier such as voa_crawl (letters, digits, _; not a keyword)'],
      [["--lang", "cpp", "--cpp-package", "../x"], 'msec-gen: error: --cpp-package "../x": expected a CMake package name of letters, digits and _ starting with a letter'],
      [["--lang", "go", "--go-module", "../x"], 'msec-gen: error: --go-module "../x" is not a Go module path (slash-separated elements of letters, digits and ._~-, e.g. example.com/team/crawl)'],
    ];
    for (const [args, line] of cases) await assertRefused(["caller", "fixtures/voa/Crawl.proto", ...args], line);
  });

  test("a .proto path too long for a tar entry is a user error; --dir writes it", async () => {
    const dir = await fs.mkdtemp(path.join(work, "input-"));
    const nested = path.join("a".repeat(60), "b".repeat(60), "c".repeat(60));
    await fs.mkdir(path.join(dir, nested), { recursive: true });
    const file = path.join(nested, `${"d".repeat(90)}.proto`);
    await fs.copyFile(path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), path.join(dir, file));
    await assertRefused(
      ["server", file, "-I", "."],
      `msec-gen: error: the path "crawl.Crawl-server-ts/proto/${file}" does not fit a tar entry (ustar: at most 100 bytes after a "/" and 155 before it); shorten the --name, .proto path or option it comes from, or write a folder with --dir`,
      dir,
    );
    const out = await outDir();
    const r = await runCli(["server", file, "-I", ".", "-o", out, "--dir", "--quiet"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("file modes", () => {
  /** `mode path` of every entry of a .tgz. */
  function modes(tgz: string): Array<{ mode: string; name: string }> {
    return execFileSync("tar", ["--numeric-owner", "-tvzf", tgz], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => ({ mode: l.split(/\s+/)[0]!, name: l.split(/\s+/).slice(5).join(" ") }));
  }

  test("a Python server's main.py and build.py are 0755 (they start with #! and are run directly), every other file 0644", async () => {
    const out = await outDir();
    const r = await runCli(["server", "fixtures/voa/Crawl.proto", "--name", "VOA.Crawl", "--lang", "python", "-o", out, "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    const tgz = r.stdout.trim();
    const entries = modes(tgz);
    const executables = entries.filter((e) => e.mode === "-rwxr-xr-x").map((e) => e.name);
    assert.deepEqual(executables, ["VOA.Crawl-server-python/build.py", "VOA.Crawl-server-python/main.py"]);
    for (const e of entries) {
      if (e.name.endsWith("/")) assert.equal(e.mode, "drwxr-xr-x", e.name);
      else if (!executables.includes(e.name)) assert.equal(e.mode, "-rw-r--r--", e.name);
    }
    for (const name of executables) {
      const text = execFileSync("tar", ["-xzOf", tgz, name], { encoding: "utf8" });
      assert.ok(text.startsWith("#!/usr/bin/env python3\n"), name);
    }
    // the same modes on disk with --dir
    const dir = await outDir();
    const d = await runCli(["server", "fixtures/voa/Crawl.proto", "--name", "VOA.Crawl", "--lang", "python", "-o", dir, "--dir", "--quiet"]);
    assert.equal(d.code, 0, d.stderr);
    for (const name of ["main.py", "build.py"]) assert.equal((await fs.stat(path.join(dir, "VOA.Crawl-server-python", name))).mode & 0o777, 0o755, name);
    assert.equal((await fs.stat(path.join(dir, "VOA.Crawl-server-python", "README.md"))).mode & 0o777, 0o644);
  });

  test("docs/cli.md states the same modes", async () => {
    const doc = (await fs.readFile(path.join(REPO_ROOT, "docs/cli.md"), "utf8")).replace(/\s+/g, " ");
    assert.match(doc, /mode 0644 \(0755 for directories and for the scripts meant to be run directly, which start with a `#!` line: a Python server's `main\.py` and `build\.py`/);
  });
});
