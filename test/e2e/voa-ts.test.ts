/**
 * End to end, as a user would do it: generate the VOA servers (MainLogic and
 * Crawl) and the TypeScript callers with the built `msec-gen` command, `npm
 * install` them with default options (the runtime archive they carry),
 * compile with `tsc --strict`, run the generated smoke test, put a real
 * implementation into the handler files, start the servers as processes and
 * call every method through the generated clients (SRPC, binary) and over
 * HTTP (JSON), asserting exact responses.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../generator/golden-cases.js";
import { VOA_CRAWL_HANDLER, VOA_MAIN_LOGIC_HANDLER } from "../interop/voa-handlers.js";

const exec = promisify(execFile);
const CLI = path.join(REPO_ROOT, "dist/cli/main.js");
const NPM_INSTALL = ["install", "--no-audit", "--no-fund", "--prefer-offline"];
/** Generous per-call limit: the assertions are about answers, not speed. */
const CALL_TIMEOUT_MS = 10_000;

let work: string;
let mainLogicDir: string;
let crawlDir: string;
let crawlCallerDir: string;
let mainLogicCallerDir: string;
const servers: ChildProcess[] = [];
const ports = new Map<string, number>();

/** Run a command; the child does not inherit this test runner's NODE_TEST_CONTEXT (it would hide its report). */
async function sh(command: string, args: string[], cwd: string): Promise<string> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  try {
    const r = await exec(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
    return r.stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
}

async function msecGen(args: string[]): Promise<string> {
  return (await sh(process.execPath, [CLI, ...args, "-o", work, "--dir", "--quiet"], work)).trim();
}

/** Start `node dist/src/main.js` in a package and resolve the port it reports. */
function startService(dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["dist/src/main.js"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    servers.push(child);
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+) \(tcp\)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`server in ${dir} exited with ${code}: ${out}${err}`)));
  });
}

/** POST a JSON body in MSEC's HTTP mode; resolves the raw response body. */
async function postJson(port: number, method: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/?methodName=${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  assert.equal(res.status, 200);
  return res.text();
}

before(async () => {
  await sh("npm", ["run", "--silent", "build"], REPO_ROOT);
  work = await fs.mkdtemp(path.join(tmpdir(), "msec-gen-e2e-"));
  mainLogicDir = await msecGen(["server", path.join(REPO_ROOT, "fixtures/voa/MainLogic.proto"), "--name", "VOA.MainLogic"]);
  crawlDir = await msecGen(["server", path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), "--name", "VOA.Crawl"]);
  crawlCallerDir = path.join(await msecGen(["caller", path.join(REPO_ROOT, "fixtures/voa/Crawl.proto"), "--name", "VOA.Crawl", "--lang", "ts"]), "ts");
  mainLogicCallerDir = path.join(
    await msecGen(["caller", path.join(REPO_ROOT, "fixtures/voa/MainLogic.proto"), "--name", "VOA.MainLogic", "--lang", "ts"]),
    "ts",
  );
  for (const dir of [mainLogicDir, crawlDir, crawlCallerDir, mainLogicCallerDir]) {
    await sh("npm", NPM_INSTALL, dir);
  }
});

after(async () => {
  for (const child of servers) {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  }
  await fs.rm(work, { recursive: true, force: true });
});

