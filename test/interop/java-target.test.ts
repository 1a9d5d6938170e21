/**
 * How the Java caller target names things: protoc's camel-casing and default
 * outer class, packages derived from the proto package or the routing name
 * (lower-cased when the first segment would clash with a class), Maven
 * coordinates and their overrides; how it references the runtime (bundled
 * `runtime/` or registry) and shared imported files (`--java-proto-dep`) —
 * and that a package using `java_multiple_files`, `java_outer_classname`,
 * nested messages and well-known types as rpc types builds with Maven.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DescriptorProtoSchema, EnumDescriptorProtoSchema, FileDescriptorProtoSchema, ServiceDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { type GenerateOptions, generate } from "../../generator/generate.js";
import { defaultOuterClassName, javaPackageFrom, routingPackage, underscoresToCamelCase } from "../../generator/targets/java/java-names.js";
import { PROTOBUF_JAVA_VERSION } from "../../generator/targets/java/protoc-java.js";
import { UserError } from "../../generator/user-error.js";
import { REPO_ROOT, generateJavaCaller, jarEntries, mavenReactorPackage } from "./java-toolchain.js";

const VOA = ["fixtures/voa/Crawl.proto", "fixtures/voa/MainLogic.proto"].map((p) => path.join(REPO_ROOT, p));
const SHARED = path.join(REPO_ROOT, "fixtures/shared");
const BILLING = path.join(SHARED, "billing/billing.proto");
const COMMON_DEP = "common/types.proto=com.example.shop:shop-common:1.0.0";

/** Every file of `dir`, relative and sorted, outside Maven `target/` folders. */
function treeOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .filter((p) => !/(^|\/)target\//.test(p))
    .sort();
}

/** The generated files under `<name>-caller/java/<under>`, relative to it and sorted. */
function pathsUnder(files: Awaited<ReturnType<typeof generate>>, prefix: string): string[] {
  return files
    .map((f) => f.path)
    .filter((p) => p.startsWith(prefix))
    .map((p) => p.slice(prefix.length))
    .sort();
}

