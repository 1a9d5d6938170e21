/**
 * `msec-gen mock X.proto --port N` (the built CLI, a real process, real
 * sockets): every method answers its deterministic example over JSON (HTTP),
 * SRPC over TCP and SRPC over UDP; unknown methods answer -6 and bad
 * requests -3 / -5 as from a generated server; /openapi.json, /health and
 * /metrics are served; SIGTERM and SIGINT drain and exit 0. The example
 * rule (docs/mock.md) is checked exactly on a schema with every shape of
 * field (test/mock/fixtures/shapes.proto).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { callMethodRaw, SrpcCallError } from "@msec-gen/runtime";
import { compileProtos } from "../../generator/front-end.js";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { freePort } from "../free-port.js";
import { CALL_TIMEOUT_MS, jsonCall, messagesOf, type RunningMock, srpcCall, startMock, untilInFlight } from "./mock-process.js";

const ECHO = "fixtures/echo/echo.proto";
const SHAPES = "test/mock/fixtures/shapes.proto";

/** Rejects with the SRPC code of the failed call (or fails the test if it succeeded). */
async function srpcCode(port: number, transport: "tcp" | "udp", method: string, body: Uint8Array): Promise<{ code: number; message: string }> {
  try {
    await callMethodRaw(`127.0.0.1:${port}@${transport}`, method, body, { timeoutMs: CALL_TIMEOUT_MS });
  } catch (e) {
    assert.ok(e instanceof SrpcCallError, String(e));
    assert.equal(e.fromServer, true, `the code comes from the server's answer: ${e.message}`);
    return { code: e.code, message: e.message };
  }
  assert.fail(`${method} over ${transport} succeeded`);
}

describe("msec-gen mock fixtures/echo/echo.proto", () => {
  let mock: RunningMock;
  let port: number;

  before(async () => {
    port = await freePort();
    mock = await startMock([ECHO, "--port", String(port), "--host", "127.0.0.1"]);
  });
  after(async () => {
    await mock?.stop("SIGKILL");
  });

  test("prints a JSON ready line on stdout and the methods it serves on stderr", async () => {
    const { time, ...ready } = mock.ready as unknown as Record<string, unknown>;
    assert.match(String(time), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(ready, {
      level: "INFO",
      flowId: "",
      method: "",
      caller: "",
      msg: "listening",
      service: "echo.Echo",
      host: "127.0.0.1",
      port,
      transports: "tcp+udp",
      methods: 1,
    });
    await mock.untilStderr("/metrics\n");
    assert.equal(
      mock.stderr(),
      `msec-gen mock: echo.Echo on 127.0.0.1:${port} (tcp+udp; JSON over HTTP on the same port)\n` +
        "  echo.EchoService.Echo  example echo.EchoResponse\n" +
        "  unknown methods answer -6; GET /openapi.json, /explorer, /health, /metrics\n",
    );
  });

  test("a JSON call answers ret 0 with the example, in MSEC's envelope", async () => {
    const { text } = await jsonCall(port, "echo.EchoService.Echo", '{"message": "aGk="}');
    // bytes field `message` (number 1): its name in UTF-8, base64 in JSON.
    assert.equal(text, '{"ret":0, "errmsg":"", "resultObj": {"message": "bWVzc2FnZQ=="}}');
  });

  test("SRPC over TCP and over UDP answer the same example", async () => {
    const message = await messagesOf(ECHO);
    const [input, output] = [message("echo.EchoRequest"), message("echo.EchoResponse")];
    for (const transport of ["tcp", "udp"] as const) {
      const reply = await srpcCall(port, transport, "echo.EchoService.Echo", input, { message: new TextEncoder().encode("hi") }, output);
      assert.deepEqual(reply, { message: "bWVzc2FnZQ==" }, transport);
    }
  });

  test("an unknown method answers -6 over SRPC (TCP, UDP) and JSON", async () => {
    for (const transport of ["tcp", "udp"] as const) {
      const { code, message } = await srpcCode(port, transport, "echo.EchoService.Nope", new Uint8Array());
      assert.equal(code, -6, transport);
      assert.equal(message, "invalid method name", transport);
    }
    const { text } = await jsonCall(port, "echo.EchoService.Nope", "{}");
    assert.equal(text, '{"ret":-6, "errmsg":"invalid method name" }');
  });

  test("a request that does not decode answers -3 (JSON) and -5 (SRPC), as from a generated server", async () => {
    const { envelope } = await jsonCall(port, "echo.EchoService.Echo", '{"mesage": "aGk="}');
    assert.deepEqual(envelope, { ret: -3, errmsg: "cannot decode echo.EchoRequest from JSON: echo.EchoRequest.mesage: unknown field" });
    // Field 1 sent as a varint although it is `bytes` (length-delimited).
    const { code } = await srpcCode(port, "tcp", "echo.EchoService.Echo", Uint8Array.of(0x08, 0x01));
    assert.equal(code, -5);
  });

  test("serves /openapi.json, /explorer, /health and /metrics like a server", async () => {
    const openapi = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as { openapi: string; info: { title: string }; paths: Record<string, unknown> };
    assert.equal(openapi.openapi, "3.1.0");
    assert.equal(openapi.info.title, "echo.Echo");
    assert.deepEqual(Object.keys(openapi.paths), ["/echo.EchoService.Echo"]);
    // The explorer page: the runtime's asset, copied into dist/ by the build next to the compiled server.
    const explorer = await fetch(`http://127.0.0.1:${port}/explorer`);
    assert.equal(explorer.status, 200);
    assert.equal(explorer.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await explorer.text(), readFileSync(path.join(REPO_ROOT, "runtimes/ts/assets/explorer.html"), "utf8"));
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok\n");
    await jsonCall(port, "echo.EchoService.Echo", "{}");
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^msec_\w+\{[^}]*method="echo\.EchoService\.Echo"[^}]*code="0"[^}]*\} [1-9]/m);
  });
});

