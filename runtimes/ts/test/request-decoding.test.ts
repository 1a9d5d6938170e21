// Runs every shared request-decoding case of fixtures/json-input/cases.json (the Python runtime
// runs the same file): the code decodeRequest answers, the decoded value, the field named.
import { test } from "node:test";
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { type RequestBody, SrpcError, decodeRequest } from "@msec-gen/runtime";

const dir = new URL("../../../fixtures/json-input/", import.meta.url);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(new URL("request_decoding.binpb", dir))));

interface Case {
  name: string;
  message: string;
  format: "json" | "binary";
  input?: string;
  input_hex?: string;
  code: number;
  value?: unknown;
  error_contains?: string;
}
const cases = JSON.parse(readFileSync(new URL("cases.json", dir), "utf8")) as Case[];

for (const c of cases) {
  test(`${c.format}: ${c.name}`, () => {
    const schema = registry.getMessage(c.message);
    assert.ok(schema, c.message);
    const body: RequestBody = c.format === "json"
      ? { format: "json", text: c.input ?? "" }
      : { format: "binary", bytes: Buffer.from(c.input_hex ?? "", "hex") };
    let result: { code: number; value?: unknown; message?: string };
    try {
      result = { code: 0, value: toJson(schema, decodeRequest(schema, body), { useProtoFieldName: true }) };
    } catch (e) {
      if (!(e instanceof SrpcError)) throw e;
      result = { code: e.code, message: e.message };
    }
    assert.equal(result.code, c.code, `code (${result.message ?? "decoded"})`);
    if (c.code === 0) assert.deepEqual(result.value, c.value);
    else assert.ok(result.message?.includes(c.error_contains ?? "\0"), `message ${JSON.stringify(result.message)} names ${c.error_contains}`);
  });
}
