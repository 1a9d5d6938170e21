// Runs every shared request-decoding case of fixtures/json-input/cases.json (the Python runtime
// runs the same file): the code decodeRequest answers, the decoded value, the field named.
import { after, before, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { type RequestBody, type Server, SrpcError, createServer, decodeRequest } from "@msec-gen/runtime";
import { echoMethods } from "../../../examples/echo/echo-service.js";
import { dial, memoryLogger, readUntilClosed } from "./net-helpers.js";

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
const edgeCases = (JSON.parse(readFileSync(new URL("http-edge.json", dir), "utf8")) as Array<{ name: string; body_hex: string; ret: number }>)
  .map((c) => [c.name, Buffer.from(c.body_hex, "hex"), c.ret] as const);

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

// The same rule at the HTTP edge of a real server (the echo service decodes with decodeRequest):
// the Python runtime's suite sends these bodies to its echo service and expects the same codes.
describe("JSON bodies at the HTTP edge (echo service, real socket)", () => {
  let server: Server;
  let port = 0;
  before(async () => {
    server = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: memoryLogger().logger });
    for (const m of echoMethods()) server.register(m);
    ({ port } = await server.listen());
  });
  after(() => server.close());

  for (const [name, body, ret] of edgeCases) {
    test(`${name} → ${ret}`, async () => {
      const s = await dial(port);
      s.write(Buffer.concat([Buffer.from(`POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
      const answer = (await readUntilClosed(s)).toString("utf8");
      const envelope = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { ret: number };
      assert.equal(envelope.ret, ret, answer);
    });
  }
});
