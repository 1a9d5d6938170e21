/**
 * The Java runtime and the shared wire vectors, and a generated caller built
 * with the real toolchain.
 *
 * The runtime's JUnit suite (`runtimes/java/test.sh`, run by `npm test` after
 * the node tests) reads the ONE copy of the vectors in `fixtures/vectors/`:
 * checked here is that it does (no copy anywhere else, its test names every
 * vector file it needs). The reserved-word caller (so the same build also
 * proves identifier escaping) is built in one Maven reactor run with the
 * runtime it carries, and every ```java block of its README compiles against
 * the jars. Also: the caller tarball is byte-stable.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { generate } from "../../generator/generate.js";
import { createTarball } from "../../generator/tarball.js";
import { JAVA_CACHE, PROTOBUF_JAR, REPO_ROOT, compileJavaProgram, generateJavaCaller, jarEntries, mavenReactorPackage, readmeJavaProgram, runtimeJar } from "./java-toolchain.js";

const VECTORS = path.join(REPO_ROOT, "fixtures/vectors");
const RUNTIME_TEST = path.join(REPO_ROOT, "runtimes/java/src/test/java/io/github/msecgen/runtime/FrameVectorsTest.java");

describe("Java runtime vs the shared vectors", () => {
  test("the runtime's tests read fixtures/vectors, and no other copy of the vectors exists", () => {
    const source = readFileSync(RUNTIME_TEST, "utf8");
    assert.match(source, /System\.getProperty\("msec\.vectors", "\.\.\/\.\.\/fixtures\/vectors"\)/);
    assert.match(readFileSync(path.join(REPO_ROOT, "runtimes/java/pom.xml"), "utf8"), /<msec\.vectors>\$\{project\.basedir\}\/\.\.\/\.\.\/fixtures\/vectors<\/msec\.vectors>/);
    const used = [...source.matchAll(/"(v\d-[a-z0-9-]+\.json)"/g)].map((m) => m[1]!);
    assert.deepEqual([...new Set(used)].sort(), [
      "v1-python-client-request.json",
      "v2-minimal-request.json",
      "v3-unknown-method-response.json",
      "v4-java-client-request.json",
      "v5-csrpcproxy-request.json",
      "v6-check-pkg.json",
      "v7-color-ids.json",
    ]);
    for (const name of used) assert.ok(existsSync(path.join(VECTORS, name)), name);
    assert.equal(existsSync(path.join(REPO_ROOT, "templates/caller/java/vectors")), false);
    assert.equal(existsSync(path.join(REPO_ROOT, "runtimes/java/src/test/resources")), false);
    assert.deepEqual(readdirSync(path.join(REPO_ROOT, "templates/caller/java")).sort(), ["Client.java.hbs", "README.md.hbs", "gitignore.hbs", "pom.xml.hbs", "proto-deps"]);
  });

  test("the reserved-word caller builds with the runtime it carries, and its README's Java compiles against the jars", async () => {
    const dir = await generateJavaCaller("reserved", ["fixtures/edge/reserved_words.proto"], "Import.Error");
    const [jar] = await mavenReactorPackage("reserved-reactor", [dir]);
    assert.equal(path.basename(jar!), "error-caller-0.1.0.jar");
    const classes = (await jarEntries(jar!)).filter((e) => e.endsWith(".class"));
    assert.ok(classes.includes("import_/ErrorClient.class"), classes.join(" "));
    assert.deepEqual(classes.filter((e) => e.startsWith("io/")), [], "no runtime classes in the caller's jar");

    // `package import;` becomes the Java package `import_`; rpc names that are Java
    // keywords or Object methods get a `_` suffix, their async forms do not need one.
    const errorClient = readFileSync(path.join(dir, "src/main/java/import_/ErrorClient.java"), "utf8");
    const stringClient = readFileSync(path.join(dir, "src/main/java/import_/StringClient.java"), "utf8");
    const methods = (src: string) => [...src.matchAll(/public (?:CompletableFuture<)?[\w.]+>? (\w+)\([\w.]+ request\) \{/g)].map((m) => m[1]);
    assert.deepEqual(methods(errorClient), ["then", "thenAsync", "constructor", "constructorAsync", "delete", "deleteAsync", "toString_", "toStringAsync", "service", "serviceAsync"]);
    assert.deepEqual(methods(stringClient), ["catch_", "catchAsync"]);
    assert.match(errorClient, /client\.call\(service, "import\.Error\.toString", request, import_\.ReservedWords\.Object\.parser\(\), options\)/);

    // Every ```java block of the README compiles against the built jars.
    const example = readmeJavaProgram(readFileSync(path.join(dir, "README.md"), "utf8"), "ReadmeExample");
    assert.match(example, /^import io\.github\.msecgen\.runtime\.SrpcException;$/m);
    assert.match(example, /ErrorClient direct = new ErrorClient\("10\.0\.0\.1:7963"\);/);
    await compileJavaProgram(path.join(JAVA_CACHE, "readme-example"), "ReadmeExample", example, [jar!, runtimeJar(dir), PROTOBUF_JAR]);
  });

  test("the caller tarball is byte-stable across runs", async () => {
    const digest = async () => {
      const files = await generate({ kind: "caller", lang: "java", protos: [path.join(REPO_ROOT, "fixtures/voa/Crawl.proto")], name: "VOA.Crawl" });
      return createHash("sha256").update(createTarball(files)).digest("hex");
    };
    const first = await digest();
    assert.equal(await digest(), first);
  });
});