/** `generate` rejects with a `UserError` of exactly `message`. */
async function rejectsWith(options: GenerateOptions, message: string): Promise<void> {
  await assert.rejects(generate(options), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

function fileText(files: Awaited<ReturnType<typeof generate>>, suffix: string): string {
  const f = files.find((x) => x.path.endsWith(suffix));
  assert.ok(f, `no generated file ends with ${suffix}`);
  return typeof f.content === "string" ? f.content : Buffer.from(f.content).toString("utf8");
}

describe("Java caller target naming", () => {
  test("camel-casing follows protoc", () => {
    assert.equal(underscoresToCamelCase("GetMP3List", false), "getMP3List");
    assert.equal(underscoresToCamelCase("crawl_types", true), "CrawlTypes");
    assert.equal(underscoresToCamelCase("foo2bar-baz", true), "Foo2BarBaz");
    assert.equal(underscoresToCamelCase("get_url", false), "getUrl");
  });

  test("the default outer class gets OuterClass on a clash with a declared type", () => {
    const file = (name: string, messages: string[], services: string[] = []) =>
      create(FileDescriptorProtoSchema, {
        name,
        messageType: messages.map((m) => create(DescriptorProtoSchema, { name: m, enumType: [create(EnumDescriptorProtoSchema, { name: `${m}Kind` })] })),
        service: services.map((s) => create(ServiceDescriptorProtoSchema, { name: s })),
      });
    assert.equal(defaultOuterClassName(file("dir/crawl_types.proto", ["OneMP3"])), "CrawlTypes");
    assert.equal(defaultOuterClassName(file("Crawl.proto", ["Crawl"])), "CrawlOuterClass");
    assert.equal(defaultOuterClassName(file("a.proto", ["X"], ["A"])), "AOuterClass");
    assert.equal(defaultOuterClassName(file("x.proto", ["Y"])), "X");
  });

  test("packages: proto package escaped segment by segment; routing names lower-cased", () => {
    assert.equal(javaPackageFrom("import.v1.2x"), "import_.v1._2x");
    assert.equal(routingPackage("VOA_py.Crawl-2"), "voa_py.crawl_2");
  });

  test("VOA: packages, clients, the runtime as a dependency and default Maven coordinates", async () => {
    const files = await generate({ kind: "caller", lang: "java", protos: VOA, name: "VOA_py.Crawl" });
    assert.deepEqual(pathsUnder(files, "VOA_py.Crawl-caller/java/src/"), [
      "main/java/crawl/Crawl.java",
      "main/java/crawl/CrawlServiceClient.java",
      "main/java/mainlogic/MainLogic.java",
      "main/java/mainlogic/MainLogicServiceClient.java",
    ]);
    const pom = fileText(files, "java/pom.xml");
    assert.match(pom, /<groupId>com\.example\.msec\.voa_py<\/groupId>\n {2}<artifactId>crawl-caller<\/artifactId>\n {2}<version>0\.1\.0<\/version>/);
    assert.match(pom, /<protobuf\.version>4\.36\.2<\/protobuf\.version>/);
    assert.match(pom, /<msec-runtime\.version>0\.1\.0<\/msec-runtime\.version>/);
    assert.match(pom, /<groupId>io\.github\.msecgen<\/groupId>\n {6}<artifactId>msec-runtime<\/artifactId>\n {6}<version>\$\{msec-runtime\.version\}<\/version>/);
    assert.doesNotMatch(pom, /junit/, "the package has no tests of its own");
    const client = fileText(files, "mainlogic/MainLogicServiceClient.java");
    assert.match(client, /^package mainlogic;$/m);
    assert.match(client, /^import io\.github\.msecgen\.runtime\.CallOptions;$/m);
    assert.match(client, /public static final java\.lang\.String DEFAULT_SERVICE = "VOA_py\.Crawl";/);
    assert.match(client, /public mainlogic\.MainLogic\.DownloadMP3Response downloadMP3\(mainlogic\.MainLogic\.DownloadMP3Request request, int timeoutMs\)/);
    assert.match(client, /client\.call\(service, "MainLogic\.MainLogicService\.DownloadMP3", request, mainlogic\.MainLogic\.DownloadMP3Response\.parser\(\), options\)/);
    assert.doesNotMatch(fileText(files, "crawl/Crawl.java"), /com\.google\.protobuf\.Service\b|RpcChannel/, "generic services are off");
    const readme = fileText(files, "java/README.md");
    assert.match(readme, /The groupId `com\.example\.msec\.voa_py` is a placeholder/);
    assert.doesNotMatch(readme, /\bClient\(/, "the README names only classes that exist");
  });

  test("bundled (default): runtime/ is the runtime's Maven project without its tests, and the README installs it first", async () => {
    const files = await generate({ kind: "caller", lang: "java", protos: [VOA[0]!], name: "VOA.Crawl" });
    const carried = pathsUnder(files, "VOA.Crawl-caller/java/runtime/");
    const own = treeOf(path.join(REPO_ROOT, "runtimes/java")).filter((p) => p === "pom.xml" || p === "README.md" || p.startsWith("src/main/"));
    assert.deepEqual(carried, own);
    assert.ok(carried.includes("src/main/java/io/github/msecgen/runtime/SrpcClient.java"));
    for (const f of files.filter((x) => x.path.startsWith("VOA.Crawl-caller/java/runtime/"))) {
      assert.ok(Buffer.from(f.content).equals(readFileSync(path.join(REPO_ROOT, "runtimes/java", f.path.slice("VOA.Crawl-caller/java/runtime/".length)))), f.path);
    }
    assert.deepEqual(
      files.map((f) => f.path).filter((p) => p.includes("io/github/msecgen") && !p.startsWith("VOA.Crawl-caller/java/runtime/")),
      [],
      "no runtime source outside runtime/",
    );
    assert.match(fileText(files, "java/README.md"), /```sh\nmvn -q -f runtime\/pom\.xml install\nmvn -q install\n```/);
  });

  test("registry: no runtime/ folder, the same dependency, a README without the runtime install", async () => {
    const files = await generate({ kind: "caller", lang: "java", protos: [VOA[0]!], name: "VOA.Crawl", runtime: "registry" });
    assert.deepEqual(pathsUnder(files, "VOA.Crawl-caller/java/runtime/"), []);
    assert.match(fileText(files, "java/pom.xml"), /<artifactId>msec-runtime<\/artifactId>/);
    const readme = fileText(files, "java/README.md");
    assert.match(readme, /depends on `io\.github\.msecgen:msec-runtime:0\.1\.0` from your Maven repositories/);
    assert.match(readme, /```sh\nmvn -q install\n```/);
    assert.doesNotMatch(readme, /runtime\/pom\.xml/);
  });

  test("the runtime project's versions are msec-gen's and the protobuf-java the generated code needs", () => {
    const pom = readFileSync(path.join(REPO_ROOT, "runtimes/java/pom.xml"), "utf8");
    const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
    assert.match(pom, new RegExp(`<artifactId>msec-runtime</artifactId>\\n(?:.*\\n)?\\s*<version>${version.replace(/\./g, "\\.")}</version>`));
    assert.match(pom, new RegExp(`<protobuf\\.version>${PROTOBUF_JAVA_VERSION.replace(/\./g, "\\.")}</protobuf\\.version>`));
  });

  test("Maven coordinates and version can be set and are validated", async () => {
    const files = await generate({ kind: "caller", lang: "java", protos: VOA, name: "VOA.Crawl", javaGroupId: "com.example.voa", javaArtifactId: "voa-client", sdkVersion: "2.3.4" });
    assert.match(fileText(files, "java/pom.xml"), /<groupId>com\.example\.voa<\/groupId>\n {2}<artifactId>voa-client<\/artifactId>\n {2}<version>2\.3\.4<\/version>/);
    assert.doesNotMatch(fileText(files, "java/README.md"), /placeholder/);
    await rejectsWith({ kind: "caller", lang: "java", protos: VOA, name: "VOA.Crawl", javaGroupId: "com example" }, 'invalid Java groupId "com example": use letters, digits, "_", "-" and "."');
    await rejectsWith({ kind: "caller", lang: "java", protos: VOA, name: "VOA.Crawl", javaArtifactId: "a/b" }, 'invalid Java artifactId "a/b": use letters, digits, "_", "-" and "."');
  });

  test("--java-proto-dep: the mapped file is not compiled; the artifact is a dependency whose project is carried in proto-deps/", async () => {
    const files = await generate({ kind: "caller", lang: "java", protos: [BILLING], includes: [SHARED], name: "Shop.Billing", javaProtoDep: [COMMON_DEP] });
    assert.deepEqual(pathsUnder(files, "Shop.Billing-caller/java/src/"), ["main/java/shop/billing/Billing.java", "main/java/shop/billing/BillingServiceClient.java"]);
    assert.deepEqual(pathsUnder(files, "Shop.Billing-caller/java/proto/"), ["billing/billing.proto"]);
    assert.deepEqual(pathsUnder(files, "Shop.Billing-caller/java/proto-deps/"), [
      "shop-common/pom.xml",
      "shop-common/proto/common/types.proto",
      "shop-common/src/main/java/shop/common/Types.java",
    ]);
    assert.match(fileText(files, "java/pom.xml"), /<groupId>com\.example\.shop<\/groupId>\n {6}<artifactId>shop-common<\/artifactId>\n {6}<version>1\.0\.0<\/version>/);
    const depPom = fileText(files, "proto-deps/shop-common/pom.xml");
    assert.match(depPom, /<groupId>com\.example\.shop<\/groupId>\n {2}<artifactId>shop-common<\/artifactId>\n {2}<version>1\.0\.0<\/version>/);
    assert.doesNotMatch(depPom, /msec-runtime/);
    // The billing classes refer to the shared classes by their one name.
    assert.match(fileText(files, "shop/billing/BillingServiceClient.java"), /shop\.billing\.Billing\.ChargeReply/);
    assert.match(fileText(files, "shop/billing/Billing.java"), /shop\.common\.Types\.Money/);
    assert.match(fileText(files, "java/README.md"), /```sh\nmvn -q -f runtime\/pom\.xml install\nmvn -q -f proto-deps\/shop-common\/pom\.xml install\nmvn -q install\n```/);
    assert.match(fileText(files, "java/README.md"), /\* `common\/types\.proto` → `com\.example\.shop:shop-common:1\.0\.0`/);

    // Any caller mapping the file writes the same artifact project, byte for byte.
    const catalog = await generate({ kind: "caller", lang: "java", protos: [path.join(SHARED, "catalog/catalog.proto")], includes: [SHARED], name: "Shop.Catalog", javaProtoDep: [COMMON_DEP] });
    const depFiles = (fs: typeof files, top: string) => fs.filter((f) => f.path.startsWith(`${top}/java/proto-deps/`)).map((f) => [f.path.slice(top.length), Buffer.from(f.content).toString("hex")]);
    assert.deepEqual(depFiles(catalog, "Shop.Catalog-caller"), depFiles(files, "Shop.Billing-caller"));

    // registry mode: the artifact is expected in a repository, nothing is carried.
    const registry = await generate({ kind: "caller", lang: "java", protos: [BILLING], includes: [SHARED], name: "Shop.Billing", javaProtoDep: [COMMON_DEP], runtime: "registry" });
    assert.deepEqual(pathsUnder(registry, "Shop.Billing-caller/java/proto-deps/"), []);
  });

  test("--java-proto-dep: with every file mapped, the caller holds only its clients", async () => {
    const files = await generate({
      kind: "caller",
      lang: "java",
      protos: [BILLING],
      includes: [SHARED],
      name: "Shop.Billing",
      javaProtoDep: [COMMON_DEP, "billing/billing.proto=com.example.shop:shop-billing-messages:1.0.0"],
    });
    assert.deepEqual(pathsUnder(files, "Shop.Billing-caller/java/src/"), ["main/java/shop/billing/BillingServiceClient.java"]);
    assert.deepEqual(pathsUnder(files, "Shop.Billing-caller/java/proto-deps/"), [
      "shop-billing-messages/pom.xml",
      "shop-billing-messages/proto/billing/billing.proto",
      "shop-billing-messages/src/main/java/shop/billing/Billing.java",
      "shop-common/pom.xml",
      "shop-common/proto/common/types.proto",
      "shop-common/src/main/java/shop/common/Types.java",
    ]);
    // The billing messages' artifact depends on the common one, which is installed first.
    assert.match(fileText(files, "proto-deps/shop-billing-messages/pom.xml"), /<groupId>com\.example\.shop<\/groupId>\n {6}<artifactId>shop-common<\/artifactId>\n {6}<version>1\.0\.0<\/version>/);
    assert.match(fileText(files, "java/README.md"), /mvn -q -f runtime\/pom\.xml install\nmvn -q -f proto-deps\/shop-common\/pom\.xml install\nmvn -q -f proto-deps\/shop-billing-messages\/pom\.xml install\nmvn -q install/);
  });

  test("--java-proto-dep: bad mappings are clear errors", async () => {
    const billing = (javaProtoDep: string[], extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
      kind: "caller",
      lang: "java",
      protos: [BILLING],
      includes: [SHARED],
      name: "Shop.Billing",
      javaProtoDep,
      ...extra,
    });
    await rejectsWith(
      billing(["common/types.proto"]),
      'invalid "common/types.proto": expected --java-proto-dep <file.proto>=<groupId>:<artifactId>:<version>, e.g. common/types.proto=com.example.shop:shop-common:1.0.0',
    );
    await rejectsWith(
      billing(["common/types.proto=a:b"]),
      'invalid "common/types.proto=a:b": expected --java-proto-dep <file.proto>=<groupId>:<artifactId>:<version>, e.g. common/types.proto=com.example.shop:shop-common:1.0.0',
    );
    await rejectsWith(billing(["common/nope.proto=a:b:1"]), "--java-proto-dep common/nope.proto: not among the compiled files (common/types.proto, billing/billing.proto)");
    await rejectsWith(billing([COMMON_DEP, "common/types.proto=a:b:1"]), "--java-proto-dep common/types.proto is given twice");
    await rejectsWith(billing(["google/protobuf/empty.proto=a:b:1"]), "--java-proto-dep google/protobuf/empty.proto: well-known types are part of com.google.protobuf:protobuf-java and cannot be mapped");
    await rejectsWith(billing([COMMON_DEP, "billing/billing.proto=com.example.shop:shop-common:2.0.0"]), "--java-proto-dep: com.example.shop:shop-common is given two versions (1.0.0 and 2.0.0)");
    await rejectsWith(billing(["billing/billing.proto=x:billing-protos:1.0.0"]), "--java-proto-dep billing/billing.proto: it imports common/types.proto, which is not mapped; map it too (--java-proto-dep <file.proto>=<groupId>:<artifactId>:<version>)");
    await rejectsWith(
      billing(["common/types.proto=com.example.msec.shop:billing-caller:9.9.9"]),
      "--java-proto-dep common/types.proto: com.example.msec.shop:billing-caller is this caller's own groupId:artifactId",
    );
    await rejectsWith(billing([COMMON_DEP], { lang: "go" }), "--java-proto-dep applies to the java caller, which is not being generated (--lang go)");

    const dir = mkdtempSync(path.join(tmpdir(), "msec-gen-java-nopkg-"));
    try {
      writeFileSync(path.join(dir, "bare.proto"), 'syntax = "proto3";\nmessage Bare { string s = 1; }\n');
      writeFileSync(path.join(dir, "use.proto"), 'syntax = "proto3";\npackage use;\nimport "bare.proto";\nservice U { rpc Get(Bare) returns (Bare); }\n');
      await rejectsWith(
        { kind: "caller", lang: "java", protos: [path.join(dir, "use.proto")], name: "Use.U", javaProtoDep: ["bare.proto=x:bare:1.0.0"] },
        '--java-proto-dep bare.proto: the file has neither a "package" nor "option java_package", so its Java package would depend on the routing name; add one of them',
      );

      // a.proto → b.proto → c.proto with a and c in one artifact, b in another: a cycle Maven cannot build.
      writeFileSync(path.join(dir, "c.proto"), 'syntax = "proto3";\npackage cyc;\nmessage C { string s = 1; }\n');
      writeFileSync(path.join(dir, "b.proto"), 'syntax = "proto3";\npackage cyc;\nimport "c.proto";\nmessage B { C c = 1; }\n');
      writeFileSync(path.join(dir, "a.proto"), 'syntax = "proto3";\npackage cyc;\nimport "b.proto";\nmessage A { B b = 1; }\nservice S { rpc Get(A) returns (A); }\n');
      await rejectsWith(
        { kind: "caller", lang: "java", protos: [path.join(dir, "a.proto")], name: "Cyc.S", javaProtoDep: ["a.proto=x:ac:1.0.0", "c.proto=x:ac:1.0.0", "b.proto=x:b:1.0.0"] },
        "--java-proto-dep: the artifacts import each other in a cycle: x:ac → x:b → x:ac",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a file without services makes a message-only artifact: no runtime dependency, no runtime/", async () => {
    const files = await generate({ kind: "caller", lang: "java", protos: [path.join(SHARED, "common/types.proto")], includes: [SHARED], name: "Shop.Common" });
    assert.deepEqual(pathsUnder(files, "Shop.Common-caller/java/"), [".gitignore", "README.md", "pom.xml", "proto/common/types.proto", "src/main/java/shop/common/Types.java"]);
    assert.doesNotMatch(fileText(files, "java/pom.xml"), /msec-runtime/);
    assert.match(fileText(files, "java/README.md"), /```sh\nmvn -q install\n```/);
  });

  test("java_multiple_files, java_outer_classname, no package, nested and well-known rpc types build with Maven", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "msec-gen-java-options-"));
    writeFileSync(
      path.join(dir, "multi.proto"),
      [
        'syntax = "proto3";',
        "package shop.v1;",
        'option java_package = "com.example.shop";',
        "option java_multiple_files = true;",
        'import "google/protobuf/empty.proto";',
        "message Order { message Line { string sku = 1; } repeated Line lines = 1; }",
        "service OrderService {",
        "  rpc Latest(google.protobuf.Empty) returns (Order);",
        "  rpc AddLine(Order.Line) returns (google.protobuf.Empty);",
        "}",
        "",
      ].join("\n"),
    );
    writeFileSync(
      path.join(dir, "bare.proto"),
      ['syntax = "proto2";', 'option java_outer_classname = "BareMessages";', "message Beat { required int32 n = 1; }", "service Bare { rpc Ping(Beat) returns (Beat); }", ""].join("\n"),
    );
    let pkg: string;
    try {
      pkg = await generateJavaCaller("options", [path.relative(REPO_ROOT, path.join(dir, "multi.proto")), path.relative(REPO_ROOT, path.join(dir, "bare.proto"))], "Shop.Orders");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const orderClient = readFileSync(path.join(pkg, "src/main/java/com/example/shop/OrderServiceClient.java"), "utf8");
    assert.match(orderClient, /public com\.example\.shop\.Order latest\(com\.google\.protobuf\.Empty request\)/);
    assert.match(orderClient, /public com\.google\.protobuf\.Empty addLine\(com\.example\.shop\.Order\.Line request\)/);
    const bareClient = readFileSync(path.join(pkg, "src/main/java/shop/orders/BareClient.java"), "utf8");
    assert.match(bareClient, /public shop\.orders\.BareMessages\.Beat ping\(shop\.orders\.BareMessages\.Beat request\)/);
    const [jar] = await mavenReactorPackage("options-reactor", [pkg]);
    const classes = (await jarEntries(jar!)).filter((e) => e.endsWith(".class"));
    assert.ok(classes.includes("com/example/shop/OrderServiceClient.class") && classes.includes("shop/orders/BareMessages.class"), classes.join(" "));
    assert.deepEqual(classes.filter((e) => e.startsWith("io/")), [], "the runtime is a dependency, not part of the jar");
  });
});
