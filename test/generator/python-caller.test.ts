/**
 * The Python caller target on its own: naming and escaping rules, the file
 * layout and headers, the runtime dependency (bundled under `runtime/` or from
 * the registry), SDK identity options, shared-import mappings, determinism, and — in real Python
 * with protobuf — that every generated package imports, its `.pyi` stubs
 * declare exactly the classes, fields, enum values and `__init__` keywords
 * protobuf-python creates, and the client methods are annotated with the
 * real message classes, and messages pickle (edge fixtures: well-known types, nested enums, maps,
 * proto2 groups and extensions, cross-file imports, files without services).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, describe, test } from "node:test";
import { generate, type GenerateOptions } from "../../generator/generate.js";
import type { GeneratedFile } from "../../generator/target.js";
import { moduleStem } from "../../generator/targets/python/caller.js";
import { pythonPackageName, safeMemberName, safeTopLevelName, snakeCase } from "../../generator/targets/python/safe-identifier.js";
import { UserError } from "../../generator/user-error.js";
import { REPO_ROOT } from "./golden-cases.js";
import { runCli } from "./run-cli.js";

const exec = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), "msec-py-caller-gen-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function pythonCaller(protos: string[], name: string, includes?: string[], more: Partial<GenerateOptions> = {}): Promise<GeneratedFile[]> {
  const options: GenerateOptions = { kind: "caller", protos, name, lang: "python", cwd: REPO_ROOT, includes, ...more };
  return generate(options);
}

/** The runtime project's files a bundled package carries (everything but its tests), relative to runtimes/python. */
function runtimeProjectFiles(): string[] {
  const root = path.join(REPO_ROOT, "runtimes/python");
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (["tests", "test.sh", ".gitignore", "__pycache__", ".pytest_cache", ".mypy_cache"].includes(r.split("/").pop()!) || r.startsWith("tests")) continue;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk("");
  return out.sort();
}

/** Writes the `python/` folder of a generated caller under `work/<id>` and returns that folder. */
function writeOut(id: string, files: readonly GeneratedFile[]): string {
  const root = path.join(work, id);
  for (const f of files) {
    const rel = f.path.split("/").slice(2).join("/"); // drop `<name>-caller/python/`
    if (!f.path.split("/")[1]!.startsWith("python")) continue;
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, f.content);
  }
  return root;
}

/**
 * Checks a generated package in real Python: imports every module, compares each `_pb2.pyi`
 * with the module protobuf-python built (classes, annotated names, __init__ keywords), and
 * prints the client classes with their public methods and annotated request/response types.
 */
