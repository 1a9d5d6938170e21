/**
 * `GET /explorer` (docs/explorer.md): the installed package's
 * `assets/explorer.html`, served with or without an OpenAPI document; `HEAD`
 * answers the GET head without body; other paths under it are 404.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, test } from "node:test";
import { createServer } from "@msec-gen/runtime";
import { dial, readUntilClosed } from "./net-helpers.js";

/** The page as the package ships it (resolved like any importer would). */
const PAGE = readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve("@msec-gen/runtime/package.json")), "assets/explorer.html"));

async function answers(options: { openapi?: string }, request: string): Promise<Buffer> {
  const server = createServer({ port: 0, host: "127.0.0.1", udp: false, ...options });
  const { port } = await server.listen();
  try {
    const s = await dial(port);
    s.write(request);
    return await readUntilClosed(s);
  } finally {
    await server.close({ drainTimeoutMs: 1000 });
  }
}

describe("GET /explorer and HEAD", () => {
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\nContent-Length: ${PAGE.length}\r\n\r\n`;

  test("serves the package's assets/explorer.html; HEAD answers the GET head without body", async () => {
    const text = await answers({ openapi: '{"openapi": "3.1.0"}\n' }, "HEAD /explorer HTTP/1.1\r\n\r\nGET /explorer HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert.ok(text.equals(Buffer.concat([Buffer.from(head + head, "latin1"), PAGE])));
  });

  test("is served without an OpenAPI document too (the page then shows how to add one)", async () => {
    const text = await answers({}, "GET /explorer HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert.ok(text.equals(Buffer.concat([Buffer.from(head, "latin1"), PAGE])));
    assert.ok(PAGE.includes("No OpenAPI document on this server"));
  });

  test("other paths under /explorer are 404", async () => {
    const text = await answers({}, "GET /explorer/app.js HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert.equal(text.toString("latin1"), "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\nnot found\n");
  });
});
