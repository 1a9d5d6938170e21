/**
 * The per-file name cache and comment index msec-gen installs into
 * @bufbuild/protoplugin (generator/protoplugin-names.ts,
 * protoplugin-comments.ts) give exactly what protoplugin's own lookups give,
 * for every descriptor of the fixtures and of a file built to make names
 * clash (salts `$`, `$1`, reserved words, nested names that flatten alike).
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type AnyDesc, createFileRegistry, type DescFile } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { compileProtos } from "../../generator/front-end.js";
import { commentIndex, getComments, nameCache } from "../../generator/protoplugin.js";
import { VERIFIED_VERSIONS } from "../../generator/protoplugin-names.js";
import { REPO_ROOT } from "./golden-cases.js";

/** Names that collide once protoplugin flattens and suffixes them. */
const CLASHES = `syntax = "proto3";
package clash.v1;

// A message whose schema name is taken by the next one.
message Foo {
  // Nested: flattens to Foo_Bar, like the top-level Foo_Bar below.
  message Bar { int32 a = 1; }
  enum Kind { KIND_UNSPECIFIED = 0; }
  oneof choice {
    string text = 2; // trailing comment of a oneof member
  }
  Bar bar = 1;
}
message FooSchema { int32 a = 1; }
message Foo_Bar { int32 a = 1; }
message FooJson { int32 a = 1; }
message FooValid { int32 a = 1; }
// Reserved words get a "$".
message Object { int32 a = 1; }
message Array { int32 a = 1; }
enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
message ColorSchema { Color c = 1; }
message file_clash { int32 a = 1; }

// A service named like a schema.
service FooSchemaService {
  // Leading comment of an rpc.
  rpc Get(Foo) returns (FooSchema); // and a trailing one
}
service Foo_BarSchema {
  rpc Get(Foo_Bar) returns (Object);
}
`;

let work: string;
let clashFiles: DescFile[];

before(async () => {
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-protoplugin-cache-"));
  await fs.writeFile(path.join(work, "clash.proto"), CLASHES);
  clashFiles = await files(["clash.proto"], [], work);
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function files(protos: string[], includes: string[], cwd: string): Promise<DescFile[]> {
  const input = await compileProtos({ protos, includes, cwd });
  const registry = createFileRegistry(input.descriptorSet);
  return input.requested.map((name) => registry.getFile(name)!);
}

/** Every descriptor of a file, nested ones included. */
function allDescs(file: DescFile): Array<Exclude<AnyDesc, DescFile>> {
  const out: Array<Exclude<AnyDesc, DescFile>> = [];
  for (const d of nestedTypes(file)) {
    out.push(d);
    if (d.kind === "message") out.push(...d.fields, ...d.oneofs);
    if (d.kind === "enum") out.push(...d.values);
    if (d.kind === "service") out.push(...d.methods);
  }
  return out;
}

const cjsRequire = createRequire(import.meta.url);
const names = cjsRequire(path.join(path.dirname(cjsRequire.resolve("@bufbuild/protoplugin")), "names.js")) as typeof nameCache.original;
const sourceCodeInfo = cjsRequire(path.join(path.dirname(cjsRequire.resolve("@bufbuild/protoplugin")), "source-code-info.js")) as {
  getComments: typeof commentIndex.original;
};

function compareFile(file: DescFile): number {
  let compared = 0;
  assert.equal(names.generatedDescName(file), nameCache.original.generatedDescName(file), file.name);
  for (const desc of allDescs(file)) {
    if (desc.kind === "message" || desc.kind === "enum") {
      for (const lookup of ["generatedDescName", "generatedShapeName", "generatedJsonTypeName", "generatedValidTypeName"] as const) {
        assert.equal(names[lookup](desc), nameCache.original[lookup](desc), `${lookup}(${desc.typeName})`);
        compared++;
      }
    } else if (desc.kind === "service" || desc.kind === "extension") {
      assert.equal(names.generatedDescName(desc), nameCache.original.generatedDescName(desc), desc.typeName);
      compared++;
    }
    assert.deepEqual(sourceCodeInfo.getComments(desc), commentIndex.original(desc), `getComments(${desc.toString()})`);
    compared++;
  }
  return compared;
}

describe("protoplugin name cache and comment index", () => {
  test("are installed for this protoplugin version", () => {
    assert.ok(VERIFIED_VERSIONS.includes(nameCache.version), `protoplugin ${nameCache.version}: compare names.ts and source-code-info.ts with the verified versions, then add it`);
    assert.equal(nameCache.installed, true);
    assert.equal(commentIndex.installed, true);
    assert.notEqual(names.generatedDescName, nameCache.original.generatedDescName);
    assert.notEqual(sourceCodeInfo.getComments, commentIndex.original);
    assert.equal(getComments, sourceCodeInfo.getComments, "msec-gen's own getComments is the indexed one");
  });

  test("give protoplugin's names and comments for a file built to make names clash", () => {
    const [file] = clashFiles;
    assert.ok(file !== undefined);
    const compared = compareFile(file);
    assert.ok(compared > 60, `compared ${compared}`);
    const byName = new Map(allDescs(file).filter((d) => d.kind === "message").map((d) => [d.typeName, d]));
    // Spot checks of the clash resolution itself.
    assert.equal(names.generatedShapeName(byName.get("clash.v1.FooSchema")!), "FooSchema");
    assert.equal(names.generatedDescName(byName.get("clash.v1.Foo")!), "FooSchema$");
    assert.equal(names.generatedJsonTypeName(byName.get("clash.v1.Foo")!), "FooJson$");
    assert.equal(names.generatedShapeName(byName.get("clash.v1.Foo_Bar")!), "Foo_Bar$");
    assert.equal(names.generatedShapeName(byName.get("clash.v1.Object")!), "Object$");
    assert.equal(names.generatedDescName(file), "file_clash$");
  });

  test("give protoplugin's names and comments for every fixture", async () => {
    const cases: Array<{ protos: string[]; includes: string[] }> = [
      { protos: ["fixtures/voa/MainLogic.proto", "fixtures/voa/Crawl.proto"], includes: [] },
      {
        protos: ["fixtures/edge/legacy_proto2.proto", "fixtures/edge/modern_proto3.proto", "fixtures/edge/reserved_words.proto", "fixtures/edge/messages_only.proto"],
        includes: [],
      },
      { protos: ["fixtures/edge/orders.proto", "fixtures/edge/users.proto"], includes: ["fixtures/edge/include", "fixtures/edge"] },
      { protos: ["fixtures/shared/billing/billing.proto", "fixtures/shared/catalog/catalog.proto"], includes: ["fixtures/shared"] },
      { protos: ["fixtures/interop/interop.proto", "fixtures/echo/echo.proto"], includes: [] },
    ];
    let compared = 0;
    for (const c of cases) {
      for (const file of await files(c.protos, c.includes, REPO_ROOT)) compared += compareFile(file);
    }
    assert.ok(compared > 200, `compared ${compared}`);
  });
});
