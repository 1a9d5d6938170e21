/**
 * The API explorer (`GET /explorer`, docs/explorer.md) in headless Chromium
 * against real servers: the echo server (`npm run echo-server`, TS and
 * Python) and the shop test server (test/browser/explorer.proto, with
 * explorer-server.ts and explorer_server.py). The page lists the methods from
 * `/openapi.json`, builds forms, sends JSON calls and shows the envelope, the
 * SRPC code and its meaning, the HTTP status and the latency; the shop server
 * answers with the body it received, so the tests assert the exact JSON the
 * page sent. Without a document the page shows how to give the server one.
 * Screenshots go to test-artifacts/explorer/.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { type OpenApiDoc, schemaCompiler } from "../openapi/validate.js";
import { launchChromium } from "./chromium.js";
import { type RunningServer, openExplorer, request, screenshot, sendAndRead, startEcho, startShop, textOf } from "./explorer-helpers.js";

/** A form control as seen from the test (the tests' types have no DOM library). */
type Valued = { value: string };

const PAGE = readFileSync(path.join(REPO_ROOT, "runtimes/ts/assets/explorer.html"));
const LANGS = ["ts", "python"] as const;
const T = { timeout: 120_000 };

let browser: Browser;
const work = mkdtempSync(path.join(tmpdir(), "explorer-"));
/** The shop service's OpenAPI document, written by the CLI (`msec-gen openapi`). */
const shopDoc = path.join(work, "shop.openapi.json");

