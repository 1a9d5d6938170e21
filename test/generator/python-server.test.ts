/**
 * The Python server dev package (`msec-gen server --lang python`): generated
 * from the VOA and edge-case protos with the CLI, each package passes its own
 * pytest smoke test (real sockets, real Python + protobuf); regeneration with
 * `--dir` keeps the handlers and `etc/`; `build.py` writes the same plugin
 * tarball twice, and the unpacked plugin (carrying the runtime) serves; two
 * server packages install into one venv beside one runtime, and serve there
 * (console script, `python -m <pkg>`); MSEC's `from msec_impl import *` works.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "./golden-cases.js";
import { runCli } from "./run-cli.js";

const exec = promisify(execFile);
const PYTHON = "python3";

let work: string;

async function sh(command: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  try {
    return (await exec(command, [...args], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } })).stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
}

/** `msec-gen server <args> --lang python --dir -o work`; resolves the package folder. */
async function generate(args: readonly string[]): Promise<{ dir: string; stderr: string }> {
  const r = await runCli(["server", ...args, "--lang", "python", "--dir", "-o", work]);
  assert.equal(r.code, 0, r.stderr);
  const dir = r.stdout.trim().split("\n").at(-1)!;
  return { dir, stderr: r.stderr };
}

/** Start `command` in `cwd`, resolve the port of its JSON startup line (`"msg":"listening on 127.0.0.1:<port> (tcp)"`); SIGTERM must exit 0. */
async function withServer(command: readonly string[], cwd: string, use: (port: number) => Promise<void>): Promise<void> {
  const child = spawn(command[0]!, command.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^\{.*"msg":"listening on 127\.0\.0\.1:(\d+) \(tcp\)".*\}$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited with ${code}: ${out}`)));
    });
    await use(port);
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, "SIGTERM drains and exits 0");
}

async function health(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) });
  return `${res.status} ${await res.text()}`;
}

before(async () => {
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-pyserver-"));
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe("Python server dev package", () => {
  const cases: Array<{ args: string[]; folder: string; tests: number }> = [
    { args: ["fixtures/voa/MainLogic.proto", "--name", "VOA.MainLogic"], folder: "VOA.MainLogic-server-python", tests: 6 },
    { args: ["fixtures/voa/Crawl.proto", "--name", "VOA.Crawl"], folder: "VOA.Crawl-server-python", tests: 2 },
    { args: ["fixtures/edge/legacy_proto2.proto"], folder: "legacy.Legacy-server-python", tests: 4 },
    { args: ["fixtures/edge/modern_proto3.proto", "--name", "Modern.Events"], folder: "Modern.Events-server-python", tests: 6 },
    { args: ["fixtures/edge/reserved_words.proto", "--name", "Reserved.Words"], folder: "Reserved.Words-server-python", tests: 12 },
    {
      args: ["fixtures/edge/users.proto", "fixtures/edge/orders.proto", "-I", "fixtures/edge/include", "-I", "fixtures/edge", "--name", "Shop.Users"],
      folder: "Shop.Users-server-python",
      tests: 4,
    },
  ];
  for (const c of cases) {
    test(`${c.folder}: the generated smoke test passes on the untouched skeletons (every method, binary and JSON)`, async () => {
      const { dir } = await generate(c.args.map((a) => (a.startsWith("fixtures/") ? path.join(REPO_ROOT, a) : a)));
      assert.equal(path.basename(dir), c.folder);
      const out = await sh(PYTHON, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], dir);
      assert.match(out, new RegExp(`^${c.tests} passed in `, "m"), out);
    });
  }

  test("regenerating with --dir keeps the handler files and etc/, rewrites generated code", async () => {
    const { dir } = await generate([path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), "--name", "VOA.Crawl"]);
    const handler = path.join(dir, "voa_crawl_server/handlers/CrawlService.py");
    const config = path.join(dir, "etc/config.ini");
    const routes = path.join(dir, "etc/routes.conf");
    const dispatch = path.join(dir, "voa_crawl_server/gen/Crawl_msec.py");
    const generated = await fs.readFile(dispatch, "utf8");
    await fs.copyFile(path.join(REPO_ROOT, "fixtures/seed/crawl.py"), handler);
    await fs.writeFile(config, "[SRPC]\nlisten=127.0.0.1:0/tcp\n");
    await fs.writeFile(routes, "Jsoup.jsoup 127.0.0.1:1\n");
    await fs.writeFile(dispatch, "broken\n");
    const { stderr } = await generate([path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), "--name", "VOA.Crawl"]);
    for (const kept of ["etc/config.ini", "etc/routes.conf", "voa_crawl_server/handlers/CrawlService.py"]) assert.ok(stderr.includes(kept), stderr);
    assert.equal(await fs.readFile(handler, "utf8"), await fs.readFile(path.join(REPO_ROOT, "fixtures/seed/crawl.py"), "utf8"));
    assert.equal(await fs.readFile(config, "utf8"), "[SRPC]\nlisten=127.0.0.1:0/tcp\n");
    assert.equal(await fs.readFile(routes, "utf8"), "Jsoup.jsoup 127.0.0.1:1\n");
    assert.equal(await fs.readFile(dispatch, "utf8"), generated);
  });

  test("build.py writes the same msec_py.tgz twice; the unpacked plugin starts from its etc/config.ini", async () => {
    const { dir } = await generate([path.join(REPO_ROOT, "fixtures/voa/MainLogic.proto"), "--name", "VOA.MainLogic"]);
    // the smoke test leaves __pycache__ folders behind: they must not be packed
    await sh(PYTHON, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], dir);
    assert.match(await sh(PYTHON, ["build.py"], dir), /^wrote .*msec_py\.tgz \(\d+ files\)$/m);
    const first = await fs.readFile(path.join(dir, "msec_py.tgz"));
    await sh(PYTHON, ["build.py", "--output", path.join(work, "again.tgz")], dir);
    assert.ok(first.equals(await fs.readFile(path.join(work, "again.tgz"))), "build.py is deterministic");
    const listing = (await sh("tar", ["-tvzf", path.join(dir, "msec_py.tgz")], dir)).trim().split("\n");
    const entries = listing.map((l) => l.split(/\s+/).at(-1)!);
    const src = path.join(REPO_ROOT, "runtimes/python/src");
    const runtime: string[] = [];
    for (const p of ["msec", "msec_impl"]) {
      for (const f of (await fs.readdir(path.join(src, p))).filter((f) => !f.endsWith(".pyc") && f !== "__pycache__")) runtime.push(`runtime/src/${p}/${f}`);
    }
    assert.deepEqual(entries, [
      "README.md",
      "etc/config.ini",
      "etc/routes.conf",
      "main.py",
      "proto/MainLogic.proto",
      "pyproject.toml",
      ...runtime.sort(),
      "voa_mainlogic_server/__init__.py",
      "voa_mainlogic_server/__main__.py",
      "voa_mainlogic_server/gen/MainLogic_msec.py",
      "voa_mainlogic_server/gen/MainLogic_pb2.py",
      "voa_mainlogic_server/gen/MainLogic_pb2.pyi",
      "voa_mainlogic_server/gen/__init__.py",
      "voa_mainlogic_server/handlers/MainLogicService.py",
      "voa_mainlogic_server/handlers/__init__.py",
      "voa_mainlogic_server/main.py",
      "voa_mainlogic_server/openapi.json",
    ]);
    // the packed runtime is the runtime project's source, byte for byte
    for (const p of runtime) {
      const packed = await sh("tar", ["-xOzf", path.join(dir, "msec_py.tgz"), p], dir);
      assert.equal(packed, await fs.readFile(path.join(src, p.slice("runtime/src/".length)), "utf8"), p);
    }
    for (const line of listing) {
      assert.match(line, line.endsWith(" main.py") ? /^-rwxr-xr-x root\/root / : /^-rw-r--r-- root\/root /, line);
      assert.match(line, / 1970-01-01 00:00 /, line);
    }
    const deployed = path.join(work, "deployed");
    await fs.mkdir(deployed);
    await sh("tar", ["-xzf", path.join(dir, "msec_py.tgz"), "-C", deployed], work);
    const ini = path.join(deployed, "etc/config.ini");
    await fs.writeFile(ini, (await fs.readFile(ini, "utf8")).replace("listen=7963/tcp 7963/udp", "listen=127.0.0.1:0/tcp"));
    // started from another directory: main.py runs in its own folder, so etc/ is found; the
    // python3 here has protobuf but no msec: the plugin's runtime/src is what runs
    await assert.rejects(sh(PYTHON, ["-c", "import msec"], work), /No module named 'msec'/);
    await withServer([PYTHON, path.join(deployed, "main.py")], work, async (port) => {
      assert.equal(await health(port), "200 ok\n");
      const res = await fetch(`http://127.0.0.1:${port}/?methodName=MainLogic.MainLogicService.GetTitles`, {
        method: "POST",
        body: '{"type": "special"}',
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(await res.text(), '{"ret":0, "errmsg":"", "resultObj": {"status": 0, "msg": ""}}');
      // the deployed plugin serves its openapi.json (package data) without configuration
      const doc = await fetch(`http://127.0.0.1:${port}/openapi.json`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(await doc.text(), await fs.readFile(path.join(deployed, "voa_mainlogic_server/openapi.json"), "utf8"));
    });
  });

  test("dispatch: async def and def methods, the call's context, SrpcError codes, a wrong response type answers -18", async () => {
    const { dir } = await generate([path.join(REPO_ROOT, "fixtures/voa/MainLogic.proto"), "--name", "VOA.MainLogic"]);
    await fs.writeFile(
      path.join(dir, "voa_mainlogic_server/handlers/MainLogicService.py"),
      [
        "import asyncio",
        "from msec import CallContext, SrpcError",
        "from voa_mainlogic_server.gen import MainLogic_pb2",
        "",
        "class MainLogicService:",
        "    async def GetTitles(self, request, ctx: CallContext):",
        "        await asyncio.sleep(0)",
        "        return MainLogic_pb2.GetTitlesResponse(titles=[request.type, ctx.format, ctx.caller, ctx.method], status=0, msg='async')",
        "",
        "    def GetUrlByTitle(self, request, ctx):",
        "        if request.title == 'boom':",
        "            raise SrpcError(-19, 'backend down')",
        "        return MainLogic_pb2.GetUrlByTitleResponse(url='u:' + request.title, status=0, msg=str(ctx.flow_id != 0))",
        "",
        "    def DownloadMP3(self, request, ctx):",
        "        return MainLogic_pb2.GetTitlesResponse(status=0, msg='wrong type')",
        "",
      ].join("\n"),
    );
    await withServer([PYTHON, "main.py", "--host", "127.0.0.1", "--port", "0", "--no-udp"], dir, async (port) => {
      const post = async (method: string, body: string, caller?: string): Promise<string> => {
        const res = await fetch(`http://127.0.0.1:${port}/?methodName=MainLogic.MainLogicService.${method}`, {
          method: "POST",
          headers: caller === undefined ? {} : { caller },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        return res.text();
      };
      assert.equal(
        await post("GetTitles", '{"type": "special"}', "curl"),
        '{"ret":0, "errmsg":"", "resultObj": {"titles": ["special", "json", "curl", "MainLogic.MainLogicService.GetTitles"], "status": 0, "msg": "async"}}',
      );
      assert.equal(
        await post("GetUrlByTitle", '{"type": "special", "title": "Moon"}'),
        '{"ret":0, "errmsg":"", "resultObj": {"url": "u:Moon", "status": 0, "msg": "True"}}',
      );
      assert.equal(await post("GetUrlByTitle", '{"type": "special", "title": "boom"}'), '{"ret":-19, "errmsg":"backend down" }'); // the method's own SrpcError text
      assert.equal(await post("DownloadMP3", '{"type": "special", "title": "x"}'), '{"ret":-18, "errmsg":"service implement failed" }');
    });
  });

  test("mypy --strict passes on the generated code, skeletons, entry, build script and smoke test (with the .pyi stubs)", async () => {
    // a virtualenv with the type stubs of protobuf and pytest; mypy itself is the one setup.sh installs
    const venv = path.join(work, "typing-venv");
    await sh(PYTHON, ["-m", "venv", venv], work);
    await sh(path.join(venv, "bin/python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "protobuf>=4.21", "types-protobuf", "pytest"], work);
    const packages: Array<[string[], string]> = [
      [["fixtures/voa/MainLogic.proto", "--name", "VOA.MainLogic"], "voa_mainlogic_server"],
      [["fixtures/voa/Crawl.proto", "--name", "VOA.Crawl"], "voa_crawl_server"],
      [["fixtures/edge/reserved_words.proto", "--name", "Reserved.Words"], "reserved_words_server"],
      [["fixtures/edge/legacy_proto2.proto"], "legacy_legacy_server"],
      [["fixtures/edge/modern_proto3.proto", "--name", "Modern.Events"], "modern_events_server"],
    ];
    for (const [args, pkg] of packages) {
      const sub = path.join(work, `typing-${pkg}`);
      await fs.mkdir(sub);
      const r = await runCli(["server", ...args.map((a) => (a.startsWith("fixtures/") ? path.join(REPO_ROOT, a) : a)), "--lang", "python", "--dir", "-o", sub]);
      assert.equal(r.code, 0, r.stderr);
      const dir = r.stdout.trim().split("\n").at(-1)!;
      // the runtime (runtime/src, found through MYPYPATH) has its own mypy check (runtimes/python/test.sh); only our files are checked here
      const out = await sh(
        PYTHON,
        ["-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", "--python-executable", path.join(venv, "bin/python"), pkg, "main.py", "build.py", "tests/test_smoke.py"],
        dir,
        { MYPYPATH: path.join(dir, "runtime/src") },
      );
      assert.match(out, /^Success: no issues found in \d+ source files$/m, `${pkg}: ${out}`);
    }
    // the runtime itself, against protobuf's stubs (runtimes/python/test.sh checks it without them)
    const runtime = await sh(
      PYTHON,
      ["-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null", "--python-executable", path.join(venv, "bin/python"), "-p", "msec", "-p", "msec_impl"],
      path.join(REPO_ROOT, "runtimes/python/src"),
    );
    assert.match(runtime, /^Success: no issues found in \d+ source files$/m, runtime);
  });

  test("two server packages and a caller install into one venv beside one runtime; each server serves (console script, python -m); from msec_impl import * works", async () => {
    const sub = path.join(work, "one-venv");
    await fs.mkdir(sub);
    const dirs: string[] = [];
    for (const args of [["fixtures/voa/Crawl.proto", "--name", "VOA.Crawl"], ["fixtures/voa/MainLogic.proto", "--name", "VOA.MainLogic"]]) {
      const r = await runCli(["server", ...args.map((a) => (a.startsWith("fixtures/") ? path.join(REPO_ROOT, a) : a)), "--lang", "python", "--dir", "-o", sub]);
      assert.equal(r.code, 0, r.stderr);
      dirs.push(r.stdout.trim().split("\n").at(-1)!);
    }
    const [crawl, mainLogic] = dirs as [string, string];
    // and the caller of one of them, whose import package would clash if servers took the bare name
    const callerRun = await runCli(["caller", path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), "--name", "VOA.Crawl", "--lang", "python", "--dir", "-o", sub]);
    assert.equal(callerRun.code, 0, callerRun.stderr);
    const venv = path.join(sub, "venv");
    const py = path.join(venv, "bin/python");
    await sh(PYTHON, ["-m", "venv", venv], sub);
    // as the READMEs say: the runtime once (from either runtime/), then the packages
    await sh(py, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "./VOA.Crawl-server-python/runtime"], sub);
    await sh(py, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "./VOA.Crawl-server-python", "./VOA.MainLogic-server-python", "./VOA.Crawl-caller/python"], sub);
    assert.match(await sh(py, ["-m", "pip", "check", "--disable-pip-version-check"], sub), /^No broken requirements found\.$/m);
    // each distribution installs only its own top-level import package
    const topLevel = await sh(
      py,
      [
        "-c",
        "import importlib.metadata as m\nfor d in ('msec-gen-runtime', 'voa-crawl-server', 'voa-mainlogic-server', 'voa-crawl'):\n" +
          "    print(d, sorted({f.parts[0] for f in m.files(d) or [] if len(f.parts) > 1 and not f.parts[0].endswith(('.dist-info', '__pycache__')) and f.parts[0] != '..'}))",
      ],
      sub,
    );
    assert.equal(topLevel, "msec-gen-runtime ['msec', 'msec_impl']\nvoa-crawl-server ['voa_crawl_server']\nvoa-mainlogic-server ['voa_mainlogic_server']\nvoa-crawl ['voa_crawl']\n");
    // installed, they run with the venv's runtime; etc/ is the working directory's
    await withServer([path.join(venv, "bin/voa-crawl-server"), "--host", "127.0.0.1", "--port", "0", "--no-udp"], crawl, async (port) => {
      assert.equal(await health(port), "200 ok\n");
      // the API explorer page is the installed runtime's package data (docs/explorer.md)
      const page = await fetch(`http://127.0.0.1:${port}/explorer`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(page.status, 200);
      assert.equal(await page.text(), await fs.readFile(path.join(REPO_ROOT, "runtimes/ts/assets/explorer.html"), "utf8"));
    });
    await withServer([py, "-m", "voa_mainlogic_server", "--host", "127.0.0.1", "--port", "0", "--no-udp"], mainLogic, async (port) => {
      assert.equal(await health(port), "200 ok\n");
    });
    const out = await sh(
      py,
      [
        "-c",
        "import sys\nfrom msec_impl import *\nimport msec.msec_impl as m\nimport voa_crawl_server.main, voa_mainlogic_server.main, voa_crawl\n" +
          "print(CallMethod is m.CallMethod, callmethod_tcp is m.callmethod_tcp, sorted(m.__all__) == sorted(n for n in dir() if n in m.__all__), m.__file__.startswith(sys.prefix))",
      ],
      sub,
    );
    assert.equal(out, "True True True True\n");
  });

  test("--runtime registry: no runtime/ folder; --python-dist/--python-package rename the distribution and the import package", async () => {
    const sub = path.join(work, "registry");
    await fs.mkdir(sub);
    const crawlProto = path.join(REPO_ROOT, "fixtures/voa/Crawl.proto");
    const r = await runCli(["server", crawlProto, "--name", "VOA.Crawl", "--lang", "python", "--runtime", "registry", "--python-dist", "acme-crawl", "--python-package", "acme_crawl", "--dir", "-o", sub]);
    assert.equal(r.code, 0, r.stderr);
    const dir = r.stdout.trim().split("\n").at(-1)!;
    assert.deepEqual((await fs.readdir(dir)).sort(), [".gitignore", "README.md", "acme_crawl", "build.py", "etc", "main.py", "proto", "pyproject.toml", "tests"]);
    const pyproject = await fs.readFile(path.join(dir, "pyproject.toml"), "utf8");
    assert.match(pyproject, /^name = "acme-crawl"$/m);
    assert.match(pyproject, /^dependencies = \["msec-gen-runtime==\d+\.\d+\.\d+", "protobuf>=4\.21"\]$/m);
    assert.match(pyproject, /^packages = \["acme_crawl", "acme_crawl\.gen", "acme_crawl\.handlers"\]$/m);
    assert.match(pyproject, /^acme-crawl = "acme_crawl\.main:main"$/m);
    const bad: Array<[string, string, RegExp]> = [
      ["--python-package", "runtime", /--python-package "runtime": the server package's folder already has runtime/],
      ["--python-package", "msec_impl", /--python-package "msec_impl": that import name belongs to the runtime/],
      ["--python-dist", "bad name", /--python-dist "bad name": want a PEP 508 name/],
    ];
    for (const [flag, value, message] of bad) {
      const out = await runCli(["server", crawlProto, "--name", "VOA.Crawl", "--lang", "python", flag, value, "--dir", "-o", sub]);
      assert.equal(out.code, 1);
      assert.match(out.stderr, message);
    }
  });
});
