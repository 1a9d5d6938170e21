import { after, before, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import type { Socket } from "node:net";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type MethodDefinition, type Server, SrpcError, attrReport, createServer } from "@msec-gen/runtime";
import { echoMethods } from "../../../examples/echo/echo-service.js";
import { loadVector } from "./vectors.js";
import { delay, dial, memoryLogger, readBytes, readUntilClosed } from "./net-helpers.js";

const execFileAsync = promisify(execFile);

interface HttpVector {
  responses: Array<{ name: string; body: string; content_length: number; response: string; response_length: number }>;
  requests: Array<{ name: string; request: string; msec: string; msec_gen: string }>;
}
const v8 = loadVector<HttpVector>("v8-http.json");
const response = (name: string) => v8.responses.find((r) => r.name === name)!.response;

const ECHO_OK = response("echo_success");
const INVALID = response("invalid_package");
const UNKNOWN = response("unknown_method");

/** The exact MSEC JSON response around an envelope body. */
function jsonHttp(body: string): string {
  return (
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Encoding: UTF-8\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

function post(target: string, body: string, headers = ""): string {
  return `POST ${target} HTTP/1.1\r\nHost: t\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function testMethods(): MethodDefinition[] {
  return [
    {
      name: "test.Svc.Throw",
      invoke() {
        throw new Error("json handler bug");
      },
    },
    {
      name: "test.Svc.Quote",
      invoke() {
        throw new SrpcError(-19, 'bad "quote"\n\\ \u0001');
      },
    },
    {
      name: "test.Svc.Tree",
      invoke(body, ctx) {
        assert.equal(body.format, "json");
        return {
          format: "json",
          json: {
            text: body.format === "json" ? body.text : "",
            caller: ctx.caller,
            nested: { list: [1, 2.5, true, null, "é/\t"], empty: {}, none: [] },
          },
        };
      },
    },
    {
      name: "test.Svc.Sleep",
      async invoke(body) {
        const ms = body.format === "json" ? (JSON.parse(body.text) as { ms: number }).ms : 0;
        await delay(ms);
        return { format: "json", json: { slept: ms } };
      },
    },
  ];
}

describe("HTTP/JSON on the SRPC port", () => {
  let server: Server;
  let port: number;
  const log = memoryLogger();
  const sockets: Socket[] = [];
  async function open(): Promise<Socket> {
    const s = await dial(port);
    sockets.push(s);
    return s;
  }
  async function exchange(request: string | Buffer, expectLength: number): Promise<string> {
    const s = await open();
    s.write(request);
    return (await readBytes(s, expectLength)).toString("utf8");
  }

  before(async () => {
    server = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: log.logger });
    for (const m of [...echoMethods(), ...testMethods()]) server.register(m);
    ({ port } = await server.listen());
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await server.close({ drainTimeoutMs: 1000 });
  });

  test("V8 response texts have the lengths the spec states", () => {
    assert.equal(Buffer.byteLength(UNKNOWN), 154);
    assert.equal(v8.responses.find((r) => r.name === "echo_success")!.content_length, 60);
    assert.equal(v8.responses.find((r) => r.name === "invalid_package")!.content_length, 39);
  });

  for (const req of v8.requests) {
    test(`V8 request "${req.name}" → ${req.msec_gen}, byte-exact`, async () => {
      const s = await open();
      s.write(req.request);
      if (req.msec_gen === "http_404") {
        const got = (await readBytes(s, 12)).toString("latin1");
        assert.match(got, /^HTTP\/1\.1 404 /);
        return;
      }
      const expected = response(req.msec_gen);
      const got = await readBytes(s, Buffer.byteLength(expected));
      assert.equal(got.toString("utf8"), expected);
    });
  }

  test("JSON with and without Content-Type: application/json", async () => {
    const body = '{"message":"aGVsbG8="}';
    const target = "/?methodName=echo.EchoService.Echo";
    assert.equal(await exchange(post(target, body), ECHO_OK.length), ECHO_OK);
    assert.equal(await exchange(post(target, body, "Content-Type: application/json\r\n"), ECHO_OK.length), ECHO_OK);
    assert.equal(await exchange(post(target, body, "content-type: application/json; charset=utf-8\r\n"), ECHO_OK.length), ECHO_OK);
  });

  test("a chunked body is the concatenation of its chunks", async () => {
    const req =
      "POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5\r\n{\"mes\r\n" + "a;ext=1\r\nsage\":\"aGV\r\n" + "7\r\nsbG8=\"}\r\n" + "0\r\nX-Trailer: 1\r\n\r\n";
    assert.equal(await exchange(req, ECHO_OK.length), ECHO_OK);
  });

  test("an empty body is the empty message", async () => {
    const expected = jsonHttp('{"ret":0, "errmsg":"", "resultObj": {}}');
    assert.equal(await exchange(post("/?methodName=echo.EchoService.Echo", ""), Buffer.byteLength(expected)), expected);
  });

  test("an unknown field and a non-base64 bytes value are -3 (invalid package)", async () => {
    assert.equal(await exchange(post("/?methodName=echo.EchoService.Echo", '{"nope":1}'), INVALID.length), INVALID);
    assert.equal(await exchange(post("/?methodName=echo.EchoService.Echo", '{"message":"h!"}'), INVALID.length), INVALID);
  });

  test("a handler exception is -18 in the envelope and logged", async () => {
    const expected = jsonHttp('{"ret":-18, "errmsg":"service implement failed" }');
    assert.equal(await exchange(post("/?methodName=test.Svc.Throw", "{}"), expected.length), expected);
    assert.ok(log.lines.some((l) => l.includes("json handler bug")));
  });

  test("errmsg is JSON-escaped; the result tree uses jansson separators; the caller header reaches the method", async () => {
    const quoted = '{"ret":-19, "errmsg":"bad \\"quote\\"\\n\\\\ \\u0001" }';
    assert.equal(await exchange(post("/?methodName=test.Svc.Quote", "{}"), jsonHttp(quoted).length), jsonHttp(quoted));
    assert.deepEqual(JSON.parse(quoted), { ret: -19, errmsg: 'bad "quote"\n\\ \u0001' });

    const tree =
      '{"ret":0, "errmsg":"", "resultObj": {"text": "{\\"a\\": 1}", "caller": "VOA.Main", ' +
      '"nested": {"list": [1, 2.5, true, null, "é/\\t"], "empty": {}, "none": []}}}';
    const expected = jsonHttp(tree);
    const got = await exchange(post("/?methodName=test.Svc.Tree", '{"a": 1}', "caller: VOA.Main\r\n"), Buffer.byteLength(expected));
    assert.equal(got, expected);
  });

  test("pipelined HTTP requests are answered in order, even when the first is slowest", async () => {
    const s = await open();
    const reqs = [150, 0, 60, 0].map((ms) => post("/?methodName=test.Svc.Sleep", JSON.stringify({ ms })));
    s.write(reqs.join(""));
    const bodies = [150, 0, 60, 0].map((ms) => `{"ret":0, "errmsg":"", "resultObj": {"slept": ${ms}}}`);
    const expected = bodies.map(jsonHttp).join("");
    assert.equal((await readBytes(s, expected.length)).toString("utf8"), expected);
  });

  test("GET /health is 200 ok; /metrics is Prometheus text with the server's counters and attrs", async () => {
    const health = await exchange("GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 80);
    assert.equal(health, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n".slice(0, health.length));
    attrReport("server test attr", 3);
    const s = await open();
    s.write("GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const text = (await readUntilClosed(s)).toString("utf8");
    assert.match(text, /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain; version=0\.0\.4; charset=utf-8\r\n/);
    const [head, body] = text.split("\r\n\r\n") as [string, string];
    assert.equal(Number(/Content-Length: (\d+)/.exec(head)![1]), Buffer.byteLength(body));
    assert.match(body, /^msec_server_requests_total\{method="echo\.EchoService\.Echo",transport="http",code="0"\} \d+$/m);
    assert.match(body, /^msec_server_requests_total\{method="\(unknown\)",transport="http",code="-6"\} \d+$/m);
    assert.match(body, /^msec_server_in_flight \d+$/m);
    assert.match(body, /^msec_server_connections \d+$/m);
    assert.match(body, /server test attr/);
  });

  test("other paths are 404, other methods 405, and the connection stays usable", async () => {
    const s = await open();
    s.write("GET /nope HTTP/1.1\r\nHost: t\r\n\r\nDELETE /x HTTP/1.1\r\nHost: t\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
    const text = (await readBytes(s, 300)).toString("latin1");
    assert.match(text, /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*HTTP\/1\.1 405 Method Not Allowed\r\n[\s\S]*Allow: GET, HEAD, POST\r\n[\s\S]*HTTP\/1\.1 200 OK\r\n[\s\S]*ok\n$/);
  });

  test("malformed HTTP is answered 400 and closes only that connection", async () => {
    const other = await open();
    const bad = await open();
    bad.write("BROKEN\r\n\r\n");
    const answer = (await readUntilClosed(bad)).toString("latin1");
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(answer, /Connection: close\r\n/);
    other.write(post("/?methodName=echo.EchoService.Echo", '{"message":"aGVsbG8="}'));
    assert.equal((await readBytes(other, ECHO_OK.length)).toString(), ECHO_OK);
  });

  test("headers beyond the header limit are 431 and close", async () => {
    const bad = await open();
    bad.write(`POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    assert.match((await readUntilClosed(bad)).toString("latin1"), /^HTTP\/1\.1 431 /);
  });

  test("a request delivered one byte at a time (chunked) is answered", async () => {
    const s = await open();
    const req =
      "POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "16\r\n{\"message\":\"aGVsbG8=\"}\r\n0\r\n\r\n";
    for (const ch of req) {
      s.write(ch);
      await delay(1);
    }
    assert.equal((await readBytes(s, ECHO_OK.length)).toString(), ECHO_OK);
  });

  test("a body over maxFrameBytes is 413 and closes, announced or chunked", async () => {
    const small = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: log.logger, maxFrameBytes: 64 });
    for (const m of echoMethods()) small.register(m);
    const { port: smallPort } = await small.listen();
    try {
      const a = await dial(smallPort);
      a.write("POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nContent-Length: 65\r\n\r\n");
      assert.match((await readUntilClosed(a)).toString("latin1"), /^HTTP\/1\.1 413 /);
      const b = await dial(smallPort);
      b.write("POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + "x".repeat(64) + "\r\n1\r\n");
      assert.match((await readUntilClosed(b)).toString("latin1"), /^HTTP\/1\.1 413 /);
    } finally {
      await small.close({ drainTimeoutMs: 100 });
    }
  });

  test("canonicalJson hands canonical ProtoJSON options to methods; the default is MSEC's", async () => {
    const seen: unknown[] = [];
    const probe: MethodDefinition = {
      name: "test.Svc.Options",
      invoke(_body, ctx) {
        seen.push(ctx.jsonWriteOptions);
        return { format: "json", json: {} };
      },
    };
    const canonical = createServer({ port: 0, host: "127.0.0.1", udp: false, logger: log.logger, canonicalJson: true });
    canonical.register(probe);
    const { port: canonicalPort } = await canonical.listen();
    try {
      const expected = jsonHttp('{"ret":0, "errmsg":"", "resultObj": {}}');
      const c = await dial(canonicalPort);
      c.write(post("/?methodName=test.Svc.Options", "{}"));
      assert.equal((await readBytes(c, expected.length)).toString(), expected);
      c.destroy();
    } finally {
      await canonical.close({ drainTimeoutMs: 100 });
    }
    assert.deepEqual(seen, [{}]);
    const ctxOptions: unknown[] = [];
    server.register({
      name: "test.Svc.Options2",
      invoke(_body, ctx) {
        ctxOptions.push(ctx.jsonWriteOptions, ctx.caller, ctx.format, ctx.deadline, ctx.coloring, typeof ctx.flowId);
        return { format: "json", json: null };
      },
    });
    const expected = jsonHttp('{"ret":0, "errmsg":"", "resultObj": null}');
    assert.equal(await exchange(post("/?methodName=test.Svc.Options2", "{}"), expected.length), expected);
    assert.deepEqual(ctxOptions, [{ useProtoFieldName: true, enumAsInteger: true }, "http.json", "json", Infinity, 0, "bigint"]);
  });

  test("Expect: 100-continue gets an interim 100 before the body is sent", async () => {
    const s = await open();
    const body = '{"message":"aGVsbG8="}';
    s.write(`POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`);
    const interim = "HTTP/1.1 100 Continue\r\n\r\n";
    assert.equal((await readBytes(s, interim.length)).toString(), interim);
    s.write(body);
    assert.equal((await readBytes(s, ECHO_OK.length)).toString(), ECHO_OK);
  });

  test("curl: JSON with Content-Type: application/json and a body large enough for Expect: 100-continue", async () => {
    const message = Buffer.alloc(1500, 0x41).toString("base64");
    const { stdout } = await execFileAsync("curl", [
      "-sS",
      "--max-time",
      "5",
      "-H",
      "Content-Type: application/json",
      "--data-binary",
      JSON.stringify({ message }),
      "-w",
      "\n%{http_code} %{content_type}",
      `http://127.0.0.1:${port}/anything?methodName=echo%2EEchoService%2EEcho`,
    ]);
    assert.equal(
      stdout,
      `{"ret":0, "errmsg":"", "resultObj": {"message": "${message}"}}\n200 application/json; charset=UTF-8`,
    );
  });

  test("Connection: close is honoured after the answer", async () => {
    const s = await open();
    s.write(post("/?methodName=echo.EchoService.Echo", '{"message":"aGVsbG8="}', "Connection: close\r\n"));
    assert.equal((await readUntilClosed(s)).toString(), ECHO_OK);
  });
});

describe("GET /openapi.json and HEAD", () => {
  const document = '{"openapi": "3.1.0"}\n';

  async function answers(options: { openapi?: string }, request: string): Promise<string> {
    const server = createServer({ port: 0, host: "127.0.0.1", udp: false, ...options });
    const { port } = await server.listen();
    try {
      const s = await dial(port);
      s.write(request);
      return (await readUntilClosed(s)).toString("latin1");
    } finally {
      await server.close({ drainTimeoutMs: 1000 });
    }
  }

  test("the openapi option is served at /openapi.json; HEAD answers the GET head without body", async () => {
    const text = await answers(
      { openapi: document },
      "HEAD /openapi.json HTTP/1.1\r\n\r\nHEAD /health HTTP/1.1\r\n\r\nHEAD /nope HTTP/1.1\r\n\r\nGET /openapi.json HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    const head = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 21\r\n\r\n";
    assert.equal(
      text,
      head +
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n" +
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\n" +
        head +
        document,
    );
  });

  test("without the option /openapi.json is 404", async () => {
    const text = await answers({}, "GET /openapi.json HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert.equal(text, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\nnot found\n");
  });
});