describe("VOA end to end (TypeScript server and callers)", () => {
  test("the generated packages compile under tsc --strict", async () => {
    for (const dir of [mainLogicDir, crawlDir, crawlCallerDir, mainLogicCallerDir]) {
      await sh(path.join(dir, "node_modules/.bin/tsc"), ["--strict", "-p", "tsconfig.json"], dir);
    }
    await fs.access(path.join(crawlCallerDir, "dist/index.d.ts"));
  });

  test("the generated smoke tests pass on the untouched skeletons", async () => {
    const expected = new Map([
      [mainLogicDir, 6], // 3 methods × (binary + JSON)
      [crawlDir, 2],
    ]);
    for (const [dir, count] of expected) {
      const out = await sh("npm", ["test"], dir);
      assert.match(out, new RegExp(`^# pass ${count}$`, "m"), out);
      assert.match(out, /^# fail 0$/m, out);
    }
  });

  test("implemented handlers compile and the services start from etc/config.ini", async () => {
    await fs.writeFile(path.join(crawlDir, "src/handlers/CrawlService.ts"), VOA_CRAWL_HANDLER);
    await fs.writeFile(path.join(mainLogicDir, "src/handlers/MainLogicService.ts"), VOA_MAIN_LOGIC_HANDLER);
    for (const dir of [crawlDir, mainLogicDir]) {
      const ini = path.join(dir, "etc/config.ini");
      await fs.writeFile(ini, (await fs.readFile(ini, "utf8")).replace("listen=7963/tcp 7963/udp", "listen=127.0.0.1:0/tcp"));
      await sh("npm", ["run", "build"], dir);
    }
    ports.set("crawl", await startService(crawlDir));
    ports.set("mainLogic", await startService(mainLogicDir));
  });

  test("npm run package writes the deployable plugin tarball (npm pack layout)", async () => {
    await sh("npm", ["run", "package"], mainLogicDir);
    const tgz = path.join(mainLogicDir, "voa.mainlogic-server-0.1.0.tgz");
    const entries = (await sh("tar", ["-tzf", tgz], mainLogicDir)).trim().split("\n").sort();
    assert.deepEqual(
      entries.filter((e) => !e.endsWith(".map") && !e.endsWith(".d.ts")),
      [
        "package/README.md",
        "package/dist/src/gen/MainLogic_msec.js",
        "package/dist/src/gen/MainLogic_pb.js",
        "package/dist/src/handlers/MainLogicService.js",
        "package/dist/src/main.js",
        "package/etc/config.ini",
        "package/etc/routes.conf",
        "package/openapi.json",
        "package/package.json",
        "package/proto/MainLogic.proto",
        "package/runtime/msec-gen-runtime-0.1.0.tgz",
      ],
    );
  });

  test("Crawl: getMP3List through the generated client (binary)", async () => {
    const { CrawlServiceClient } = await import(pathToFileURL(path.join(crawlCallerDir, "dist/index.js")).href);
    const client = new CrawlServiceClient({ service: `127.0.0.1:${ports.get("crawl")}@tcp` });
    const reply = await client.getMP3List({ type: "special" }, { timeoutMs: CALL_TIMEOUT_MS });
    assert.equal(reply.$typeName, "crawl.GetMP3ListResponse");
    assert.equal(reply.status, 0);
    assert.equal(reply.msg, "ok");
    assert.deepEqual(
      reply.mp3s.map((m: { title: string; url: string }) => [m.title, m.url]),
      [
        ["special 1", "http://voa.example/special/1.mp3"],
        ["special 2", "http://voa.example/special/2.mp3"],
      ],
    );
    const unknown = await client.getMP3List({ type: "fast" }, { timeoutMs: CALL_TIMEOUT_MS });
    assert.deepEqual([unknown.status, unknown.msg, unknown.mp3s.length], [1, "unknown type fast", 0]);
  });

  test("Crawl: GetMP3List over HTTP (JSON)", async () => {
    const body = await postJson(ports.get("crawl")!, "crawl.CrawlService.GetMP3List", '{"type": "standard"}');
    assert.equal(
      body,
      '{"ret":0, "errmsg":"", "resultObj": {"mp3s": [{"title": "standard 1", "url": "http://voa.example/standard/1.mp3"}, ' +
        '{"title": "standard 2", "url": "http://voa.example/standard/2.mp3"}], "status": 0, "msg": "ok"}}',
    );
  });

  test("MainLogic: every method through the generated client (binary)", async () => {
    const { MainLogicServiceClient } = await import(pathToFileURL(path.join(mainLogicCallerDir, "dist/index.js")).href);
    const client = new MainLogicServiceClient({
      service: `127.0.0.1:${ports.get("mainLogic")}@tcp`,
      defaults: { timeoutMs: CALL_TIMEOUT_MS, caller: "e2e.test" },
    });
    const titles = await client.getTitles({ type: "special" });
    assert.deepEqual([titles.$typeName, titles.titles, titles.status, titles.msg], [
      "MainLogic.GetTitlesResponse",
      ["Mars", "Moon"],
      0,
      "hello e2e.test via binary",
    ]);
    const url = await client.getUrlByTitle({ type: "special", title: "Moon" });
    assert.deepEqual([url.url, url.status, url.msg], ["http://voa.example/special/Moon.mp3", 0, ""]);
    const missing = await client.getUrlByTitle({ type: "special", title: "Venus" });
    assert.deepEqual([missing.url, missing.status, missing.msg], ["", 2, "not found"]);
    const mp3 = await client.downloadMP3({ type: "special", title: "Mars" });
    assert.deepEqual([mp3.status, mp3.fileLen, new TextDecoder().decode(mp3.fileContent)], [0, 8, "ID3:Mars"]);
  });

  test("MainLogic: an SrpcError thrown by a handler reaches the client with its code", async () => {
    const { MainLogicServiceClient } = await import(pathToFileURL(path.join(mainLogicCallerDir, "dist/index.js")).href);
    const client = new MainLogicServiceClient({ service: `127.0.0.1:${ports.get("mainLogic")}@tcp` });
    await assert.rejects(client.getUrlByTitle({ type: "special", title: "boom" }, { timeoutMs: CALL_TIMEOUT_MS }), (e: { code?: number }) => {
      assert.equal(e.code, -19);
      return true;
    });
  });

  test("MainLogic: every method over HTTP (JSON), exact envelopes", async () => {
    const port = ports.get("mainLogic")!;
    assert.equal(
      await postJson(port, "MainLogic.MainLogicService.GetTitles", '{"type": "special"}', { caller: "curl" }),
      '{"ret":0, "errmsg":"", "resultObj": {"titles": ["Mars", "Moon"], "status": 0, "msg": "hello curl via json"}}',
    );
    assert.equal(
      await postJson(port, "MainLogic.MainLogicService.GetUrlByTitle", '{"type": "special", "title": "Moon"}'),
      '{"ret":0, "errmsg":"", "resultObj": {"url": "http://voa.example/special/Moon.mp3", "status": 0, "msg": ""}}',
    );
    assert.equal(
      await postJson(port, "MainLogic.MainLogicService.DownloadMP3", '{"type": "special", "title": "Mars"}'),
      '{"ret":0, "errmsg":"", "resultObj": {"status": 0, "msg": "", "file_len": 8, "file_content": "SUQzOk1hcnM="}}',
    );
  });

  test("MainLogic: a JSON body with an unknown field is rejected with -3", async () => {
    const body = await postJson(ports.get("mainLogic")!, "MainLogic.MainLogicService.GetTitles", '{"type": "special", "colour": 1}');
    assert.match(body, /^\{"ret":-3, "errmsg":"/);
  });
});
