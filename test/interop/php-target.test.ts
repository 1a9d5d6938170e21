/**
 * The PHP target on hostile and varied inputs: callers generated for the
 * reserved-words edge fixture (PHP keywords as packages, messages, services
 * and rpcs), a modern proto3 file (maps, oneofs, well-known types), the
 * interop fixture (proto2 with a closed enum, packed fields, defaults) and
 * both VOA files are installed with Composer offline into one application as
 * their READMEs say, and every class loads on Debian's protobuf 3.21
 * (messages round-trip, clients construct with the escaped method names).
 * Inputs protobuf-php cannot represent are refused with file:line:col.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { msecGen, REPO_ROOT, runOk } from "./ts-server.js";

const work = mkdtempSync(path.join(tmpdir(), "msec-php-target-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function generatePhp(args: readonly string[]): Promise<string> {
  const r = await msecGen(["caller", ...args, "--lang", "php", "--dir", "-o", work, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  return path.join(r.stdout.trim(), "php");
}

test("every class of callers for hostile and varied inputs loads on protobuf 3.21", async () => {
  // reserved_words.proto with its message Object renamed (refused below: protoc 36 and protobuf 3.21 name its class differently).
  mkdirSync(path.join(work, "renamed"));
  writeFileSync(path.join(work, "renamed/reserved_words.proto"), readFileSync(path.join(REPO_ROOT, "fixtures/edge/reserved_words.proto"), "utf8").replace(/\bObject\b/g, "Obj"));
  const callers = [
    await generatePhp(["-I", path.join(work, "renamed"), path.join(work, "renamed/reserved_words.proto"), "--name", "Reserved.Words"]),
    await generatePhp(["fixtures/edge/modern_proto3.proto", "--name", "Modern.Events"]),
    await generatePhp(["fixtures/interop/interop.proto", "--name", "Interop.Echo"]),
    await generatePhp(["fixtures/voa/Crawl.proto", "fixtures/voa/MainLogic.proto", "--name", "VOA.Crawl"]),
  ];
  const app = path.join(work, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "composer.json"), JSON.stringify({ name: "test/app", require: {} }));
  const env = { ...process.env, COMPOSER_HOME: path.join(work, ".composer") };
  const sh = (command: string) => runOk("sh", ["-c", command], { cwd: app, env });
  await sh("composer config repo.packagist false");
  await sh(`composer config repositories.google-protobuf path "${callers[0]}/runtime/debian-protobuf"`);
  await sh(`composer config repositories.msec-gen-runtime path "${callers[0]}/runtime"`);
  const names = ["reserved/words", "modern/events", "interop/echo", "voa/crawl"];
  for (const [i, caller] of callers.entries()) await sh(`composer config repositories.${names[i]} path "${caller}"`);
  await sh(`composer require --no-interaction ${names.map((n) => `${n}:*`).join(" ")}`);
  const out = JSON.parse(await runOk("php", [path.join(REPO_ROOT, "test/interop/php/load.php"), ...callers.map((c) => path.join(c, "src"))], { cwd: app }));
  assert.equal(out.messages, 18, "every message class (nested ones included) constructs and round-trips");
  assert.deepEqual(out.clients, {
    "Crawl\\CrawlServiceClient": ["getMP3List"],
    "Import\\ErrorClient": ["then", "constructor", "delete", "toString", "service_"], // rpc Service → service_ (a member of the client)
    "Import\\StringClient": ["catch"],
    "Interop\\InteropServiceClient": ["echo"],
    "MainLogic\\MainLogicServiceClient": ["getTitles", "getUrlByTitle", "downloadMP3"],
    "Modern\\V1\\AdminServiceClient": ["purge"],
    "Modern\\V1\\EventServiceClient": ["put", "latest"],
  });
});

test("the runtime's composer.json carries msec-gen's version (generated callers require exactly that version)", () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  const runtime = JSON.parse(readFileSync(path.join(REPO_ROOT, "runtimes/php/composer.json"), "utf8")) as { version: string; name: string };
  assert.deepEqual([runtime.name, runtime.version], ["msec-gen/runtime", pkg.version]);
});

test("inputs protobuf-php cannot represent are refused with file:line:col", async () => {
  const dir = path.join(work, "refused");
  mkdirSync(dir);
  writeFileSync(path.join(dir, "closed.proto"), 'syntax = "proto2";\npackage c;\nenum Level { LOW = 1; HIGH = 2; }\nmessage M { optional Level level = 1; }\nservice S { rpc Get(M) returns (M); }\n');
  writeFileSync(path.join(dir, "group.proto"), 'syntax = "proto2";\npackage g;\nmessage M {\n  optional group Item = 1 { optional int32 id = 2; }\n}\nservice S { rpc Get(M) returns (M); }\n');
  const closed = await msecGen(["caller", path.join(dir, "closed.proto"), "--name", "C.S", "--lang", "php", "-o", dir, "-q"]);
  assert.equal(closed.code, 1);
  assert.equal(
    closed.stderr,
    "msec-gen: error: closed.proto:3:6: enum c.Level is closed (proto2) and its first value LOW is 1, not 0; protobuf-php has open enums only, which must start with a 0 value — change it or generate without --lang php\n",
  );
  const object = await msecGen(["caller", "fixtures/edge/reserved_words.proto", "--name", "R.W", "--lang", "php", "-o", dir, "-q"]);
  assert.equal(object.code, 1);
  assert.match(object.stderr, /^msec-gen: error: reserved_words\.proto:\d+:\d+: message import\.Object: protoc names its PHP class PBObject but google\/protobuf 3\.21 \(Debian's php-google-protobuf\) looks for Object/);
  const group = await msecGen(["caller", path.join(dir, "group.proto"), "--name", "G.S", "--lang", "php", "-o", dir, "-q"]);
  assert.equal(group.code, 1);
  assert.match(group.stderr, /^msec-gen: error: group\.proto:4:\d+: field g\.M\.item is a group \(delimited encoding\), which protobuf-php does not support — change it or generate without --lang php\n$/);
});
