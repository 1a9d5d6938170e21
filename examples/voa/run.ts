/**
 * `npm run example:voa`: the seed walkthrough's VOA system, end to end, on
 * loopback. Builds everything from fixtures/voa/*.proto with msec-gen, starts
 * Jsoup and the services (two msec instances, each with its own routes file),
 * calls them through the generated callers and prints what every scenario
 * returned under `Scenario N` headings (results on stdout, progress on
 * stderr). Everything started is stopped on the way out, also on failure
 * or Ctrl-C.
 *
 *     node --import tsx examples/voa/run.ts [--crawl ts|python] [--mainlogic ts|python]
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { callJsonTcp, encodeJsonTcp } from "../../runtime/index.js";
import { EXAMPLE_DIR, HANDLERS_DIR, REPO_ROOT, compileTs, configure, generate, installTsHandler, runOk, writeRoutes } from "./build.js";
import { freePort, startChild, stopAll } from "./children.js";
import { removeDataFolders, startMariaDb } from "./mariadb.js";
import { describeReply, heading, line } from "./report.js";

/** The work folder: generated packages, routes files, data. Recreated on every run (git-ignored). */
export const OUT = path.join(EXAMPLE_DIR, "out");
/** Budget of each client call (the walkthrough's MainLogic→Crawl budget). */
const CALL_TIMEOUT_MS = 20_000;

function progress(text: string): void {
  process.stderr.write(`voa: ${text}\n`);
}

interface Ports {
  mysql: number;
  jsoup: number;
  crawl: number;
  mainLogic: number;
  crawl2: number;
}

/** Which implementation of a service runs: handlers/ts or handlers/python (the walkthrough's code). */
export type Impl = "ts" | "python";

export interface Impls {
  crawl: Impl;
  mainLogic: Impl;
}

/** A generated server package and how to start it. */
interface ServerPackage {
  dir: string;
  command: string;
  args: string[];
}

function serverPackage(dir: string, impl: Impl): ServerPackage {
  return impl === "ts" ? { dir, command: process.execPath, args: ["dist/src/main.js"] } : { dir, command: "python3", args: ["main.py"] };
}

/** Generates and compiles every package; resolves their folders. */
async function build(impls: Impls): Promise<{ crawl: ServerPackage; mainLogic: ServerPackage; crawl2: ServerPackage; mainLogicCaller: string; crawlCaller: string }> {
  progress(`generating the servers (Crawl: ${impls.crawl}, MainLogic: ${impls.mainLogic}) and callers with msec-gen`);
  const one = path.join(OUT, "instance1");
  const two = path.join(OUT, "instance2");
  const [crawl, mainLogic, crawl2, mainLogicCaller, crawlCaller, pythonCrawl] = await Promise.all([
    generate("server", "Crawl.proto", "VOA.Crawl", one, impls.crawl),
    generate("server", "MainLogic.proto", "VOA.MainLogic", one, impls.mainLogic),
    generate("server", "Crawl.proto", "VOA2.Crawl", two, "ts"),
    generate("caller", "MainLogic.proto", "VOA.MainLogic", path.join(OUT, "callers"), "ts,python"),
    generate("caller", "Crawl.proto", "VOA.Crawl", path.join(OUT, "callers"), "ts"),
    // A Python MainLogic needs Crawl's _pb2 module.
    impls.mainLogic === "python" && impls.crawl !== "python" ? generate("server", "Crawl.proto", "VOA.Crawl", path.join(OUT, "python-crawl"), "python") : undefined,
  ]);
  const toCompile = [crawl2, path.join(mainLogicCaller, "ts"), path.join(crawlCaller, "ts")];
  installTsHandler(crawl2, "CrawlService.ts");
  if (impls.crawl === "ts") {
    installTsHandler(crawl, "CrawlService.ts");
    toCompile.push(crawl);
  } else {
    copyFileSync(path.join(REPO_ROOT, "fixtures/seed/crawl.py"), path.join(crawl, "voa_crawl/handlers/CrawlService.py"));
  }
  if (impls.mainLogic === "ts") {
    installTsHandler(mainLogic, "MainLogicService.ts");
    installTsHandler(mainLogic, "mp3-cache.ts");
    toCompile.push(mainLogic);
    // Crawl's generated messages are copied into MainLogic, as the walkthrough copies its _pb2 module.
    const crawlTs = impls.crawl === "ts" ? crawl : crawl2;
    copyFileSync(path.join(crawlTs, "src/gen/Crawl_pb.ts"), path.join(mainLogic, "src/gen/Crawl_pb.ts"));
  } else {
    copyFileSync(path.join(HANDLERS_DIR, "python/MainLogicService.py"), path.join(mainLogic, "voa_mainlogic/handlers/MainLogicService.py"));
    copyFileSync(path.join(pythonCrawl ?? crawl, "voa_crawl/gen/Crawl_pb2.py"), path.join(mainLogic, "VOA_py_Crawl_pb2.py"));
  }
  progress("compiling the TypeScript packages with tsc");
  for (const dir of toCompile) await compileTs(dir);
  return { crawl: serverPackage(crawl, impls.crawl), mainLogic: serverPackage(mainLogic, impls.mainLogic), crawl2: serverPackage(crawl2, "ts"), mainLogicCaller, crawlCaller };
}

