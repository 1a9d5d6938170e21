/**
 * `msec-gen openapi`: the document for the echo, VOA and edge fixtures is
 * valid OpenAPI 3.1 (and every schema valid JSON Schema 2020-12), says what
 * the servers do (paths, parameters, envelope, ProtoJSON types, proto2
 * `required`, maps, oneofs, enums, comments), is deterministic, and the CLI
 * reports bad input with exit 1. Server packages carry the same document.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { runCli } from "../generator/run-cli.js";
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { generate, loadModel } from "../../generator/generate.js";
import { jsonExample, openApiDocument } from "../../generator/openapi.js";
import { decodeRequest } from "../../runtimes/ts/src/request-decoding.js";
import { MSEC_JSON_WRITE_OPTIONS } from "../../runtimes/ts/src/server/call-context.js";
import { assertValidOpenApi, type OpenApiDoc, schemaCompiler } from "./validate.js";

const work = mkdtempSync(path.join(tmpdir(), "openapi-doc-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function openapi(args: string[]): Promise<{ doc: OpenApiDoc; text: string }> {
  const r = await runCli(["openapi", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return { doc: JSON.parse(r.stdout) as OpenApiDoc, text: r.stdout };
}

const schema = (doc: OpenApiDoc, name: string) => doc.components.schemas[name] as Record<string, any>;

describe("msec-gen openapi", () => {
  test("echo.proto: one operation for echo.EchoService.Echo, valid OpenAPI 3.1, equal to examples/echo/openapi.json", async () => {
    const { doc, text } = await openapi(["fixtures/echo/echo.proto", "--name", "echo.EchoService"]);
    await assertValidOpenApi(doc);
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc.info.title, "echo.EchoService");
    assert.deepEqual(Object.keys(doc.paths), ["/echo.EchoService.Echo"]);
    const op = doc.paths["/echo.EchoService.Echo"].post;
    assert.equal(op.operationId, "echo.EchoService.Echo");
    assert.equal(op.summary, "Answers with the request's message, unchanged.");
    assert.deepEqual(
      op.parameters.map((p: any) => [p.in, p.name, p.required, p.schema]),
      [
        ["query", "methodName", true, { type: "string", const: "echo.EchoService.Echo" }],
        ["header", "caller", false, { type: "string" }],
      ],
    );
    assert.deepEqual(op.requestBody.content["application/json"].schema, { $ref: "#/components/schemas/echo.EchoRequest" });
    assert.deepEqual(op.requestBody.content["application/json"].example, { message: "aGVsbG8=" });
    const envelope = op.responses["200"].content["application/json"].schema;
    assert.deepEqual(envelope.oneOf[0].properties, {
      ret: { const: 0 },
      errmsg: { const: "" },
      resultObj: { $ref: "#/components/schemas/echo.EchoResponse" },
    });
    assert.deepEqual(envelope.oneOf[1], { $ref: "#/components/schemas/MSEC-ErrorEnvelope" });
    assert.deepEqual(Object.keys(doc.components.schemas), ["MSEC-ErrorEnvelope", "echo.EchoRequest", "echo.EchoResponse"]);
    assert.equal(schema(doc, "echo.EchoRequest").properties.message.contentEncoding, "base64");
    assert.equal(readFileSync(path.join(REPO_ROOT, "examples/echo/openapi.json"), "utf8"), text, "examples/echo/openapi.json is stale: regenerate it with the command in docs/openapi.md");
  });

  test("legacy proto2: required fields, closed enum, 64-bit as string or integer, group, comments", async () => {
    const { doc } = await openapi(["fixtures/edge/legacy_proto2.proto"]);
    await assertValidOpenApi(doc);
    assert.deepEqual(Object.keys(doc.paths), ["/legacy.LegacyService.Find", "/legacy.LegacyService.Touch"]);
    assert.deepEqual(doc.tags, [{ name: "legacy.LegacyService", description: "Looks items up.\nSecond line of the service comment." }]);
    assert.equal(doc.paths["/legacy.LegacyService.Find"].post.description, "Finds one item by key.");
    assert.equal(doc.paths["/legacy.LegacyService.Touch"].post.description, "trailing comment on Touch");
    const lookup = schema(doc, "legacy.Lookup");
    assert.deepEqual(lookup.required, ["key", "since", "want", "hint"]);
    assert.deepEqual(lookup.properties.since, { type: ["string", "integer"], format: "uint64", pattern: "^[0-9]+$", minimum: 0 });
    assert.deepEqual(lookup.properties.want, { $ref: "#/components/schemas/legacy.Status" });
    assert.deepEqual(schema(doc, "legacy.LookupReply").required, ["status", "checksum", "cached", "raw"]);
    assert.deepEqual(schema(doc, "legacy.Item").required, ["key"]);
    assert.deepEqual(schema(doc, "legacy.Item").properties.attr, { type: "array", items: { $ref: "#/components/schemas/legacy.Item.Attr" } });
    assert.deepEqual(schema(doc, "legacy.Item.Attr").required, ["name"]);
    const status = schema(doc, "legacy.Status");
    assert.deepEqual(status.anyOf, [
      { type: "integer", enum: [1, 2] },
      { type: "string", enum: ["STATUS_OK", "STATUS_MISSING"] },
    ]);
    assert.match(status.description, /^Status of a lookup\.\n\n.*\n\n1 = STATUS_OK \(first value is the proto2 default\)\n2 = STATUS_MISSING$/s);
    // The request example sets every required field, nested required messages included.
    assert.deepEqual(doc.paths["/legacy.LegacyService.Find"].post.requestBody.content["application/json"].example, {
      key: "key",
      since: "1",
      want: 1,
      hint: { key: "key", version: "1", label: "label", status: 1, blob: "aGVsbG8=", ratio: 1, attr: [{ name: "name", value: "value" }] },
    });
  });

  test("modern proto3: maps, oneofs, open enums, well-known types, two services", async () => {
    const { doc } = await openapi(["fixtures/edge/modern_proto3.proto", "--name", "Modern.Events"]);
    const compile = await assertValidOpenApi(doc);
    assert.deepEqual(Object.keys(doc.paths), ["/modern.v1.EventService.Put", "/modern.v1.EventService.Latest", "/modern.v1.AdminService.Purge"]);
    const event = schema(doc, "modern.v1.Event");
    assert.deepEqual(event.properties.labels, { type: "object", additionalProperties: { type: "string" } });
    assert.deepEqual(event.properties.children.propertyNames, { pattern: "^-?[0-9]+$" });
    assert.deepEqual(event.not, { anyOf: [{ required: ["text", "data"] }, { required: ["text", "doc"] }, { required: ["data", "doc"] }] });
    assert.equal(schema(doc, "google.protobuf.Timestamp").format, "date-time");
    const kind = schema(doc, "modern.v1.Event.Kind");
    assert.deepEqual(kind.anyOf[0], { type: "integer", format: "int32" });
    // The schemas accept what the server accepts and refuse two oneof members or an unknown key.
    const validate = compile({ $ref: "#/components/schemas/modern.v1.Event" });
    assert.equal(validate({ id: "a", text: "t", labels: { k: "v" }, children: { "7": { id: "b" } } }), true, JSON.stringify(validate.errors));
    assert.equal(validate({ text: "t", data: "AA==" }), false);
    assert.equal(validate({ nope: 1 }), false);
    assert.equal(validate({ children: { x: {} } }), false);
  });

  test("VOA protos and the remaining edge fixtures are valid OpenAPI 3.1", async () => {
    const cases = [
      ["fixtures/voa/MainLogic.proto", "-I", "fixtures/voa"],
      ["fixtures/voa/Crawl.proto"],
      ["fixtures/edge/orders.proto", "-I", "fixtures/edge/include", "-I", "fixtures/edge"],
      ["fixtures/edge/users.proto", "-I", "fixtures/edge/include", "-I", "fixtures/edge"],
      ["fixtures/edge/reserved_words.proto"],
    ];
    for (const args of cases) {
      const { doc } = await openapi(args);
      await assertValidOpenApi(doc);
      assert.ok(Object.keys(doc.paths).length > 0, args[0]);
      for (const [p, item] of Object.entries(doc.paths)) assert.equal(item.post.operationId, p.slice(1));
    }
  });

  test("for every fixture method, the request example passes the schema and the runtime's strict decoding, and what the server writes passes the response schemas", async () => {
    const fixtures = [
      ["fixtures/echo/echo.proto"],
      ["fixtures/voa/MainLogic.proto", "fixtures/voa/Crawl.proto"],
      ["fixtures/edge/legacy_proto2.proto"],
      ["fixtures/edge/modern_proto3.proto"],
      ["fixtures/edge/orders.proto", "fixtures/edge/users.proto"],
      ["fixtures/edge/reserved_words.proto"],
    ];
    let methods = 0;
    for (const protos of fixtures) {
      const model = await loadModel({ kind: "server", protos, includes: ["fixtures/edge/include", ...protos.map((p) => path.dirname(p))], cwd: REPO_ROOT });
      const doc = openApiDocument(model, { name: "T.T", version: "0.1.0", generatorVersion: "0" }) as OpenApiDoc;
      const compile = schemaCompiler(doc);
      for (const service of model.services) {
        for (const method of service.methods) {
          const op = doc.paths[`/${method.wireName}`].post;
          const media = op.requestBody.content["application/json"];
          const validateRequest = compile(media.schema);
          assert.equal(validateRequest(media.example), true, `${method.wireName}: ${JSON.stringify(validateRequest.errors)}`);
          // A non-object request (a WKT such as Timestamp) cannot be sent over HTTP at all (request-decoding.md).
          if (typeof media.example === "object" && media.example !== null && !Array.isArray(media.example)) {
            decodeRequest(method.input.desc, { format: "json", text: JSON.stringify(media.example) });
          }
          // What the server writes by default for a full response, and for an empty one.
          const validateReply = compile(op.responses["200"].content["application/json"].schema);
          // (An empty response only where no field is required: protobuf-es refuses to write it otherwise.)
          const hasRequired = method.output.desc.fields.some((f) => f.presence === 3);
          const responses = [fromJson(method.output.desc, jsonExample(method.output.desc)), ...(hasRequired ? [] : [create(method.output.desc)])];
          for (const response of responses) {
            const envelope = { ret: 0, errmsg: "", resultObj: toJson(method.output.desc, response, MSEC_JSON_WRITE_OPTIONS) };
            assert.equal(validateReply(envelope), true, `${method.wireName}: ${JSON.stringify(envelope)} ${JSON.stringify(validateReply.errors)}`);
          }
          methods++;
        }
      }
    }
    assert.ok(methods >= 12, `${methods} methods checked`);
  });

  test("the output is byte-identical across runs; -o writes the same bytes to a file", async () => {
    const first = await openapi(["fixtures/edge/modern_proto3.proto"]);
    const second = await openapi(["fixtures/edge/modern_proto3.proto"]);
    assert.equal(first.text, second.text);
    const out = path.join(work, "doc.json");
    const r = await runCli(["openapi", "fixtures/edge/modern_proto3.proto", "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(readFileSync(out, "utf8"), first.text);
  });

  test("user errors exit 1 with one clear line", async () => {
    const bad = await runCli(["openapi", "fixtures/edge/invalid/syntax_error.proto"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /syntax_error\.proto:\d+:\d+: /);
    const noService = await runCli(["openapi", "fixtures/edge/messages_only.proto"]);
    assert.equal(noService.code, 1);
    assert.equal(noService.stderr, 'msec-gen: error: messages_only.proto: no service to describe; the document needs at least one "service" declaration\n');
    const badName = await runCli(["openapi", "fixtures/echo/echo.proto", "--name", "nodot"]);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /^msec-gen: error: invalid --name "nodot"/);
    const none = await runCli(["openapi"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no \.proto file given/);
    const unwritable = await runCli(["openapi", "fixtures/echo/echo.proto", "-o", path.join(work, "missing-dir/x.json")]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /^msec-gen: error: cannot write .*missing-dir\/x\.json: ENOENT\n$/);
  });

  test("server dev packages (TS and Python) carry the same document as openapi.json", async () => {
    const { text } = await openapi(["fixtures/voa/Crawl.proto", "--name", "VOA.Crawl"]);
    for (const [lang, file] of [["ts", "VOA.Crawl-server-ts/openapi.json"], ["python", "VOA.Crawl-server-python/voa_crawl_server/openapi.json"]] as const) {
      const files = await generate({ kind: "server", lang, protos: ["fixtures/voa/Crawl.proto"], name: "VOA.Crawl", cwd: REPO_ROOT });
      const found = files.find((f) => f.path === file);
      assert.ok(found, `${lang}: ${file} in ${files.map((f) => f.path).join(", ")}`);
      assert.equal(found.content, text);
    }
  });
});