const CHECK_PACKAGE = String.raw`
import ast, importlib, json, keyword, pathlib, pickle, sys, typing

pkg, root = sys.argv[1], pathlib.Path(sys.argv[2])
problems = []

def check_enum(node, wrapper, where):
    declared = {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
    values = {v for v in wrapper.keys() if not keyword.iskeyword(v)}
    if declared != values:
        problems.append(f"{where}: enum values {sorted(declared)} != {sorted(values)}")

def check_message(node, cls, where):
    d = cls.DESCRIPTOR
    fields = {f.name for f in d.fields if not keyword.iskeyword(f.name)}
    numbers = {f.name.upper() + "_FIELD_NUMBER" for f in d.fields}
    nested_values = {v.name for e in d.enum_types for v in e.values if not keyword.iskeyword(v.name)}
    declared = {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
    if declared != fields | numbers | nested_values:
        problems.append(f"{where}: declared {sorted(declared)} != {sorted(fields | numbers | nested_values)}")
    for n in numbers:
        if not isinstance(getattr(cls, n), int):
            problems.append(f"{where}.{n} is not an int")
    init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    if {a.arg for a in init.args.kwonlyargs} != fields:
        problems.append(f"{where}.__init__ keywords differ")
    if (init.args.kwarg is not None) != any(keyword.iskeyword(f.name) for f in d.fields):
        problems.append(f"{where}.__init__ **kwargs only for keyword-named fields")
    instance = cls()
    for f in fields:
        getattr(instance, f)
    if pickle.loads(pickle.dumps(instance)) != instance:  # needs the real dotted __module__
        problems.append(f"{where}: pickle round trip")
    nested = {t.name for t in d.nested_types if not t.GetOptions().map_entry} | {e.name for e in d.enum_types}
    classes = {n.name for n in node.body if isinstance(n, ast.ClassDef)}
    if classes != nested:
        problems.append(f"{where}: nested classes {sorted(classes)} != {sorted(nested)}")
    for n in node.body:
        if isinstance(n, ast.ClassDef):
            check(n, getattr(cls, n.name), f"{where}.{n.name}")

def check(node, obj, where):
    if isinstance(obj, type):
        check_message(node, obj, where)
    else:
        check_enum(node, obj, where)

package = importlib.import_module(pkg)
for stub in sorted((root / pkg).glob("*_pb2.pyi")):
    module = importlib.import_module(f"{pkg}.{stub.stem}")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    d = module.DESCRIPTOR
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    if classes != set(d.message_types_by_name) | set(d.enum_types_by_name):
        problems.append(f"{stub.name}: classes {sorted(classes)}")
    top = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    values = {v.name for e in d.enum_types_by_name.values() for v in e.values if not keyword.iskeyword(v.name)}
    if top != {"DESCRIPTOR"} | values:
        problems.append(f"{stub.name}: module names {sorted(top)}")
    for n in tree.body:
        if isinstance(n, ast.ClassDef):
            check(n, getattr(module, n.name), f"{stub.stem}.{n.name}")

def type_name(t):
    origin = typing.get_origin(t)
    if origin is not None:  # Future[Reply] of the blocking clients' *_future methods
        return f"{type_name(origin)}[{', '.join(type_name(a) for a in typing.get_args(t))}]"
    return f"{t.__module__}.{t.__qualname__}"

clients = {}
for src in sorted((root / pkg).glob("*_msec.py")):
    ast.parse((root / pkg / (src.stem + ".pyi")).read_text(encoding="utf-8"))
    module = importlib.import_module(f"{pkg}.{src.stem}")
    for name, cls in sorted(vars(module).items()):
        if isinstance(cls, type) and cls.__module__ == module.__name__:
            methods = {}
            for m, fn in sorted(vars(cls).items()):
                if m.startswith("_") or m == "close":
                    continue
                hints = typing.get_type_hints(fn)
                methods[m] = [type_name(hints["request"]), type_name(hints["return"])]
            clients[name] = methods
print(json.dumps({"problems": problems, "clients": clients, "all": sorted(package.__all__)}))
`;

interface PackageReport {
  problems: string[];
  clients: Record<string, Record<string, [string, string]>>;
  all: string[];
}

type Methods = Record<string, [string, string]>;

