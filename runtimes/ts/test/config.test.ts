import { test } from "node:test";
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getConfig, loadConfig, parseConfig } from "@msec-gen/runtime";

const sample = [
  "# leading comment",
  "; another comment",
  "[SRPC]",
  "  listen = 7963/udp 7963/tcp  ",
  "module=./msec.so",
  "empty =",
  "url = http://x/?a=b",
  "not a pair",
  "[LOG]",
  "Level=INFO",
  "   # indented comment",
  "[VOA.Crawl]",
  "key = first",
  "key = second",
].join("\n");

test("reads key=value pairs trimmed, split at the first '='", () => {
  const config = parseConfig(sample, "sample.ini");
  assert.equal(config.source, "sample.ini");
  assert.equal(config.get("SRPC", "listen"), "7963/udp 7963/tcp");
  assert.equal(config.get("SRPC", "module"), "./msec.so");
  assert.equal(config.get("SRPC", "url"), "http://x/?a=b");
  assert.equal(config.get("LOG", "Level"), "INFO");
});

test("missing section, missing key and empty value are all undefined", () => {
  const config = parseConfig(sample);
  assert.equal(config.get("NOPE", "listen"), undefined);
  assert.equal(config.get("SRPC", "nope"), undefined);
  assert.equal(config.get("SRPC", "empty"), undefined);
  assert.equal(config.get("SRPC", "not a pair"), undefined);
  assert.equal(config.get("log", "Level"), undefined, "names are case-sensitive");
});

test("comments with # and ; are skipped; dotted sections stay flat; last assignment wins", () => {
  const config = parseConfig(sample);
  assert.deepEqual(config.sections(), ["SRPC", "LOG", "VOA.Crawl"]);
  assert.equal(config.get("VOA.Crawl", "key"), "second");
  assert.deepEqual(config.entries("SRPC"), [
    ["listen", "7963/udp 7963/tcp"],
    ["module", "./msec.so"],
    ["empty", ""],
    ["url", "http://x/?a=b"],
  ]);
});

test("a missing file reads as an empty config; getConfig re-reads a changed file", () => {
  const dir = mkdtempSync(join(tmpdir(), "msec-config-"));
  try {
    const path = join(dir, "config.ini");
    assert.deepEqual(loadConfig(path).sections(), []);
    assert.equal(getConfig("LOG", "Level", path), undefined);
    writeFileSync(path, "[LOG]\nLevel=DEBUG\n");
    assert.equal(getConfig("LOG", "Level", path), "DEBUG");
    writeFileSync(path, "[LOG]\nLevel=TRACE\n");
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    assert.equal(getConfig("LOG", "Level", path), "TRACE");
    assert.equal(getConfig("LOG", "Missing", path), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
