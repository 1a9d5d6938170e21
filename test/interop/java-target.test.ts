/**
 * How the Java caller target names things: protoc's camel-casing and default
 * outer class, packages derived from the proto package or the routing name
 * (lower-cased when the first segment would clash with a class), Maven
 * coordinates and their overrides — and that a package using
 * `java_multiple_files`, `java_outer_classname`, nested messages and
 * well-known types as rpc types builds with Maven.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DescriptorProtoSchema, EnumDescriptorProtoSchema, FileDescriptorProtoSchema, ServiceDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { generate } from "../../generator/generate.js";
import { defaultOuterClassName, javaPackageFrom, routingPackage, underscoresToCamelCase } from "../../generator/targets/java/java-names.js";
import { UserError } from "../../generator/user-error.js";
import { REPO_ROOT, generateJavaCaller, mavenPackage, surefireSummary } from "./java-toolchain.js";

const VOA = ["fixtures/voa/Crawl.proto", "fixtures/voa/MainLogic.proto"].map((p) => path.join(REPO_ROOT, p));

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

  test("VOA: packages, clients, runtime package and Maven coordinates", async () => {
    const files = await generate({ kind: "caller", lang: "java", protos: VOA, name: "VOA_py.Crawl" });
    const paths = files.map((f) => f.path).filter((p) => p.includes("/src/main/java/"));
    assert.deepEqual(
      paths.map((p) => p.slice(p.indexOf("/src/main/java/") + 15)).filter((p) => !p.startsWith("voa_py/crawl/srpc/")),
      ["crawl/Crawl.java", "mainlogic/MainLogic.java", "crawl/CrawlServiceClient.java", "mainlogic/MainLogicServiceClient.java"],
    );
    const pom = fileText(files, "java/pom.xml");
    assert.match(pom, /<groupId>voa_py<\/groupId>\n {2}<artifactId>crawl-caller<\/artifactId>\n {2}<version>0\.1\.0<\/version>/);
    assert.match(pom, /<protobuf\.version>4\.36\.2<\/protobuf\.version>/);
    const client = fileText(files, "mainlogic/MainLogicServiceClient.java");
    assert.match(client, /^package mainlogic;$/m);
    assert.match(client, /public static final java\.lang\.String DEFAULT_SERVICE = "VOA_py\.Crawl";/);
    assert.match(client, /public mainlogic\.MainLogic\.DownloadMP3Response downloadMP3\(mainlogic\.MainLogic\.DownloadMP3Request request, int timeoutMs\)/);
    assert.match(client, /client\.call\(service, "MainLogic\.MainLogicService\.DownloadMP3", request, mainlogic\.MainLogic\.DownloadMP3Response\.parser\(\), options\)/);
    assert.doesNotMatch(fileText(files, "crawl/Crawl.java"), /com\.google\.protobuf\.Service\b|RpcChannel/, "generic services are off");
  });

  test("Maven coordinates can be overridden and are validated", async () => {
    const files = await generate({ kind: "caller", lang: "java", protos: VOA, name: "VOA.Crawl", javaGroupId: "com.example.voa", javaArtifactId: "voa-client" });
    assert.match(fileText(files, "java/pom.xml"), /<groupId>com\.example\.voa<\/groupId>\n {2}<artifactId>voa-client<\/artifactId>/);
    await assert.rejects(
      generate({ kind: "caller", lang: "java", protos: VOA, name: "VOA.Crawl", javaGroupId: "com example" }),
      (e: unknown) => e instanceof UserError && e.message === 'invalid Java groupId "com example": use letters, digits, "_", "-" and "."',
    );
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
    await mavenPackage(pkg);
    assert.equal(surefireSummary(pkg, "shop.orders.srpc.FrameVectorsTest"), "Tests run: 12, Failures: 0, Errors: 0, Skipped: 0");
  });
});
