/**
 * The echo server (examples/echo/echo-server.ts, `--lang ts` and `--lang python`)
 * serves its OpenAPI document at `GET /openapi.json`, answers `HEAD` on
 * /health, /metrics and /openapi.json with the GET head and no body, accepts
 * the request built from the document (path, `methodName`, `caller`, the
 * request example), and its real replies validate against the document's
 * response schema.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { freePort } from "../free-port.js";
import { assertValidOpenApi, type OpenApiDoc, schemaCompiler } from "./validate.js";

const TSX = path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs");
const DOCUMENT = readFileSync(path.join(REPO_ROOT, "examples/echo/openapi.json"), "utf8");

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, method: string, target: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: target, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Sends raw bytes, reads until `done(text)` holds or the server closes. */
function raw(port: number, bytes: string, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(bytes));
    let text = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no complete answer in 10 s; got ${JSON.stringify(text)}`));
    }, 10_000);
    s.on("data", (c: Buffer) => {
      text += c.toString("latin1");
      if (done(text)) {
        clearTimeout(timer);
        s.destroy();
        resolve(text);
      }
    });
    s.on("error", reject);
  });
}

async function startEcho(lang: "ts" | "python", dir: string): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const port = await freePort();
  const config = path.join(dir, `${lang}.ini`);
  writeFileSync(config, `[SRPC]\nlisten=127.0.0.1:${port}/tcp\n`);
  const child = spawn(process.execPath, ["--import", TSX, "examples/echo/echo-server.ts", "--lang", lang, "--config", config, "--port", String(port), "--no-udp"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`echo server (${lang}) exited ${child.exitCode}: ${out}`);
    try {
      if ((await request(port, "GET", "/health")).status === 200) return { child, port, output: () => out };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`echo server (${lang}) not ready in 30 s: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const lang of ["ts", "python"] as const) {
  describe(`echo server --lang ${lang}: /openapi.json`, () => {
    const dir = mkdtempSync(path.join(tmpdir(), `openapi-${lang}-`));
    let server: Awaited<ReturnType<typeof startEcho>>;
    before(async () => {
      server = await startEcho(lang, dir);
    });
    after(async () => {
      if (server !== undefined && server.child.exitCode === null) {
        const exited = new Promise((r) => server.child.once("exit", r));
        server.child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    test("GET /openapi.json is the document, valid OpenAPI 3.1 with an operation for echo.EchoService.Echo", async () => {
      const r = await request(server.port, "GET", "/openapi.json");
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(r.body, DOCUMENT);
      const doc = JSON.parse(r.body) as OpenApiDoc;
      await assertValidOpenApi(doc);
      assert.equal(doc.paths["/echo.EchoService.Echo"].post.operationId, "echo.EchoService.Echo");
    });

    test("HEAD /health, /metrics, /openapi.json answer 200 with the GET head and no body; HEAD /nope 404", async () => {
      const length = Buffer.byteLength(DOCUMENT);
      const text = await raw(
        server.port,
        "HEAD /health HTTP/1.1\r\nHost: t\r\n\r\nHEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\nHEAD /openapi.json HTTP/1.1\r\nHost: t\r\n\r\n" +
          "HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\nGET /health HTTP/1.1\r\nHost: t\r\n\r\n",
        (t) => t.endsWith("\r\n\r\nok\n"),
      );
      const heads = [
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: [1-9][0-9]*\r\n\r\n",
        `HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${length}\r\n\r\n`,
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n",
      ];
      assert.match(text, new RegExp(`^${heads.map((h) => h.replace(/[.;()]/g, "\\$&")).join("")}$`));
    });

    test("a request built from the document is accepted, and the real replies validate against its response schema", async () => {
      const doc = JSON.parse(DOCUMENT) as OpenApiDoc;
      const compile = schemaCompiler(doc);
      const [pathKey, item] = Object.entries(doc.paths)[0]!;
      const op = item.post;
      const methodName = op.parameters.find((p: any) => p.name === "methodName" && p.in === "query").schema.const as string;
      const media = op.requestBody.content["application/json"];
      const validateRequest = compile(media.schema);
      assert.equal(validateRequest(media.example), true, JSON.stringify(validateRequest.errors));
      const validateReply = compile(op.responses["200"].content["application/json"].schema);
      const target = `${pathKey}?methodName=${encodeURIComponent(methodName)}`;

      const ok = await request(server.port, "POST", target, JSON.stringify(media.example), { "content-type": "application/json", caller: "openapi.test" });
      assert.equal(ok.status, 200);
      const envelope = JSON.parse(ok.body);
      assert.deepEqual(envelope, { ret: 0, errmsg: "", resultObj: media.example });
      assert.equal(validateReply(envelope), true, JSON.stringify(validateReply.errors));

      // A body the request schema refuses is refused by the server too, with an envelope the schema describes.
      const badBody = { message: "aGVsbG8=", nope: 1 };
      assert.equal(validateRequest(badBody), false);
      const bad = await request(server.port, "POST", target, JSON.stringify(badBody));
      const failed = JSON.parse(bad.body);
      assert.equal(failed.ret, -3);
      assert.equal(validateReply(failed), true, JSON.stringify(validateReply.errors));
      // The empty message: the schema and the server both accept it, and the reply has no fields.
      const empty = JSON.parse((await request(server.port, "POST", target, "")).body);
      assert.deepEqual(empty, { ret: 0, errmsg: "", resultObj: {} });
      assert.equal(validateReply(empty), true);
    });
  });
}