describe("msec-gen mock: the example rule on every shape of field (shapes.proto)", () => {
  let mock: RunningMock;

  before(async () => {
    mock = await startMock([SHAPES, "--port", String(await freePort()), "--host", "127.0.0.1"]);
  });
  after(async () => {
    await mock?.stop("SIGKILL");
  });

  /** The documented example of shapes.Shape, as the server writes JSON (proto names, enums as numbers, 64-bit as strings). */
  const point = { x: 1, y: 2 };
  const expectedShape = {
    name: "name", // string: the field's name
    id: "2", // int64: the field number (a string in ProtoJSON)
    area: 3.5, // double: number + 0.5
    ratio: 4.5, // float
    visible: true,
    blob: "YmxvYg==", // bytes: the name in UTF-8
    color: 1, // enum: the first non-zero value (RED)
    nothing: 0, // an enum with only a zero value
    palette: [1], // repeated: one element
    tags: ["tags"],
    counts: { key: 2 }, // map: one entry, key "key" / 1 / true, value by the entry's `value` field (number 2)
    points_by_id: { "1": point },
    center: point, // oneof: its first member that can be set (`never` cannot: a required cycle)
    origin: point, // proto2 required: always set
    tree: { label: "label", children: [{ label: "label" }], parent: { label: "label" } }, // a type occurs twice on a path at most
    big: "18",
    small: 19,
    fixed: 20,
    // `loop` (required fields that lead back to Loop) can never be complete: left unset.
    // Nesting stops at 8 levels (Shape is the first, L7 the eighth).
    chain: { next: { next: { next: { next: { next: { next: { depth: 2 }, depth: 2 }, depth: 2 }, depth: 2 }, depth: 2 }, depth: 2 }, depth: 2 },
    any: {}, // google.protobuf.Any stays empty
    at: "1970-01-01T00:00:01.000000002Z", // Timestamp by the rule: seconds 1, nanos 2
    points: [point],
  };

  test("JSON, SRPC over TCP and over UDP answer the documented example, exactly", async () => {
    const { envelope } = await jsonCall(mock.port, "shapes.ShapeService.Describe", '{"x": 5}');
    assert.deepEqual(envelope, { ret: 0, errmsg: "", resultObj: expectedShape });
    const message = await messagesOf(SHAPES);
    for (const transport of ["tcp", "udp"] as const) {
      const reply = await srpcCall(mock.port, transport, "shapes.ShapeService.Describe", message("shapes.Point"), { x: 5 }, message("shapes.Shape"));
      assert.deepEqual(reply, expectedShape, transport);
    }
  });

  test("the request is checked as a real server does: a missing proto2 required field is -3", async () => {
    const { envelope } = await jsonCall(mock.port, "shapes.ShapeService.Describe", "{}");
    assert.deepEqual(envelope, { ret: -3, errmsg: "cannot decode shapes.Point from JSON: shapes.Point.x: missing required field" });
    const ok = await jsonCall(mock.port, "shapes.ShapeService.Locate", JSON.stringify({ name: "n", origin: { x: 1 } }));
    assert.deepEqual(ok.envelope, { ret: 0, errmsg: "", resultObj: point });
  });
});

