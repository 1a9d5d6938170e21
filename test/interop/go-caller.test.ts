/**
 * The Go caller library built with the real Go toolchain: generated for the
 * VOA protos, it is gofmt-clean, passes `go build`, `go vet` and its own
 * `go test` (the runtime's framing against the shared wire vectors); the
 * reserved-word fixture builds with escaped names; `--go-module` is honoured;
 * the tarball is byte-stable.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { msecGen, REPO_ROOT, run, runOk, TSX_LOADER } from "./ts-server.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-go-caller-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function generate(out: string, args: readonly string[]): Promise<string> {
  const r = await msecGen(["caller", ...args, "--lang", "go", "--dir", "-o", path.join(work, out), "-q"]);
  assert.equal(r.code, 0, r.stderr);
  return path.join(r.stdout.trim(), "go");
}

describe("Go caller for the VOA protos", () => {
  let dir = "";
  before(async () => {
    dir = await generate("voa", ["fixtures/voa/Crawl.proto", "fixtures/voa/MainLogic.proto", "--name", "VOA.Crawl"]);
  });

  test("has the module layout: go.mod, go.sum, one package per proto package, the msec runtime", () => {
    const files = (d: string) => readdirSync(path.join(dir, d)).sort();
    assert.deepEqual(files("."), ["README.md", "crawl", "go.mod", "go.sum", "mainlogic", "msec"]);
    assert.deepEqual(files("crawl"), ["Crawl.pb.go", "Crawl_msec.go"]);
    assert.deepEqual(files("mainlogic"), ["MainLogic.pb.go", "MainLogic_msec.go"]);
    assert.equal(
      readFileSync(path.join(dir, "go.mod"), "utf8"),
      "module example.com/msec/voa/crawl\n\ngo 1.23\n\nrequire google.golang.org/protobuf v1.36.12\n",
    );
    assert.match(readFileSync(path.join(dir, "crawl/Crawl.pb.go"), "utf8"), /^\/\/ \tprotoc-gen-go v1\.36\.12$/m);
  });

  test("clients have idiomatic names and the wire method names", () => {
    const src = readFileSync(path.join(dir, "crawl/Crawl_msec.go"), "utf8");
    assert.match(src, /^func NewCrawlServiceClient\(opts msec\.Options\) \*CrawlServiceClient \{$/m);
    assert.match(src, /^func \(c \*CrawlServiceClient\) GetMP3List\(ctx context\.Context, req \*GetMP3ListRequest\) \(\*GetMP3ListResponse, error\) \{$/m);
    assert.match(src, /c\.client\.Call\(ctx, "crawl\.CrawlService\.GetMP3List", req, resp\)/);
    assert.match(src, /opts\.Service = "VOA\.Crawl"/);
    const main = readFileSync(path.join(dir, "mainlogic/MainLogic_msec.go"), "utf8");
    for (const m of ["GetTitles", "GetUrlByTitle", "DownloadMP3"]) {
      assert.match(main, new RegExp(`^func \\(c \\*MainLogicServiceClient\\) ${m}\\(`, "m"));
    }
  });

  test("is gofmt-clean", async () => {
    assert.equal(await runOk("gofmt", ["-l", "."], { cwd: dir }), "");
  });

  test("go build and go vet pass", async () => {
    await runOk("go", ["build", "./..."], { cwd: dir });
    await runOk("go", ["vet", "./..."], { cwd: dir });
  });

  test("go test passes: the runtime's framing, head codec, colour ids and check table match the shared vectors", async () => {
    const out = await runOk("go", ["test", "-count=1", "-v", "./msec/"], { cwd: dir });
    for (const name of [
      "TestHeadsEncodeAndDecodeAsTheVectors",
      "TestFramesEncodeAndDecodeAsTheVectors",
      "TestUnknownMethodReplyCarriesCodeMinus6",
      "TestCheckTable",
      "TestColorIDsAndFlowIDs",
      "TestParseRoutes",
      "TestCallsReuseOnePersistentConnection",
      "TestConnectionLostMidCallIsMinus13AndNextCallReconnects",
    ]) {
      assert.match(out, new RegExp(`^--- PASS: ${name} `, "m"), out);
    }
    assert.doesNotMatch(out, /--- FAIL/);
  });

  test("the README's usage example is a program that builds against the module", async () => {
    const readme = readFileSync(path.join(dir, "README.md"), "utf8");
    const example = /^```go\n([\s\S]*?)^```$/m.exec(readme);
    assert.ok(example, "README has a go block");
    assert.ok(example[1]!.includes("client.GetMP3List(ctx, &crawl.GetMP3ListRequest{})"));
    const cmd = path.join(dir, "cmd/readme-example");
    mkdirSync(cmd, { recursive: true });
    writeFileSync(path.join(cmd, "main.go"), example[1]!);
    try {
      assert.equal(await runOk("gofmt", ["-l", "cmd"], { cwd: dir }), "");
      await runOk("go", ["vet", "./cmd/readme-example"], { cwd: dir });
    } finally {
      rmSync(path.join(dir, "cmd"), { recursive: true, force: true });
    }
  });

  test("the runtime's testdata is a byte copy of fixtures/vectors", () => {
    const testdata = path.join(dir, "msec/testdata");
    const names = readdirSync(testdata).sort();
    assert.deepEqual(names, readdirSync(path.join(REPO_ROOT, "fixtures/vectors")).filter((n) => /^v[1-7]-.*\.json$/.test(n)).sort());
    for (const name of names) {
      assert.equal(readFileSync(path.join(testdata, name), "utf8"), readFileSync(path.join(REPO_ROOT, "fixtures/vectors", name), "utf8"), name);
    }
  });
});

describe("Go caller naming", () => {
  test("the reserved-word fixture builds: package import becomes importpb, rpc names are exported CamelCase", async () => {
    const dir = await generate("reserved", ["fixtures/edge/reserved_words.proto", "--name", "Edge.Reserved"]);
    const src = readFileSync(path.join(dir, "import/reserved_words_msec.go"), "utf8");
    assert.match(src, /^package importpb$/m);
    for (const sig of ["func NewErrorClient(", "func (c *ErrorClient) Then(ctx context.Context, req *Object) (*Array, error)", "func (c *ErrorClient) Constructor(", "func (c *ErrorClient) Delete(", "func (c *ErrorClient) ToString(", "func (c *ErrorClient) Service(", "func (c *StringClient) Catch(ctx context.Context, req *Promise) (*Promise, error)"]) {
      assert.ok(src.includes(sig), sig);
    }
    assert.equal(await runOk("gofmt", ["-l", "."], { cwd: dir }), "");
    await runOk("go", ["vet", "./..."], { cwd: dir });
  });

  test("well-known types import google.golang.org/protobuf/types/known packages; versioned proto packages get a joined name", async () => {
    const dir = await generate("modern", ["fixtures/edge/modern_proto3.proto", "--name", "Edge.Modern"]);
    const src = readFileSync(path.join(dir, "modern/v1/modern_proto3_msec.go"), "utf8");
    assert.match(src, /^package modernv1$/m);
    assert.match(src, /^\t"google\.golang\.org\/protobuf\/types\/known\/emptypb"$/m);
    assert.match(src, /func \(c \*EventServiceClient\) Put\(ctx context\.Context, req \*Event\) \(\*emptypb\.Empty, error\)/);
    assert.match(src, /func \(c \*AdminServiceClient\) Purge\(ctx context\.Context, req \*timestamppb\.Timestamp\) \(\*wrapperspb\.Int64Value, error\)/);
    await runOk("go", ["vet", "./..."], { cwd: dir });
  });

  test("proto2 with groups, extensions and defaults, and files importing across packages, build and vet", async () => {
    const legacy = await generate("legacy", ["fixtures/edge/legacy_proto2.proto", "--name", "Edge.Legacy"]);
    await runOk("go", ["vet", "./..."], { cwd: legacy });
    const multi = await generate("multi", ["-I", "fixtures/edge/include", "-I", "fixtures/edge", "fixtures/edge/orders.proto", "fixtures/edge/users.proto", "--name", "Edge.Multi"]);
    assert.deepEqual(readdirSync(multi).sort(), ["README.md", "common", "go.mod", "go.sum", "msec", "orders", "users"]);
    assert.equal(await runOk("gofmt", ["-l", "."], { cwd: multi }), "");
    await runOk("go", ["vet", "./..."], { cwd: multi });
  });

  test("--go-module sets the module path and every import of it", async () => {
    const dir = await generate("module", ["fixtures/voa/Crawl.proto", "--name", "VOA.Crawl", "--go-module", "git.example.org/team/voa-crawl"]);
    assert.match(readFileSync(path.join(dir, "go.mod"), "utf8"), /^module git\.example\.org\/team\/voa-crawl$/m);
    assert.match(readFileSync(path.join(dir, "crawl/Crawl_msec.go"), "utf8"), /^\t"git\.example\.org\/team\/voa-crawl\/msec"$/m);
    await runOk("go", ["build", "./..."], { cwd: dir });
  });

  test("an invalid --go-module is a user error (exit 1)", async () => {
    const r = await msecGen(["caller", "fixtures/voa/Crawl.proto", "--lang", "go", "--go-module", "bad path/x", "-o", path.join(work, "bad"), "-q"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--go-module "bad path\/x" is not a Go module path/);
  });
});

describe("Go caller tarball", () => {
  test("is byte-identical across runs", async () => {
    const digest = async (out: string) => {
      const r = await msecGen(["caller", "fixtures/voa/Crawl.proto", "--name", "VOA.Crawl", "--lang", "go", "-o", path.join(work, out), "-q"]);
      assert.equal(r.code, 0, r.stderr);
      return createHash("sha256").update(readFileSync(r.stdout.trim())).digest("hex");
    };
    assert.equal(await digest("tgz1"), await digest("tgz2"));
  });

  test("names no absolute path of this machine", async () => {
    const dir = await generate("paths", ["fixtures/voa/Crawl.proto", "--name", "VOA.Crawl"]);
    const r = await run("grep", ["-rl", "-e", REPO_ROOT, "-e", work, "."], { cwd: dir });
    assert.equal(r.stdout, "");
  });
});

describe("locating protoc-gen-go", () => {
  /** PATH without any folder holding go or protoc-gen-go. */
  const pathWithout = (...tools: string[]) =>
    (process.env["PATH"] ?? "")
      .split(path.delimiter)
      .filter((d) => !tools.some((t) => existsSync(path.join(d, t))))
      .join(path.delimiter);

  test("without Go and without PROTOC_GEN_GO, --lang go fails with a message naming what to install", async () => {
    const r = await run(process.execPath, ["--import", TSX_LOADER, path.join(REPO_ROOT, "cli/main.ts"), "caller", "fixtures/voa/Crawl.proto", "--lang", "go", "-o", path.join(work, "nogo"), "-q"], {
      env: { ...process.env, PATH: pathWithout("go", "protoc-gen-go"), PROTOC_GEN_GO: "", XDG_CACHE_HOME: path.join(work, "empty-cache") },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      "msec-gen: error: --lang go needs protoc-gen-go v1.36.12: install Go 1.23 or newer (https://go.dev/dl/) so msec-gen can build it, or set PROTOC_GEN_GO to a protoc-gen-go binary\n",
    );
  });

  test("when no protoc-gen-go v1.36.12 is found, it is built once into the msec-gen cache", async () => {
    const cache = path.join(work, "cache");
    const gomodcache = (await runOk("go", ["env", "GOMODCACHE"])).trim();
    const env = { ...process.env, PATH: pathWithout("protoc-gen-go"), PROTOC_GEN_GO: "", XDG_CACHE_HOME: cache, GOPATH: path.join(work, "gopath"), GOMODCACHE: gomodcache, GOFLAGS: "-mod=mod" };
    const args = ["--import", TSX_LOADER, path.join(REPO_ROOT, "cli/main.ts"), "caller", "fixtures/voa/Crawl.proto", "--lang", "go", "--dir", "-o", path.join(work, "built")];
    const first = await run(process.execPath, args, { env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^msec-gen: building protoc-gen-go v1\.36\.12 with go install \(once; cached in .*msec-gen\/protoc-gen-go-v1\.36\.12\)$/m);
    assert.ok(existsSync(path.join(cache, "msec-gen/protoc-gen-go-v1.36.12/protoc-gen-go")));
    const second = await run(process.execPath, args, { env });
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /building protoc-gen-go/);
  });
});
