/**
 * What the explorer tests share: starting a real server process (the echo
 * server, or the shop test server of either runtime) on a free port, plain
 * HTTP requests, and driving the explorer page in headless Chromium.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import type { Page } from "puppeteer-core";
import { freePort } from "../free-port.js";
import { REPO_ROOT } from "../generator/golden-cases.js";

export const TSX = path.join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs");

/** Screenshots kept by the tests (git-ignored). */
export const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts/explorer");

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request on its own connection. */
export function request(port: number, method: string, target: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: target, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface RunningServer {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `command args… --port N` and waits until `GET /health` answers 200 (30 s at most). */
export async function startServer(label: string, command: string, args: string[]): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(command, [...args, "--port", String(port)], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited ${child.exitCode}: ${out}`);
    try {
      if ((await request(port, "GET", "/health")).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${label} not ready in 30 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => out, stop };
}

/** The echo server (`npm run echo-server`) in TS or Python, TCP only. */
export function startEcho(lang: "ts" | "python"): Promise<RunningServer> {
  return startServer(`echo server (${lang})`, process.execPath, ["--import", TSX, "examples/echo/echo-server.ts", "--lang", lang, "--no-udp", "--host", "127.0.0.1"]);
}

/** The shop test server (test/browser/explorer-server.ts or explorer_server.py), with or without a document. */
export function startShop(lang: "ts" | "python", openapi?: string): Promise<RunningServer> {
  const extra = openapi !== undefined ? ["--openapi", openapi] : [];
  return lang === "ts"
    ? startServer("shop server (ts)", process.execPath, ["--import", TSX, "test/browser/explorer-server.ts", ...extra])
    : startServer("shop server (python)", "python3", ["test/browser/explorer_server.py", ...extra]);
}

/** Opens `/explorer` and waits until the page has drawn the methods or its hint. */
export async function openExplorer(page: Page, server: RunningServer): Promise<void> {
  const response = await page.goto(`${server.url}/explorer`);
  if (response?.status() !== 200) throw new Error(`/explorer answered ${response?.status()}`);
  await page.waitForSelector('body[data-ready="true"]');
}

/** Text of the first element matching `selector`. */
export function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? "");
}

/** What the page shows after a call. */
export interface Shown {
  status: string;
  ret: string;
  meaning: string;
  latency: string;
  errmsg: string;
  envelope: string;
  bytesText: string;
}

/** Clicks Send and reads the answer once the page shows it. */
export async function sendAndRead(page: Page): Promise<Shown> {
  await page.click("#send");
  await page.waitForSelector("#result:not([hidden])");
  return {
    status: await textOf(page, "#http-status"),
    ret: await textOf(page, "#ret"),
    meaning: await textOf(page, "#ret-meaning"),
    latency: await textOf(page, "#latency"),
    errmsg: await textOf(page, "#errmsg"),
    envelope: await textOf(page, "#envelope"),
    bytesText: await textOf(page, "#bytes-text"),
  };
}

/** Writes a full-page screenshot under test-artifacts/explorer/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png`, fullPage: true });
  return file;
}