/** `--crawl ts|python --mainlogic ts|python` (default ts). */
function parseImpls(argv: string[]): Impls {
  const { values } = parseArgs({ args: argv, options: { crawl: { type: "string", default: "ts" }, mainlogic: { type: "string", default: "ts" } } });
  const impl = (name: string, value: string): Impl => {
    if (value !== "ts" && value !== "python") throw new Error(`--${name} must be ts or python, not ${value}`);
    return value;
  };
  return { crawl: impl("crawl", values.crawl), mainLogic: impl("mainlogic", values.mainlogic) };
}

async function main(): Promise<void> {
  const impls = parseImpls(process.argv.slice(2));
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const dirs = await build(impls);

  const ports: Ports = { mysql: await freePort(), jsoup: 0, crawl: await freePort(), mainLogic: await freePort(), crawl2: await freePort() };
  progress("starting MariaDB");
  const db = await startMariaDb(ports.mysql);
  progress("starting Jsoup");
  const jsoup = await startChild("jsoup", process.execPath, ["--import", "tsx", path.join(EXAMPLE_DIR, "jsoup/jsoup-server.ts"), "0"], {
    cwd: EXAMPLE_DIR,
    readyLine: /jsoup listening on 127\.0\.0\.1:(\d+)/,
  });
  ports.jsoup = Number(jsoup.match![1]);

  // Instance 1 knows its own services, Jsoup, and VOA2.Crawl of instance 2 (a heterogeneous service to it).
  const routes1 = path.join(OUT, "instance1/routes.conf");
  writeRoutes(
    routes1,
    [
      ["VOA.MainLogic", ports.mainLogic],
      ["VOA.Crawl", ports.crawl],
      ["Jsoup.jsoup", ports.jsoup],
      ["VOA2.Crawl", ports.crawl2],
      ["Database.mysql", ports.mysql],
    ],
    "msec instance 1 (VOA)",
  );
  // Instance 2 has its own routes: its Crawl and the Jsoup it uses.
  const routes2 = path.join(OUT, "instance2/routes.conf");
  writeRoutes(routes2, [["VOA2.Crawl", ports.crawl2], ["Jsoup.jsoup", ports.jsoup]], "msec instance 2 (VOA2)");

  configure(dirs.crawl.dir, ports.crawl, routes1);
  configure(dirs.mainLogic.dir, ports.mainLogic, routes1);
  configure(dirs.crawl2.dir, ports.crawl2, routes2);
  progress("starting VOA.Crawl, VOA2.Crawl and VOA.MainLogic");
  for (const [name, pkg, port] of [
    ["VOA.Crawl", dirs.crawl, ports.crawl],
    ["VOA2.Crawl", dirs.crawl2, ports.crawl2],
    ["VOA.MainLogic", dirs.mainLogic, ports.mainLogic],
  ] as const) {
    await startChild(name, pkg.command, pkg.args, { cwd: pkg.dir, readyPort: port, env: { PYTHONDONTWRITEBYTECODE: "1" } });
  }

  // The generated TypeScript callers resolve routing names through instance 1's routes file.
  process.env.MSEC_ROUTES = routes1;
  const mainLogic = new (await loadCaller<MainLogicClientClass>(dirs.mainLogicCaller, "MainLogicServiceClient"))({
    service: "VOA.MainLogic",
    defaults: { timeoutMs: CALL_TIMEOUT_MS, caller: "voa.ts-client" },
  });
  const crawl = new (await loadCaller<CrawlClientClass>(dirs.crawlCaller, "CrawlServiceClient"))({
    service: "VOA.Crawl",
    defaults: { timeoutMs: CALL_TIMEOUT_MS, caller: "voa.ts-client" },
  });

  heading(1, "generated callers (TypeScript, Python) call VOA.MainLogic");
  const special = { type: "special" };
  line("ts", "GetTitles(special)", describeReply(await mainLogic.getTitles(special)));
  line("ts", 'GetUrlByTitle(special, "Moon Base Plans")', describeReply(await mainLogic.getUrlByTitle({ ...special, title: "Moon Base Plans" })));
  line("ts", 'DownloadMP3(special, "Moon Base Plans")', describeReply(await mainLogic.downloadMP3({ ...special, title: "Moon Base Plans" })));
  line("ts", 'GetUrlByTitle(special, "Venus")', describeReply(await mainLogic.getUrlByTitle({ ...special, title: "Venus" })));
  const python = await runOk("python3", [path.join(EXAMPLE_DIR, "clients/python_client.py"), path.join(EXAMPLE_DIR, "jsoup/mp3")], {
    env: { PYTHONPATH: path.join(dirs.mainLogicCaller, "python"), MSEC_ROUTES: routes1, PYTHONDONTWRITEBYTECODE: "1" },
  });
  process.stdout.write(python);

  heading(2, 'VOA.MainLogic calls VOA.Crawl: callMethod("VOA.Crawl", "crawl.CrawlService.GetMP3List", req, {timeoutMs: 20000})');
  line("ts", "GetTitles(standard)", describeReply(await mainLogic.getTitles({ type: "standard" })));
  line("ts", "GetTitles(fast)", describeReply(await mainLogic.getTitles({ type: "fast" })));

  heading(3, 'VOA.MainLogic caches the mp3 lists in MariaDB, found with getRoute("Database.mysql")');
  line("ts", "GetTitles(standard)", describeReply(await mainLogic.getTitles({ type: "standard" })));
  line("mariadb", "SELECT type, position, title FROM voa.mp3_cache", "rows:");
  for (const row of (await db.query("SELECT type, position, title FROM voa.mp3_cache ORDER BY type, position")).trim().split("\n")) {
    console.log(`    ${row.replaceAll("\t", " | ")}`);
  }

  heading(4, 'VOA.Crawl calls the heterogeneous Jsoup service: callJsonTcp("Jsoup.jsoup", …), 10-character length-prefixed JSON');
  const query = { handleClass: "com.bison.GetMP3List", requestBody: { type: "standard" } };
  line("jsoup", "request frame", Buffer.from(encodeJsonTcp(query)).toString("utf8"));
  const reply = await callJsonTcp(`127.0.0.1:${ports.jsoup}`, query, { timeoutMs: CALL_TIMEOUT_MS });
  line("jsoup", "reply", JSON.stringify(reply));
  const list = await crawl.getMP3List({ type: "standard" });
  line("ts", "VOA.Crawl GetMP3List(standard)", `status ${list.status}, msg ${JSON.stringify(list.msg)}, mp3s ${JSON.stringify(list.mp3s.map((m) => [m.title, m.url]))}`);

  heading(5, "instance 1 calls VOA2.Crawl of a second msec instance (own routes file and ports) by name");
  line("ts", "GetTitles(VOA2.Crawl/standard)", describeReply(await mainLogic.getTitles({ type: "VOA2.Crawl/standard" })));

  console.log("\n=== JSON mode: curl against VOA.MainLogic (HTTP POST, JSON body) ===");
  for (const [method, body] of [
    ["GetTitles", '{"type": "special"}'],
    ["GetUrlByTitle", '{"type": "standard", "title": "World News at Noon"}'],
  ] as const) {
    const url = `http://127.0.0.1:${ports.mainLogic}/?methodName=MainLogic.MainLogicService.${method}`;
    console.log(`  $ curl -s -X POST -H 'Content-Type: application/json' -d '${body}' 'http://127.0.0.1:<port>/?methodName=MainLogic.MainLogicService.${method}'`);
    console.log("  " + (await runOk("curl", ["-sS", "--max-time", "20", "-X", "POST", "-H", "Content-Type: application/json", "-d", body, url])).trim());
  }
}