test("--descriptor-set-in serves a prebuilt set; --canonical-json writes canonical ProtoJSON", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "msec-mock-set-"));
  try {
    const compiled = await compileProtos({ protos: [SHAPES], cwd: REPO_ROOT });
    writeFileSync(path.join(dir, "shapes.binpb"), toBinary(FileDescriptorSetSchema, compiled.descriptorSet));
    const mock = await startMock(["--descriptor-set-in", "shapes.binpb", "--canonical-json", "--port", "0", "--host", "127.0.0.1", "--no-udp"], { cwd: dir });
    try {
      assert.equal(mock.ready.methods, 2);
      const { envelope } = await jsonCall(mock.port, "shapes.ShapeService.Describe", '{"x": 1}');
      const shape = envelope.resultObj as Record<string, unknown>;
      assert.equal(envelope.ret, 0);
      // lowerCamel names and enum names instead of proto names and numbers.
      assert.deepEqual(shape["pointsById"], { "1": { x: 1, y: 2 } });
      assert.equal(shape["color"], "RED");
      assert.deepEqual(shape["palette"], ["RED"]);
      assert.equal(shape["points_by_id"], undefined);
    } finally {
      await mock.stop("SIGKILL");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("-I resolves imports; two files with shared imports serve every service of both", async () => {
  const mock = await startMock(
    ["-I", "fixtures/shared", "fixtures/shared/billing/billing.proto", "fixtures/shared/catalog/catalog.proto", "--port", "0", "--host", "127.0.0.1", "--no-udp"],
  );
  try {
    assert.equal(mock.ready.methods, 2);
    assert.equal(mock.ready.service, "billing.Billing");
    const money = { currency: "currency", units: "2" };
    assert.deepEqual((await jsonCall(mock.port, "shop.billing.BillingService.Charge", "{}")).envelope, { ret: 0, errmsg: "", resultObj: { balance: money } });
    assert.deepEqual((await jsonCall(mock.port, "shop.catalog.CatalogService.Price", "{}")).envelope, { ret: 0, errmsg: "", resultObj: { price: money } });
  } finally {
    await mock.stop("SIGKILL");
  }
});

describe("msec-gen mock: shutdown", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} drains and exits 0`, async () => {
      const mock = await startMock([ECHO, "--port", "0", "--host", "127.0.0.1", "--no-udp"]);
      assert.equal(mock.ready.transports, "tcp");
      const { envelope } = await jsonCall(mock.port, "echo.EchoService.Echo", "{}");
      assert.equal(envelope.ret, 0);
      assert.equal(await mock.stop(signal), 0);
      assert.match(mock.stderr(), new RegExp(`msec-gen mock: ${signal}: draining\\n$`));
    });
  }

  test("a second signal during the drain exits 1 at once", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "msec-mock-stop-"));
    try {
      writeFileSync(path.join(dir, "stuck.yaml"), "echo.EchoService.Echo: {reply: {}, delay_ms: 600000}\n");
      const mock = await startMock([path.resolve(ECHO), "--port", "0", "--host", "127.0.0.1", "--responses", "stuck.yaml"], { cwd: dir });
      const stuck = jsonCall(mock.port, "echo.EchoService.Echo", "{}").catch((e: unknown) => e);
      // Wait until the call is running, so the drain has something to wait for.
      await untilInFlight(mock.port, 1);
      mock.child.kill("SIGTERM");
      await mock.untilStderr("msec-gen mock: SIGTERM: draining\n");
      assert.equal(await mock.stop("SIGINT"), 1);
      assert.match(mock.stderr(), /msec-gen mock: SIGINT again: exiting without waiting\n$/);
      assert.ok((await stuck) instanceof Error, "the stuck call's connection is gone");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
