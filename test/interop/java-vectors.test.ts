/**
 * The Java caller's runtime against the shared wire vectors, with the real
 * toolchain: the generated package (for the reserved-word fixture, so the same
 * build also proves identifier escaping) is built with `mvn -q -B package`,
 * which runs its JUnit suite — frames byte-identical to spec §13 V1–V5, the V6
 * completeness-check and unpack table, V7 djb2 colour ids, literal addresses
 * and routes-file lines — over its copy of `fixtures/vectors/`. Also: the copy
 * is identical to the fixtures, and the caller tarball is byte-stable.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { generate } from "../../generator/generate.js";
import { createTarball } from "../../generator/tarball.js";
import { JAVA_CACHE, PROTOBUF_JAR, REPO_ROOT, compileJavaProgram, generateJavaCaller, mavenPackage, surefireSummary } from "./java-toolchain.js";

const VECTORS = path.join(REPO_ROOT, "fixtures/vectors");
const TEMPLATE_VECTORS = path.join(REPO_ROOT, "templates/caller/java/vectors");

describe("Java caller runtime vs the shared vectors", () => {
  test("the package's vector copies are byte-identical to fixtures/vectors", () => {
    const copies = readdirSync(TEMPLATE_VECTORS).sort();
    assert.deepEqual(copies, [
      "v1-python-client-request.json",
      "v2-minimal-request.json",
      "v3-unknown-method-response.json",
      "v4-java-client-request.json",
      "v5-csrpcproxy-request.json",
      "v6-check-pkg.json",
      "v7-color-ids.json",
    ]);
    for (const name of copies) {
      assert.ok(readFileSync(path.join(TEMPLATE_VECTORS, name)).equals(readFileSync(path.join(VECTORS, name))), `${name} differs from fixtures/vectors`);
    }
  });

  test("mvn package builds the reserved-word caller, its JUnit vector suite passes and its README example compiles", async () => {
    const dir = await generateJavaCaller("reserved", ["fixtures/edge/reserved_words.proto"], "Import.Error");
    const jar = await mavenPackage(dir);
    assert.equal(path.basename(jar), "error-caller-0.1.0.jar");
    assert.equal(surefireSummary(dir, "import_.error.srpc.FrameVectorsTest"), "Tests run: 12, Failures: 0, Errors: 0, Skipped: 0");
    assert.equal(surefireSummary(dir, "import_.error.srpc.RoutingTest"), "Tests run: 4, Failures: 0, Errors: 0, Skipped: 0");

    // `package import;` becomes the Java package `import_`; rpc names that are Java
    // keywords or Object methods get a `_` suffix, their async forms do not need one.
    const errorClient = readFileSync(path.join(dir, "src/main/java/import_/ErrorClient.java"), "utf8");
    const stringClient = readFileSync(path.join(dir, "src/main/java/import_/StringClient.java"), "utf8");
    const methods = (src: string) => [...src.matchAll(/public (?:CompletableFuture<)?[\w.]+>? (\w+)\([\w.]+ request\) \{/g)].map((m) => m[1]);
    assert.deepEqual(methods(errorClient), ["then", "thenAsync", "constructor", "constructorAsync", "delete", "deleteAsync", "toString_", "toStringAsync", "service", "serviceAsync"]);
    assert.deepEqual(methods(stringClient), ["catch_", "catchAsync"]);
    assert.match(errorClient, /client\.call\(service, "import\.Error\.toString", request, import_\.ReservedWords\.Object\.parser\(\), options\)/);

    // The README's usage example compiles against the built jar.
    const readme = readFileSync(path.join(dir, "README.md"), "utf8");
    const snippet = /```java\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const lines = snippet.split("\n");
    const imports = lines.filter((l) => l.startsWith("import "));
    const body = lines.filter((l) => !l.startsWith("import "));
    assert.ok(imports.length > 0 && body.join("").includes("client."), snippet);
    const example = [...imports, "", "final class ReadmeExample {", "    static void run() {", ...body, "    }", "}", ""].join("\n");
    await compileJavaProgram(path.join(JAVA_CACHE, "readme-example"), "ReadmeExample", example, [jar, PROTOBUF_JAR]);
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