/** A reply of MainLogic, as the generated TypeScript caller returns it (the fields printed). */
interface MainLogicReply {
  status: number;
  msg: string;
  titles?: string[];
  url?: string;
  fileLen?: number;
  fileContent?: Uint8Array;
}
interface ClientOptions {
  service: string;
  defaults: { timeoutMs: number; caller: string };
}
type MainLogicClientClass = new (options: ClientOptions) => {
  getTitles(request: { type: string }): Promise<MainLogicReply>;
  getUrlByTitle(request: { type: string; title: string }): Promise<MainLogicReply>;
  downloadMP3(request: { type: string; title: string }): Promise<MainLogicReply>;
};
type CrawlClientClass = new (options: ClientOptions) => {
  getMP3List(request: { type: string }): Promise<{ status: number; msg: string; mp3s: Array<{ title: string; url: string }> }>;
};

/** A client class of a generated (and compiled) TypeScript caller package. */
async function loadCaller<T>(callerDir: string, name: string): Promise<T> {
  const module = (await import(pathToFileURL(path.join(callerDir, "ts/dist/index.js")).href)) as Record<string, unknown>;
  return module[name] as T;
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  progress("stopping everything");
  await stopAll();
  removeDataFolders();
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(130));
// A closed stdout (`… | head`) or any stray error must still stop everything.
process.stdout.on("error", () => void shutdown(1));
process.on("uncaughtException", (err) => {
  if (!stopping) process.stderr.write(`voa: FAILED: ${err.stack ?? String(err)}\n`);
  void shutdown(1);
});

try {
  await main();
  await shutdown(0);
} catch (err) {
  // Once shutting down (signal, closed stdout), calls to the stopped services fail: not news.
  if (!stopping) process.stderr.write(`voa: FAILED: ${(err as Error).stack ?? String(err)}\n`);
  await shutdown(1);
}