/** A blocking client's methods: each rpc and its `<member>_future` twin returning a `Future` of the reply. */
function withFutures(methods: Methods): Methods {
  const out: Methods = { ...methods };
  for (const [name, [request, reply]] of Object.entries(methods)) out[`${name}_future`] = [request, `concurrent.futures._base.Future[${reply}]`];
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function checkPackage(root: string, pkg: string, extraPath: readonly string[] = []): Promise<PackageReport> {
  const script = path.join(work, "check_package.py");
  writeFileSync(script, CHECK_PACKAGE);
  const pythonPath = [root, path.join(root, "runtime/src"), ...extraPath].join(path.delimiter);
  const { stdout } = await exec("python3", [script, pkg, root], { cwd: work, env: { ...process.env, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: "1" } });
  return JSON.parse(stdout) as PackageReport;
}

describe("Python names", () => {
  test("rpc names become PEP 8 method names", () => {
    assert.deepEqual(
      ["GetMP3List", "getTitles", "HTTPGet", "DownloadMP3", "toString", "Roundtrip", "ListV2Items"].map(snakeCase),
      ["get_mp3_list", "get_titles", "http_get", "download_mp3", "to_string", "roundtrip", "list_v2_items"],
    );
  });

  test("keywords, builtins and the client's own members get a trailing underscore", () => {
    assert.equal(safeMemberName("from"), "from_");
    assert.equal(safeMemberName("None"), "None_");
    assert.equal(safeMemberName("then"), "then");
    assert.equal(safeMemberName("service", new Set(["service"])), "service_");
    assert.equal(safeMemberName("close", new Set(["close", "close_"])), "close__");
    assert.equal(safeTopLevelName("str"), "str_");
    assert.equal(safeTopLevelName("Object"), "Object");
  });

  test("package names come from the routing name; module stems from the .proto path", () => {
    assert.equal(pythonPackageName("VOA.Crawl"), "voa_crawl");
    assert.equal(pythonPackageName("Shop-1.Users"), "shop_1_users");
    assert.equal(pythonPackageName("9.import"), "_9_import");
    assert.equal(moduleStem("Crawl.proto"), "Crawl");
    assert.equal(moduleStem("shop/order-v1.proto"), "shop_order_v1");
    assert.equal(moduleStem("1st.proto"), "_1st");
  });
});

describe("generated Python caller", () => {
  test("VOA.Crawl: file layout, headers, pyproject; the runtime is a dependency, carried byte for byte under runtime/", async () => {
    const files = await pythonCaller(["fixtures/voa/Crawl.proto"], "VOA.Crawl");
    const paths = files.map((f) => f.path);
    const runtime = runtimeProjectFiles();
    assert.ok(runtime.includes("pyproject.toml") && runtime.includes("src/msec/client.py") && runtime.includes("src/msec_impl/__init__.py"));
    const own = [
      "README.md",
      "pyproject.toml",
      "voa_crawl/Crawl_msec.py",
      "voa_crawl/Crawl_msec.pyi",
      "voa_crawl/Crawl_pb2.py",
      "voa_crawl/Crawl_pb2.pyi",
      "voa_crawl/__init__.py",
      "voa_crawl/msec_impl.py",
      "voa_crawl/py.typed",
    ];
    assert.deepEqual(
      paths.sort(),
      ["VOA.Crawl-caller/README.md", ...[...own, ...runtime.map((n) => `runtime/${n}`)].map((p) => `VOA.Crawl-caller/python/${p}`)].sort(),
    );
    const text = (p: string): string => Buffer.from(files.find((f) => f.path === `VOA.Crawl-caller/python/${p}`)!.content).toString("utf8");
    for (const n of runtime) assert.equal(text(`runtime/${n}`), readFileSync(path.join(REPO_ROOT, "runtimes/python", n), "utf8"), n);
    const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
    const headerLine = `# Code generated by msec-gen v${version} from Crawl.proto. DO NOT EDIT.`;
    for (const p of own.filter((p) => /\.(py|pyi|toml)$/.test(p))) {
      const lines = text(p).split("\n");
      assert.ok(lines[0] === headerLine || lines[1] === headerLine, `${p} starts with the header`);
    }
    const pyproject = text("pyproject.toml");
    assert.match(pyproject, /^requires-python = ">=3\.9"$/m);
    assert.match(pyproject, new RegExp(`^dependencies = \\["msec-gen-runtime==${version.replace(/\./g, "\\.")}", "protobuf>=4\\.21"\\]$`, "m"));
    assert.match(pyproject, /^build-backend = "setuptools\.build_meta"$/m);
    assert.match(pyproject, /^name = "voa-crawl"$/m);
    assert.match(pyproject, /^version = "0\.1\.0"$/m);
    assert.match(pyproject, /^packages = \["voa_crawl"\]$/m);
    const readme = text("README.md");
    assert.match(readme, /^pip install \.\/runtime \.\/ /m);
    // the example sets the required field: an unset one fails with -8 before anything is sent
    assert.match(readme, /client\.get_mp3_list\(GetMP3ListRequest\(type=""\), timeout_ms=20000\)/);
    assert.equal(
      text("voa_crawl/msec_impl.py").split("\n").slice(2).join("\n"),
      "from msec.msec_impl import *  # noqa: F401,F403\nfrom msec.msec_impl import __all__ as __all__  # noqa: F401\n",
    );
    assert.match(text("voa_crawl/__init__.py"), /^from msec import AsyncClient, Client, SrpcError$/m);
    assert.match(text("voa_crawl/Crawl_msec.py"), /^from msec\.client import AsyncClient, Client$/m);
  });

  test("--runtime registry: no runtime/ folder, the same pinned dependency, README installs from the index", async () => {
    const files = await pythonCaller(["fixtures/voa/Crawl.proto"], "VOA.Crawl", undefined, { runtime: "registry" });
    assert.deepEqual(files.filter((f) => f.path.includes("/runtime/")), []);
    const text = (p: string): string => String(files.find((f) => f.path === `VOA.Crawl-caller/python/${p}`)!.content);
    assert.match(text("pyproject.toml"), /^dependencies = \["msec-gen-runtime==\d+\.\d+\.\d+", "protobuf>=4\.21"\]$/m);
    assert.match(text("README.md"), /^pip install \.\/ {4,}# pulls msec-gen-runtime==/m);
    assert.doesNotMatch(text("README.md"), /\.\/runtime/);
  });

  test("--python-dist, --python-package and --version set the SDK identity; bad values are refused", async () => {
    const files = await pythonCaller(["fixtures/voa/Crawl.proto"], "VOA.Crawl", undefined, { pythonDist: "acme-voa-crawl", pythonPackage: "acme_crawl", sdkVersion: "2.3.4" });
    const pyproject = String(files.find((f) => f.path === "VOA.Crawl-caller/python/pyproject.toml")!.content);
    assert.match(pyproject, /^name = "acme-voa-crawl"$/m);
    assert.match(pyproject, /^version = "2\.3\.4"$/m);
    assert.match(pyproject, /^packages = \["acme_crawl"\]$/m);
    assert.ok(files.some((f) => f.path === "VOA.Crawl-caller/python/acme_crawl/Crawl_msec.py"));
    const bad: Array<[Partial<GenerateOptions>, RegExp]> = [
      [{ pythonPackage: "acme-crawl" }, /--python-package "acme-crawl": want a Python identifier/],
      [{ pythonPackage: "class" }, /--python-package "class": want a Python identifier/],
      [{ pythonPackage: "msec" }, /--python-package "msec": that import name belongs to the runtime/],
      [{ pythonDist: "-bad" }, /--python-dist "-bad": want a PEP 508 name/],
      [{ pythonDist: "msec_gen.runtime" }, /--python-dist "msec_gen\.runtime": that is the runtime's distribution name/],
      [{ sdkVersion: "1.0.0-foo" }, /version "1\.0\.0-foo" is not a Python \(PEP 440\) version/],
    ];
    for (const [more, message] of bad) {
      await assert.rejects(pythonCaller(["fixtures/voa/Crawl.proto"], "VOA.Crawl", undefined, more), (e: Error) => e instanceof UserError && message.test(e.message));
    }
  });

  test("--python-import: a shared .proto loads from another caller's module, once; bad mappings are refused", async () => {
    const shared = { includes: ["fixtures/shared"] };
    const billingFiles = await pythonCaller(["fixtures/shared/billing/billing.proto"], "Shop.Billing", shared.includes);
    const catalogFiles = await pythonCaller(["fixtures/shared/catalog/catalog.proto"], "Shop.Catalog", shared.includes, {
      pythonImport: ["common/types.proto=shop_billing.common_types_pb2"],
    });
    const own = (fs: GeneratedFile[], top: string): string[] => fs.map((f) => f.path.slice(top.length + 1)).filter((p) => !p.startsWith("python/runtime/")).sort();
    assert.deepEqual(own(catalogFiles, "Shop.Catalog-caller"), [
      "README.md",
      "python/README.md",
      "python/pyproject.toml",
      "python/shop_catalog/__init__.py",
      "python/shop_catalog/catalog_catalog_msec.py",
      "python/shop_catalog/catalog_catalog_msec.pyi",
      "python/shop_catalog/catalog_catalog_pb2.py",
      "python/shop_catalog/catalog_catalog_pb2.pyi",
      "python/shop_catalog/msec_impl.py",
      "python/shop_catalog/py.typed",
    ]);
    const text = (p: string): string => String(catalogFiles.find((f) => f.path === `Shop.Catalog-caller/python/${p}`)!.content);
    assert.match(text("shop_catalog/catalog_catalog_pb2.py"), /^from shop_billing import common_types_pb2 as shop__billing_dot_common__types__pb2  # noqa: F401$/m);
    assert.match(text("shop_catalog/catalog_catalog_pb2.pyi"), /^from shop_billing import common_types_pb2 as _shop_billing_common_types_pb2$/m);
    assert.match(text("README.md"), /^\* `common\/types\.proto` → `shop_billing\.common_types_pb2`$/m);
    assert.match(String(billingFiles.find((f) => f.path === "Shop.Billing-caller/python/README.md")!.content), /^\| `common\/types\.proto` \| `shop_billing\.common_types_pb2` \|$/m);

    // In real Python, both packages on one path: one common/types.proto in the descriptor pool.
    const billing = writeOut("billing", billingFiles);
    const catalog = writeOut("catalog", catalogFiles);
    assert.deepEqual((await checkPackage(billing, "shop_billing")).problems, []);
    const r = await checkPackage(catalog, "shop_catalog", [billing]);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.clients["CatalogServiceClient"], withFutures({ price: ["shop_catalog.catalog_catalog_pb2.PriceRequest", "shop_catalog.catalog_catalog_pb2.PriceReply"] }));

    const bad: Array<[string, RegExp]> = [
      ["common/types.proto", /want <file\.proto>=<python\.module>/],
      ["nope.proto=x_pb2", /nope\.proto is not among the compiled files \(catalog\/catalog\.proto, common\/types\.proto\)/],
      ["common/types.proto=shop billing.x", /is not a dotted Python module name/],
      ["common/types.proto=msec.types_pb2", /msec is the runtime's package/],
    ];
    for (const [value, message] of bad) {
      await assert.rejects(
        pythonCaller(["fixtures/shared/catalog/catalog.proto"], "Shop.Catalog", shared.includes, { pythonImport: [value] }),
        (e: Error) => e instanceof UserError && message.test(e.message),
      );
    }
  });

  test("output is deterministic", async () => {
    const a = await pythonCaller(["fixtures/edge/modern_proto3.proto"], "Modern.Events");
    const b = await pythonCaller(["fixtures/edge/modern_proto3.proto"], "Modern.Events");
    assert.deepEqual(a, b);
  });

  test("the caller tarball with ts and python is byte-identical across runs and umasks", async () => {
    const hashes: string[] = [];
    for (const [i, umask] of ["022", "077"].entries()) {
      const out = path.join(work, `tgz-${i}`);
      const r = await runCli(["caller", "fixtures/voa/Crawl.proto", "--name", "VOA.Crawl", "--lang", "ts,python", "-o", out, "--quiet"], {
        cwd: REPO_ROOT,
        shellPrefix: `umask ${umask};`,
      });
      assert.equal(r.code, 0, r.stderr);
      hashes.push(createHash("sha256").update(readFileSync(path.join(out, "VOA.Crawl-caller.tgz"))).digest("hex"));
    }
    assert.equal(hashes[0], hashes[1]);
  });

  test(".proto comments become docstrings", async () => {
    const files = await pythonCaller(["fixtures/edge/modern_proto3.proto"], "Modern.Events");
    const client = String(files.find((f) => f.path.endsWith("modern_events/modern_proto3_msec.py"))!.content);
    assert.match(client, /class EventServiceClient:\n {4}"""Block comment on the service\.\n/);
    assert.match(client, /def put\(self, request: _modern_proto3_pb2\.Event, timeout_ms: Optional\[float\] = None, retries: Optional\[int\] = None\) -> _google_protobuf_empty_pb2\.Empty:\n {8}"""Stores an event\.\n\n {8}Calls `modern\.v1\.EventService\.Put`\.\n {8}"""/);
    assert.match(client, /class AdminServiceClient:\n {4}"""A second service in the same file\.\n/);
  });

  test("client class names never shadow the runtime's Client/AsyncClient", async () => {
    const dir = path.join(work, "shadow");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "a.proto"), 'syntax = "proto3";\npackage a;\nmessage M {}\nservice Async { rpc None(M) returns (M); rpc From(M) returns (M); }\nservice str { rpc Close(M) returns (M); }\n');
    const root = writeOut("shadow", await generate({ kind: "caller", protos: [path.join(dir, "a.proto")], includes: [dir], name: "A.B", lang: "python", cwd: REPO_ROOT }));
    const r = await checkPackage(root, "a_b");
    assert.deepEqual(r.problems, []);
    const m: [string, string] = ["a_b.a_pb2.M", "a_b.a_pb2.M"];
    assert.deepEqual(r.clients, { AsyncAsyncClient: { from_: m, none: m }, AsyncClient_: withFutures({ from_: m, none: m }), AsyncstrClient: { close_: m }, strClient: withFutures({ close_: m }) });
  });

  test("future methods are named after every rpc: an rpc called EchoFuture keeps its name", async () => {
    const dir = path.join(work, "futures");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "f.proto"), 'syntax = "proto3";\npackage f;\nmessage M {}\nmessage N {}\nservice S { rpc Echo(M) returns (M); rpc EchoFuture(M) returns (N); }\n');
    const root = writeOut("futures", await generate({ kind: "caller", protos: [path.join(dir, "f.proto")], includes: [dir], name: "F.S", lang: "python", cwd: REPO_ROOT }));
    const r = await checkPackage(root, "f_s");
    assert.deepEqual(r.problems, []);
    const [m, n] = ["f_s.f_pb2.M", "f_s.f_pb2.N"];
    const future = (t: string): string => `concurrent.futures._base.Future[${t}]`;
    assert.deepEqual(r.clients["SClient"], { echo: [m, m], echo_future: [m, n], echo_future_: [m, future(m)], echo_future_future: [m, future(n)] });
    assert.deepEqual(r.clients["AsyncSClient"], { echo: [m, m], echo_future: [m, n] });
  });

  test("a caller for files without services is refused", async () => {
    await assert.rejects(pythonCaller(["fixtures/edge/messages_only.proto"], "Plain.Notes"), UserError);
  });

  test("modern proto3 (well-known types, maps, nested enum, two services): stubs match protobuf-python, clients typed", async () => {
    const root = writeOut("modern", await pythonCaller(["fixtures/edge/modern_proto3.proto"], "Modern.Events"));
    const r = await checkPackage(root, "modern_events");
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.clients, {
      AdminServiceClient: withFutures({ purge: ["google.protobuf.timestamp_pb2.Timestamp", "google.protobuf.wrappers_pb2.Int64Value"] }),
      AsyncAdminServiceClient: { purge: ["google.protobuf.timestamp_pb2.Timestamp", "google.protobuf.wrappers_pb2.Int64Value"] },
      AsyncEventServiceClient: {
        latest: ["google.protobuf.empty_pb2.Empty", "modern_events.modern_proto3_pb2.Event"],
        put: ["modern_events.modern_proto3_pb2.Event", "google.protobuf.empty_pb2.Empty"],
      },
      EventServiceClient: withFutures({
        latest: ["google.protobuf.empty_pb2.Empty", "modern_events.modern_proto3_pb2.Event"],
        put: ["modern_events.modern_proto3_pb2.Event", "google.protobuf.empty_pb2.Empty"],
      }),
    });
  });

  test("legacy proto2 (group, extensions, defaults) and reserved words: stubs match, methods escaped", async () => {
    const legacy = writeOut("legacy", await pythonCaller(["fixtures/edge/legacy_proto2.proto"], "Legacy.Store"));
    assert.deepEqual((await checkPackage(legacy, "legacy_store")).problems, []);
    const reserved = writeOut("reserved", await pythonCaller(["fixtures/edge/reserved_words.proto"], "Reserved.Words"));
    const r = await checkPackage(reserved, "reserved_words");
    assert.deepEqual(r.problems, []);
    const t = (n: string): string => `reserved_words.reserved_words_pb2.${n}`;
    const error: Methods = {
      constructor: [t("Promise"), t("Promise")] as [string, string],
      delete: [t("Function"), t("Function")],
      service_: [t("Object"), t("Object")],
      then: [t("Object"), t("Array")],
      to_string: [t("Object"), t("Object")],
    };
    assert.deepEqual(r.clients, { AsyncErrorClient: error, AsyncStringClient: { catch: [t("Promise"), t("Promise")] }, ErrorClient: withFutures(error), StringClient: withFutures({ catch: [t("Promise"), t("Promise")] }) });
    assert.ok(r.all.includes("Object") && r.all.includes("Promise"));
  });

  test("several files with a shared import from an include path and a file without services", async () => {
    const files = await pythonCaller(
      ["fixtures/edge/users.proto", "fixtures/edge/orders.proto", "fixtures/edge/messages_only.proto"],
      "Shop.Users",
      ["fixtures/edge/include", "fixtures/edge"],
    );
    const root = writeOut("multi", files);
    assert.ok(files.some((f) => f.path === "Shop.Users-caller/python/shop_users/common_types_pb2.py"));
    const r = await checkPackage(root, "shop_users");
    assert.deepEqual(r.problems, []);
    assert.deepEqual(Object.keys(r.clients), ["AsyncOrderServiceClient", "OrderServiceClient", "AsyncUserServiceClient", "UserServiceClient"]);
    assert.deepEqual(r.clients["OrderServiceClient"], withFutures({ list_orders: ["shop_users.orders_pb2.ListOrdersRequest", "shop_users.orders_pb2.ListOrdersResponse"] }));
    assert.ok(r.all.includes("Note") && r.all.includes("ListUsersRequest"));
  });
});