before(async () => {
  execFileSync(process.execPath, [path.join(REPO_ROOT, "dist/cli/main.js"), "openapi", "test/browser/explorer.proto", "--name", "shop.OrderService", "-o", shopDoc], { cwd: REPO_ROOT });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A new tab whose page errors fail the test. */
async function newPage(errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  page.on("pageerror", (e) => errors.push(e instanceof Error ? `${e.stack ?? e}` : String(e)));
  return page;
}

for (const lang of LANGS) {
  describe(`echo server --lang ${lang}: /explorer`, () => {
    let server: RunningServer;
    let page: Page;
    const errors: string[] = [];
    before(async () => {
      server = await startEcho(lang);
      page = await newPage(errors);
    });
    after(async () => {
      await page?.close();
      await server?.stop();
    });

    test("GET /explorer is the one explorer page (text/html); HEAD gives the same head and no body", T, async () => {
      const get = await request(server.port, "GET", "/explorer");
      assert.equal(get.status, 200);
      assert.equal(get.headers["content-type"], "text/html; charset=utf-8");
      assert.ok(get.body.equals(PAGE), "the served bytes are runtimes/ts/assets/explorer.html");
      const head = await request(server.port, "HEAD", "/explorer");
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(head.headers["content-length"], String(PAGE.length));
      assert.equal(head.body.length, 0);
      assert.equal((await request(server.port, "GET", "/explorer/nope")).status, 404);
    });

    test("lists echo.EchoService.Echo with its .proto comment; the form sends the text and shows ret 0 and the echo", T, async () => {
      await openExplorer(page, server);
      assert.equal(await textOf(page, "nav h2"), "echo.EchoService");
      assert.deepEqual(await page.$$eval("nav button", (bs) => bs.map((b) => b.dataset.method)), ["echo.EchoService.Echo"]);
      assert.equal(await textOf(page, "#method-name"), "echo.EchoService.Echo");
      assert.equal(await textOf(page, "main .description"), "Answers with the request's message, unchanged.");
      await page.type('[data-path="message"]', "hello explorer");
      assert.deepEqual(JSON.parse(await textOf(page, "#request-preview")), { message: "aGVsbG8gZXhwbG9yZXI=" });
      const shown = await sendAndRead(page);
      assert.equal(shown.status, "200 OK");
      assert.equal(shown.ret, "0");
      assert.equal(shown.meaning, "(success)");
      assert.match(shown.latency, /^\d+\.\d ms$/);
      assert.deepEqual(JSON.parse(shown.envelope), { ret: 0, errmsg: "", resultObj: { message: "aGVsbG8gZXhwbG9yZXI=" } });
      assert.equal(shown.bytesText, 'bytes as textresultObj.message = "hello explorer"');
      await screenshot(page, `echo-${lang}`);
    });

    test("raw JSON mode sends the text as typed: invalid base64 is ret -3 with its meaning", T, async () => {
      await page.click("#raw-toggle");
      assert.equal(await page.$eval("#raw-json", (el) => (el as unknown as Valued).value), '{\n  "message": "aGVsbG8gZXhwbG9yZXI="\n}');
      await page.$eval("#raw-json", (el) => ((el as unknown as Valued).value = ""));
      await page.type("#raw-json", '{"message": "not base64!"}');
      const shown = await sendAndRead(page);
      assert.equal(shown.status, "200 OK");
      assert.equal(shown.ret, "-3");
      assert.equal(shown.meaning, "(invalid package)");
      assert.equal(shown.errmsg, "errmsg: invalid package");
      assert.deepEqual(JSON.parse(shown.envelope), { ret: -3, errmsg: "invalid package" });
      assert.deepEqual(errors, []);
    });
  });
}

/** The order the form below builds, in the schema's field order (what `JSON.stringify` of the form gives). */
const ORDER = {
  customer: "Ada",
  id: "9007199254740993",
  gift: true,
  speed: "EXPRESS",
  ship_to: { street: "1 Main St", city: "Springfield" },
  lines: [
    { sku: "A-1", quantity: 2 },
    { sku: "B-2", quantity: 1 },
  ],
  tags: ["red", "blue"],
  notes: { wrap: "gold paper" },
  voucher: { code: "GIFT", cents: 500 },
  discount: 2.5,
  memo: "aGk=",
};

/** Fills the Place form with ORDER, using every kind of control. */
async function fillOrder(page: Page): Promise<void> {
  await page.type('[data-path="customer"]', "Ada");
  await page.type('[data-path="id"]', "9007199254740993");
  await page.select('[data-path="gift"]', "true");
  await page.select('[data-path="speed"]', "EXPRESS");
  await page.click('[data-set="ship_to"]');
  await page.type('[data-path="ship_to.street"]', "1 Main St");
  await page.type('[data-path="ship_to.city"]', "Springfield");
  await page.click('[data-add="lines"]');
  await page.click('[data-add="lines"]');
  await page.type('[data-path="lines.0.sku"]', "A-1");
  await page.type('[data-path="lines.0.quantity"]', "2");
  await page.type('[data-path="lines.1.sku"]', "B-2");
  await page.type('[data-path="lines.1.quantity"]', "1");
  // Three tags, the middle one removed again.
  for (let i = 0; i < 3; i++) await page.click('[data-add="tags"]');
  await page.type('[data-path="tags.0"]', "red");
  await page.type('[data-path="tags.1"]', "green");
  await page.type('[data-path="tags.2"]', "blue");
  await page.$$eval('[data-remove="tags"]', (bs) => (bs[1] as unknown as { click(): void }).click());
  await page.click('[data-add="notes"]');
  await page.type('[data-path="notes.0.key"]', "wrap");
  await page.type('[data-path="notes.0.value"]', "gold paper");
  await page.select('[data-oneof="payment"]', "voucher");
  await page.type('[data-path="voucher.code"]', "GIFT");
  await page.type('[data-path="voucher.cents"]', "500");
  await page.type('[data-path="discount"]', "2.5");
  await page.type('[data-path="memo"]', "hi");
}

for (const lang of LANGS) {
  describe(`shop server (${lang}): forms for nested, repeated, map, enum and oneof fields`, () => {
    let server: RunningServer;
    let page: Page;
    const errors: string[] = [];
    before(async () => {
      server = await startShop(lang, shopDoc);
      page = await newPage(errors);
    });
    after(async () => {
      await page?.close();
      await server?.stop();
    });

    test("lists both methods under the service with the .proto comments", T, async () => {
      await openExplorer(page, server);
      assert.equal(await textOf(page, "#title"), "API explorer · shop.OrderService");
      assert.equal(await textOf(page, "nav h2"), "shop.OrderService");
      assert.equal(await textOf(page, "nav p"), "Takes orders (the explorer's test service).");
      assert.deepEqual(await page.$$eval("nav button", (bs) => bs.map((b) => [b.dataset.method, b.querySelector("small")?.textContent])), [
        ["shop.OrderService.Place", "Places an order; the receipt carries the JSON the server received."],
        ["shop.OrderService.Cancel", "Always fails with -18 (service implement failed)."],
      ]);
      // Field comments and enum values are shown beside the controls.
      const help = await page.$$eval(".field .help", (els) => els.map((e) => e.textContent));
      assert.ok(help.includes("Who orders."), JSON.stringify(help));
      assert.equal(await page.$$eval('[data-oneof="payment"]', (els) => els.length), 1, "the oneof is drawn once");
      assert.deepEqual(await page.$$eval('[data-oneof="payment"] option', (os) => os.map((o) => (o as unknown as Valued).value)), ["", "card", "voucher"]);
      assert.equal(await page.$eval("#main", (el) => [...el.childNodes].filter((n) => n.nodeType === 3 /* text */).length), 0, "no stray text");
      assert.deepEqual(await page.$$eval('[data-path="speed"] option', (os) => os.map((o) => (o as unknown as Valued).value)), ["", "SPEED_UNSPECIFIED", "STANDARD", "EXPRESS"]);
    });

    test("the filled form is sent as exactly the JSON expected (what the server received), valid against the document", T, async () => {
      await fillOrder(page);
      await page.$eval("#caller", (el) => ((el as unknown as Valued).value = "explorer-test"));
      assert.deepEqual(JSON.parse(await textOf(page, "#request-preview")), ORDER);
      const shown = await sendAndRead(page);
      assert.equal(shown.status, "200 OK");
      assert.equal(shown.ret, "0");
      const envelope = JSON.parse(shown.envelope) as { ret: number; errmsg: string; resultObj: { id: string; received: string; caller: string } };
      assert.equal(envelope.ret, 0);
      assert.equal(envelope.resultObj.received, JSON.stringify(ORDER), "the server received exactly this body");
      assert.equal(envelope.resultObj.id, "9007199254740993", "the 64-bit id travels as a string, all digits kept");
      assert.equal(envelope.resultObj.caller, "explorer-test");
      const doc = JSON.parse(readFileSync(shopDoc, "utf8")) as OpenApiDoc;
      const validate = schemaCompiler(doc)({ $ref: "#/components/schemas/shop.Order" });
      assert.equal(validate(ORDER), true, JSON.stringify(validate.errors));
      await screenshot(page, `shop-${lang}`);
    });

    test("raw JSON mode sends the typed text byte for byte; the example button inserts the document's example", T, async () => {
      await page.click("#raw-toggle");
      await page.$eval("#raw-json", (el) => ((el as unknown as Valued).value = ""));
      const typed = '{"customer":"raw","speed":2,  "id":7, "notes":{"é":"ü"}}';
      await page.type("#raw-json", typed);
      let shown = await sendAndRead(page);
      assert.equal(shown.ret, "0");
      assert.equal((JSON.parse(shown.envelope) as { resultObj: { received: string } }).resultObj.received, typed);
      await page.click("#insert-example");
      shown = await sendAndRead(page);
      assert.equal(shown.ret, "0");
      const doc = JSON.parse(readFileSync(shopDoc, "utf8")) as OpenApiDoc;
      const example = doc.paths["/shop.OrderService.Place"].post.requestBody.content["application/json"].example;
      assert.equal((JSON.parse(shown.envelope) as { resultObj: { received: string } }).resultObj.received, JSON.stringify(example, null, 2));
    });

    test("a failing method shows its negative code and meaning", T, async () => {
      await page.click('nav button[data-method="shop.OrderService.Cancel"]');
      assert.equal(await textOf(page, "#method-name"), "shop.OrderService.Cancel");
      const shown = await sendAndRead(page);
      assert.equal(shown.status, "200 OK");
      assert.equal(shown.ret, "-18");
      assert.equal(shown.meaning, "(service implement failed)");
      assert.deepEqual(JSON.parse(shown.envelope), { ret: -18, errmsg: "service implement failed" });
      assert.deepEqual(errors, []);
    });
  });

  describe(`shop server (${lang}) without an OpenAPI document`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startShop(lang);
    });
    after(async () => {
      await server?.stop();
    });

    test("/explorer is served and says there is no document and how to give the server one", T, async () => {
      assert.equal((await request(server.port, "GET", "/openapi.json")).status, 404);
      const errors: string[] = [];
      const page = await newPage(errors);
      try {
        await openExplorer(page, server);
        const hint = await textOf(page, "#no-openapi");
        assert.match(hint, /^No OpenAPI document on this server/);
        assert.match(hint, /GET \/openapi\.json answered 404/);
        assert.match(hint, /msec-gen openapi X\.proto -o openapi\.json/);
        assert.match(hint, /createServer\(\{ openapi: text \}\)/);
        assert.match(hint, /ServerOptions\(openapi=text\)/);
        assert.equal(await page.$$eval("nav button", (bs) => bs.length), 0);
        assert.deepEqual(errors, []);
        await screenshot(page, `no-openapi-${lang}`);
      } finally {
        await page.close();
      }
    });
  });
}

