/// <reference lib="dom" />
/**
 * The console page driven in headless Chromium as a user drives it, against a
 * real console process, a real etcd and a real registered server:
 * upload Crawl.proto, generate a ts + python caller and compare the
 * downloaded file with the CLI's bytes; a broken .proto shows its
 * file:line:col with the line marked in the editor; in the services view,
 * add a heterogeneous instance, scale it out and in, change its weight
 * (each confirmed in the dialog, one cancelled) and check `msec-gen routes
 * list` after each step. Screenshots go to out/console-screenshots/
 * (git-ignored; docs/images/console-*.png are copies).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, CDPSession, Page } from "puppeteer-core";
import { type ConsoleProcess, REPO, removeDir, runBuiltCli, startConsoleProcess, testDir } from "../console/console-process.js";
import { type EtcdCluster, freePort, startEtcd } from "../etcd/etcd-process.js";
import { exited, startEchoServer } from "../etcd/registered-echo.js";
import { launchChromium } from "./chromium.js";

const PREFIX = "/browser";
export const SCREENSHOTS = path.join(REPO, "out/console-screenshots");
const CRAWL = path.join(REPO, "fixtures/voa/Crawl.proto");
const BROKEN = 'syntax = "proto3";\npackage broken;\n\nmessage Req {\n  string name = 1\n}\n\nservice BrokenService {\n  rpc Get(Req) returns (Req);\n}\n';

describe("msec-gen console in Chromium", () => {
  let etcd: EtcdCluster;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let consoleProc: ConsoleProcess;
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  let downloads: string;
  let work: string;

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    downloads = testDir("console-downloads-");
    work = testDir("console-browser-");
    etcd = await startEtcd(1);
    echo = await startEchoServer(etcd.endpoints, PREFIX, 10);
    consoleProc = await startConsoleProcess(["--etcd", etcd.endpoints.join(","), "--prefix", PREFIX]);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1360, height: 820 });
    cdp = await browser.target().createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads, eventsEnabled: true });
    await page.goto(consoleProc.base, { waitUntil: "load" });
    await page.waitForSelector('body[data-ready="true"]');
  });
  after(async () => {
    await browser?.close();
    await consoleProc?.stop();
    if (echo) {
      echo.child.kill("SIGTERM");
      await exited(echo.child);
    }
    await etcd?.stop();
    removeDir(downloads);
    removeDir(work);
  });

  /** Resolves with the file name of the next download once Chromium has written it. */
  const nextDownload = () =>
    new Promise<string>((resolve, reject) => {
      let guid: string | undefined;
      let name = "";
      const begin = (e: { guid: string; suggestedFilename: string }) => {
        guid = e.guid;
        name = e.suggestedFilename;
      };
      const progress = (e: { guid: string; state: string }) => {
        if (e.guid !== guid) return;
        if (e.state === "completed") {
          cdp.off("Browser.downloadWillBegin", begin);
          cdp.off("Browser.downloadProgress", progress);
          resolve(name);
        } else if (e.state === "canceled") reject(new Error(`download ${name} canceled`));
      };
      cdp.on("Browser.downloadWillBegin", begin);
      cdp.on("Browser.downloadProgress", progress);
    });

  /** `msec-gen routes list` with the column padding collapsed to one space. */
  const routesList = async () => {
    const r = await runBuiltCli(["routes", "list", "--etcd", etcd.endpoints.join(","), "--prefix", PREFIX]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.replace(/ +/g, " ");
  };

  test("upload Crawl.proto, generate a ts + python caller: the download is the CLI's .tgz", async () => {
    const input = await page.$("input#file-input");
    await input!.uploadFile(CRAWL);
    await page.waitForSelector('#files li[data-file="Crawl.proto"].current');
    assert.equal(await page.$eval("#source", (t) => (t as HTMLTextAreaElement).value), readFileSync(CRAWL, "utf8"));
    await page.type("#name", "VOA.Crawl");
    assert.equal(await page.$eval('#langs input[value="ts"]', (i) => (i as HTMLInputElement).checked), true);
    await page.click('#langs input[value="python"]');
    await page.screenshot({ path: path.join(SCREENSHOTS, "console-generate.png") });

    const downloaded = nextDownload();
    await page.click("#generate-button");
    const name = await downloaded;
    assert.equal(name, "VOA.Crawl-caller.tgz");
    const out = path.join(work, "cli");
    const cli = await runBuiltCli(["caller", CRAWL, "--name", "VOA.Crawl", "--lang", "ts,python", "-o", out, "-q"]);
    assert.equal(cli.code, 0, cli.stderr);
    const expected = readFileSync(path.join(out, "VOA.Crawl-caller.tgz"));
    const got = readFileSync(path.join(downloads, name));
    assert.ok(got.equals(expected), `downloaded ${got.length} bytes, CLI ${expected.length} bytes`);
    await page.waitForFunction(() => document.getElementById("generate-status")!.textContent!.startsWith("Downloaded VOA.Crawl-caller.tgz"));
  });

  test("a broken .proto: the error names file:line:col and the line is marked in the editor", async () => {
    const file = path.join(work, "Broken.proto");
    writeFileSync(file, BROKEN);
    await (await page.$("input#file-input"))!.uploadFile(file);
    await page.waitForSelector('#files li[data-file="Broken.proto"].current');
    // Crawl.proto stays uploaded; both are compiled, the error is Broken.proto's
    await page.click("#generate-button");
    await page.waitForSelector("#error:not([hidden])");
    const error = await page.$eval("#error", (e) => e.textContent);
    assert.match(error!, /^Broken\.proto:6:1: \S/);
    assert.equal(await page.$eval("#editor-name", (e) => e.textContent), "Broken.proto");
    assert.deepEqual(await page.$$eval("#gutter .line.error", (lines) => lines.map((l) => l.textContent)), ["6"]);
    const marks = await page.evaluate(() => {
      const source = document.getElementById("source") as HTMLTextAreaElement;
      const highlight = document.getElementById("highlight")!;
      const style = getComputedStyle(source);
      return {
        hidden: highlight.hidden,
        top: highlight.offsetTop,
        expected: parseFloat(style.paddingTop) + 5 * parseFloat(style.lineHeight) - source.scrollTop,
        selected: source.value.slice(source.selectionStart, source.selectionEnd),
      };
    });
    assert.equal(marks.hidden, false);
    assert.equal(marks.top, Math.round(marks.expected));
    assert.equal(marks.selected, "}", "the caret selects the error line from its column");
    await page.screenshot({ path: path.join(SCREENSHOTS, "console-error.png") });
    // fixing the line clears the mark
    await page.click("#source");
    await page.evaluate(() => {
      const source = document.getElementById("source") as HTMLTextAreaElement;
      source.value = source.value.replace("string name = 1\n", "string name = 1;\n");
      source.dispatchEvent(new Event("input"));
    });
    assert.deepEqual(await page.$$eval("#gutter .line.error", (lines) => lines.length), 0);
    assert.equal(await page.$eval("#highlight", (h) => (h as HTMLElement).hidden), true);
  });

  test("drop a file on the box, write one with New; remove them again", async () => {
    const text = readFileSync(CRAWL, "utf8");
    // a drop event carrying a File, as Chromium delivers one dragged from the desktop
    await page.evaluate((content) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([content], "Dropped.proto"));
      document.getElementById("drop")!.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, text);
    await page.waitForSelector('#files li[data-file="Dropped.proto"].current');
    assert.equal(await page.$eval("#source", (t) => (t as HTMLTextAreaElement).value), text);

    await page.type("#new-file-name", "Pasted");
    await page.click("#new-file-form button[type=submit]");
    await page.waitForSelector('#files li[data-file="Pasted.proto"].current');
    await page.type("#source", 'syntax = "proto3";\npackage pasted;\nmessage M { int32 a = 1; }\n');
    assert.equal(await page.$eval("#gutter", (g) => g.children.length), 4);
    assert.deepEqual(await page.$$eval("#files li", (items) => items.map((i) => (i as HTMLElement).dataset.file)), ["Crawl.proto", "Broken.proto", "Dropped.proto", "Pasted.proto"]);

    for (const name of ["Dropped.proto", "Pasted.proto"]) await page.click(`#files li[data-file="${name}"] .remove`);
    assert.deepEqual(await page.$$eval("#files li", (items) => items.map((i) => (i as HTMLElement).dataset.file)), ["Crawl.proto", "Broken.proto"]);
  });

  test("options: only the chosen languages' flags are offered; a server with --version and --npm-name equals the CLI's", async () => {
    await page.click('#files li[data-file="Broken.proto"] .remove');
    const optionNames = () => page.$$eval("#options input", (inputs) => inputs.map((i) => (i as HTMLInputElement).name));
    assert.ok((await optionNames()).includes("python-dist"), "python is chosen: its options show");
    assert.ok(!(await optionNames()).includes("go-module"));
    await page.click('#langs input[value="go"]');
    assert.ok((await optionNames()).includes("go-module"));

    await page.click('input[name="kind"][value="server"]');
    assert.deepEqual(await page.$$eval("#langs input", (inputs) => inputs.map((i) => [(i as HTMLInputElement).type, (i as HTMLInputElement).value])), [
      ["radio", "ts"],
      ["radio", "python"],
    ]);
    await page.click('#langs input[value="ts"]');
    assert.ok(!(await optionNames()).includes("go-module"), "a server has no go options");
    await page.click("#options-box summary");
    await page.type('#options input[name="version"]', "1.2.3");
    await page.type('#options input[name="npm-name"]', "crawl-server");
    const downloaded = nextDownload();
    await page.click("#generate-button");
    const name = await downloaded;
    assert.equal(name, "VOA.Crawl-server-ts.tgz");
    const out = path.join(work, "cli-server");
    const cli = await runBuiltCli(["server", CRAWL, "--name", "VOA.Crawl", "--lang", "ts", "--version", "1.2.3", "--npm-name", "crawl-server", "-o", out, "-q"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(readFileSync(path.join(downloads, name)).equals(readFileSync(path.join(out, name))));
    await page.click('input[name="kind"][value="caller"]');
  });

  test("services: add a heterogeneous instance, scale out, change its weight, scale in; routes list agrees each time", async () => {
    const echoName = echo.key.split("/")[3]!;
    const echoLine = `${echoName} 127.0.0.1:${echo.port} weight=100\n`;
    /** The list with the echo server's line and a MySQL line, sorted by service as the CLI sorts. */
    const withMysql = (weight: number) => [echoLine, `VOA.MySQL ${mysql} weight=${weight}\n`].sort().join("");
    const mysql = `127.0.0.1:${await freePort()}`;
    const row = (enabled?: boolean) => `article[data-service="VOA.MySQL"] tr[data-address="${mysql}"]${enabled === undefined ? "" : `[data-enabled="${enabled}"]`}`;
    const confirm = async (expected: RegExp, button: "#confirm-ok" | "#confirm-cancel" = "#confirm-ok", screenshot?: string) => {
      await page.waitForSelector("#confirm[open]");
      assert.match((await page.$eval("#confirm-text", (e) => e.textContent))!, expected);
      if (screenshot !== undefined) await page.screenshot({ path: path.join(SCREENSHOTS, screenshot) });
      await page.click(button);
    };

    await page.click('.tab[data-tab="services"]');
    await page.waitForSelector(`article[data-service="${echoName}"]`);
    assert.equal(await routesList(), echoLine);

    await page.type("#add-service", "VOA.MySQL");
    await page.type("#add-address", mysql);
    await page.click("#add-form button[type=submit]");
    await confirm(new RegExp(`^Add ${mysql} to VOA\\.MySQL with weight 100\\? It stays disabled`));
    await page.waitForSelector(row(false));
    assert.equal(await page.$eval(`${row()} .state`, (e) => e.textContent), "disabled");
    assert.equal(await routesList(), echoLine, "a new instance is disabled: not a route");

    // cancelling changes nothing
    await page.click(`${row()} .scale-out`);
    await confirm(/^Scale out: enable/, "#confirm-cancel");
    assert.equal(await routesList(), echoLine);
    assert.notEqual(await page.$(row(false)), null);

    await page.click(`${row()} .scale-out`);
    await confirm(new RegExp(`^Scale out: enable ${mysql} in VOA\\.MySQL\\?`), "#confirm-ok", "console-confirm.png");
    await page.waitForSelector(row(true));
    assert.equal(await routesList(), withMysql(100));

    await page.$eval(`${row()} input.weight`, (i) => ((i as HTMLInputElement).value = ""));
    await page.type(`${row()} input.weight`, "250");
    await page.click(`${row()} .set-weight`);
    await confirm(new RegExp(`^Change the weight of ${mysql} in VOA\\.MySQL from 100 to 250\\?`));
    await page.waitForSelector(`${row(true)}[data-weight="250"]`);
    assert.equal(await routesList(), withMysql(250));

    // three calls to the echo server, one of them failing (its bytes field is not base64), then a refresh
    for (const message of ["aGk=", "b2s=", "not base64!"]) {
      const res = await fetch(`http://127.0.0.1:${echo.port}/?methodName=echo.EchoService.Echo`, { method: "POST", body: JSON.stringify({ message }) });
      await res.text();
    }
    // a second MySQL instance, added through the API as a script would, stays disabled
    const spare = await fetch(`${consoleProc.base}/api/routes/VOA.MySQL/${encodeURIComponent(`127.0.0.2:${mysql.split(":")[1]}`)}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ weight: 100, enabled: false }),
    });
    assert.equal(spare.status, 200);
    const probedBefore = await page.$eval("#service-list", (list) => (list as HTMLElement).dataset.probed);
    await page.click("#refresh");
    // the probes of this refresh have all answered (each refresh numbers its round; only the last one marks the list)
    await page.waitForFunction((previous) => {
      const probed = document.getElementById("service-list")!.dataset.probed;
      return probed !== undefined && probed !== previous;
    }, {}, probedBefore);
    // the echo server is healthy with its counts, the MySQL port refuses
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.startsWith("unreachable"), {}, `${row()} td.health`);
    assert.match((await page.$eval(`${row()} td.health`, (e) => e.textContent))!, /^unreachableECONNREFUSED$/);
    const echoRow = `article[data-service="${echoName}"] tr[data-address="127.0.0.1:${echo.port}"]`;
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === "ok", {}, `${echoRow} td.health`);
    assert.deepEqual(await page.$$eval(`${echoRow} td.num`, (cells) => cells.slice(0, 3).map((c) => c.textContent)), ["3", "1", "0"]);
    const hasExplorer = (await fetch(`http://127.0.0.1:${echo.port}/explorer`).then((r) => r.status)) === 200;
    assert.equal(await page.$(`${echoRow} td.explorer a[href="http://127.0.0.1:${echo.port}/explorer"]`) !== null, hasExplorer);
    assert.equal(await page.$eval('article[data-service="VOA.MySQL"] .count', (e) => e.textContent), "1 of 2 enabled");
    await page.screenshot({ path: path.join(SCREENSHOTS, "console-services.png"), fullPage: true });

    await page.click(`${row()} .scale-in`);
    await confirm(new RegExp(`^Scale in: disable ${mysql} in VOA\\.MySQL\\?`));
    await page.waitForSelector(row(false));
    assert.equal(await routesList(), echoLine);
    assert.equal(await page.$eval(`${row()} input.weight`, (i) => (i as HTMLInputElement).value), "250", "scale-in keeps the weight");
  });
});