describe("modern_proto3 document (well-known types, recursive map values, two services) on a server without those methods", () => {
  let server: RunningServer;
  let page: Page;
  const errors: string[] = [];
  const modernDoc = path.join(work, "modern.openapi.json");
  before(async () => {
    execFileSync(process.execPath, [path.join(REPO_ROOT, "dist/cli/main.js"), "openapi", "fixtures/edge/modern_proto3.proto", "-o", modernDoc], { cwd: REPO_ROOT });
    server = await startShop("ts", modernDoc);
    page = await newPage(errors);
  });
  after(async () => {
    await page?.close();
    await server?.stop();
  });

  test("Struct and Any are JSON boxes, Timestamp and wrappers scalar boxes, map values nested forms; the call answers -6", T, async () => {
    await openExplorer(page, server);
    assert.deepEqual(await page.$$eval("nav h2", (hs) => hs.map((h) => h.textContent)), ["modern.v1.EventService", "modern.v1.AdminService"]);
    assert.equal(await textOf(page, "nav p"), "Block comment on the service.");
    assert.equal(await textOf(page, "#method-name"), "modern.v1.EventService.Put");
    const tag = (selector: string) => page.$eval(selector, (el) => `${el.tagName.toLowerCase()}:${el.getAttribute("type") ?? ""}`);
    assert.equal(await tag('[data-path="at"]'), "input:text");
    assert.equal(await tag('[data-path="ttl"]'), "input:text");
    assert.equal(await tag('[data-path="note"]'), "input:text");
    assert.equal(await tag('[data-path="extra"]'), "textarea:");
    assert.equal(await tag('[data-path="priority"]'), "input:number");
    await page.type('[data-path="id"]', "e1");
    await page.type('[data-path="priority"]', "3");
    await page.click('[data-add="children"]');
    await page.type('[data-path="children.0.key"]', "7");
    await page.type('[data-path="children.0.value.id"]', "child");
    await page.select('[data-oneof="payload"]', "doc");
    assert.equal(await tag('[data-path="doc"]'), "textarea:");
    await page.type('[data-path="doc"]', '{"a": [1, true]}');
    await page.type('[data-path="at"]', "2026-12-04T10:00:00Z");
    await page.type('[data-path="extra"]', '{"@type": "type.googleapis.com/google.protobuf.Empty"}');
    await page.type('[data-path="note"]', "n");
    await page.click('[data-add="counters"]');
    await page.type('[data-path="counters.0"]', "18446744073709551615");
    await page.select('[data-path="kind"]', "KIND_ALERT");
    assert.equal(
      await textOf(page, "#request-preview"),
      JSON.stringify(
        {
          id: "e1",
          priority: 3,
          children: { "7": { id: "child" } },
          doc: { a: [1, true] },
          at: "2026-12-04T10:00:00Z",
          extra: { "@type": "type.googleapis.com/google.protobuf.Empty" },
          note: "n",
          counters: ["18446744073709551615"],
          kind: "KIND_ALERT",
        },
        null,
        2,
      ),
    );
    const shown = await sendAndRead(page);
    assert.equal(shown.status, "200 OK");
    assert.equal(shown.ret, "-6");
    assert.equal(shown.meaning, "(invalid method name)");
  });

  test("a JSON box holding bad JSON names the field and sends nothing; an empty request message has no fields", T, async () => {
    await page.$eval('[data-path="doc"]', (el) => ((el as unknown as Valued).value = ""));
    await page.type('[data-path="doc"]', "{nope");
    assert.match(await textOf(page, "#form-error"), /^doc: not JSON/);
    await page.click("#send");
    assert.equal(await page.$eval("#result", (el) => el.hasAttribute("hidden")), true, "no call was sent");
    assert.match(await textOf(page, "#form-error"), /^doc: not JSON/);
    await page.click('nav button[data-method="modern.v1.EventService.Latest"]');
    assert.equal(await textOf(page, "#request-form"), "no fields");
    assert.equal(await textOf(page, "#request-preview"), "{}");
    assert.deepEqual(errors, []);
  });
});
