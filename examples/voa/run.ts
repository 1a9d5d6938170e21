/**
 * `npm run example:voa`: the seed walkthrough's VOA system, end to end, on
 * loopback. Builds everything from fixtures/voa/*.proto with msec-gen, starts
 * etcd, MariaDB, Jsoup and the services (two msec instances on one etcd, each
 * under its own key prefix), enters the heterogeneous services in etcd with
 * `msec-gen routes set` (the console's scale-out), calls them through the
 * generated callers and prints what every scenario returned under
 * `Scenario N` headings (results on stdout, progress on stderr). Everything started is stopped on the way out, also on failure
 * or Ctrl-C.
 *
 *     node --import tsx examples/voa/run.ts [--crawl ts|python] [--mainlogic ts|python]
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type EtcdResolver, callJsonTcp, createEtcdResolver, encodeJsonTcp, registerResolver } from "@msec-gen/runtime";
import { CLI, EXAMPLE_DIR, HANDLERS_DIR, REPO_ROOT, compileTs, configure, generate, installTsHandler, runOk } from "./build.js";
import { freePort, startChild, stopAll } from "./children.js";
import { removeEtcdData, startEtcd } from "./etcd.js";
import { removeDataFolders, startMariaDb } from "./mariadb.js";
import { describeReply, heading, line } from "./report.js";

/** The work folder: generated packages, etcd data. Recreated on every run (git-ignored). */
export const OUT = path.join(EXAMPLE_DIR, "out");
/** etcd key prefix of msec instance 1 (VOA) and of the separate instance 2 (VOA2). */
const PREFIX_1 = "/msec";
const PREFIX_2 = "/msec-b";
/** Budget of each client call (the walkthrough's MainLogic→Crawl budget). */
const CALL_TIMEOUT_MS = 20_000;

function progress(text: string): void {
  process.stderr.write(`voa: ${text}\n`);
}

interface Ports {
  etcd: number;
  etcdPeer: number;
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
    copyFileSync(path.join(REPO_ROOT, "fixtures/seed/crawl.py"), path.join(crawl, "voa_crawl_server/handlers/CrawlService.py"));
  }
  if (impls.mainLogic === "ts") {
    installTsHandler(mainLogic, "MainLogicService.ts");
    installTsHandler(mainLogic, "mp3-cache.ts");
    toCompile.push(mainLogic);
    // Crawl's generated messages are copied into MainLogic, as the walkthrough copies its _pb2 module.
    const crawlTs = impls.crawl === "ts" ? crawl : crawl2;
    copyFileSync(path.join(crawlTs, "src/gen/Crawl_pb.ts"), path.join(mainLogic, "src/gen/Crawl_pb.ts"));
  } else {
    copyFileSync(path.join(HANDLERS_DIR, "python/MainLogicService.py"), path.join(mainLogic, "voa_mainlogic_server/handlers/MainLogicService.py"));
    copyFileSync(path.join(pythonCrawl ?? crawl, "voa_crawl_server/gen/Crawl_pb2.py"), path.join(mainLogic, "VOA_py_Crawl_pb2.py"));
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

  const ports: Ports = { etcd: await freePort(), etcdPeer: await freePort(), mysql: await freePort(), jsoup: 0, crawl: await freePort(), mainLogic: await freePort(), crawl2: await freePort() };
  progress("starting etcd");
  const etcdUrl = await startEtcd(ports.etcd, ports.etcdPeer, path.join(OUT, "etcd-data"));
  progress("starting MariaDB");
  const db = await startMariaDb(ports.mysql);
  progress("starting Jsoup");
  const jsoup = await startChild("jsoup", process.execPath, ["--import", "tsx", path.join(EXAMPLE_DIR, "jsoup/jsoup-server.ts"), "0"], {
    cwd: EXAMPLE_DIR,
    readyLine: /jsoup listening on 127\.0\.0\.1:(\d+)/,
  });
  ports.jsoup = Number(jsoup.match![1]);

  // Scale-out, the console way: services that do not register themselves are entered in etcd.
  // Instance 1 (prefix /msec) gets Jsoup, MariaDB and VOA2.Crawl of instance 2 (a heterogeneous
  // service to it); instance 2 (prefix /msec-b) gets the Jsoup its Crawl uses.
  console.log("\n=== Routing on etcd: msec instance 1 under prefix /msec, the separate instance 2 under /msec-b, one etcd ===");
  console.log("  scale-out: heterogeneous services entered with msec-gen routes set");
  for (const [prefix, name, port] of [
    [PREFIX_1, "Jsoup.jsoup", ports.jsoup],
    [PREFIX_1, "Database.mysql", ports.mysql],
    [PREFIX_1, "VOA2.Crawl", ports.crawl2],
    [PREFIX_2, "Jsoup.jsoup", ports.jsoup],
  ] as const) {
    console.log(`  $ msec-gen routes set ${name} 127.0.0.1:<port> --etcd <etcd> --prefix ${prefix}`);
    console.log("  " + hidePorts(await routes(["set", name, `127.0.0.1:${port}`], etcdUrl, prefix)).trim());
  }

  // MainLogic and Crawl register themselves ([ROUTE] etcd, etcd_prefix in their config.ini).
  configure(dirs.crawl.dir, ports.crawl, { url: etcdUrl, prefix: PREFIX_1 });
  configure(dirs.mainLogic.dir, ports.mainLogic, { url: etcdUrl, prefix: PREFIX_1 });
  configure(dirs.crawl2.dir, ports.crawl2, { url: etcdUrl, prefix: PREFIX_2 });
  progress("starting VOA.Crawl, VOA2.Crawl and VOA.MainLogic");
  for (const [name, pkg, port] of [
    ["VOA.Crawl", dirs.crawl, ports.crawl],
    ["VOA2.Crawl", dirs.crawl2, ports.crawl2],
    ["VOA.MainLogic", dirs.mainLogic, ports.mainLogic],
  ] as const) {
    await startChild(name, pkg.command, pkg.args, { cwd: pkg.dir, readyLine: /"msg":"registered \S+ in etcd"/, readyPort: port, env: { PYTHONDONTWRITEBYTECODE: "1" } });
  }
  console.log("  the services registered themselves; what each instance's callers resolve:");
  for (const prefix of [PREFIX_1, PREFIX_2]) {
    console.log(`  $ msec-gen routes list --etcd <etcd> --prefix ${prefix}`);
    for (const row of (await routes(["list"], etcdUrl, prefix)).trim().split("\n")) console.log("  " + hidePorts(row).split(/\s+/).join("  "));
  }

  // The generated TypeScript callers and this script share one runtime (@msec-gen/runtime, the
  // workspace package runtimes/ts), so one resolver serves both: routing names resolve through
  // instance 1's etcd prefix.
  resolver = createEtcdResolver({ endpoints: [etcdUrl], prefix: PREFIX_1 });
  registerResolver(resolver);
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
    env: {
      // The generated package and the runtime it carries (runtime/src), without installing either.
      PYTHONPATH: [path.join(dirs.mainLogicCaller, "python"), path.join(dirs.mainLogicCaller, "python/runtime/src")].join(path.delimiter),
      MSEC_ETCD_ENDPOINTS: etcdUrl,
      MSEC_ETCD_PREFIX: PREFIX_1,
      PYTHONDONTWRITEBYTECODE: "1",
    },
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
  const reply = await callJsonTcp("Jsoup.jsoup", query, { timeoutMs: CALL_TIMEOUT_MS });
  line("jsoup", "reply", JSON.stringify(reply));
  const list = await crawl.getMP3List({ type: "standard" });
  line("ts", "VOA.Crawl GetMP3List(standard)", `status ${list.status}, msg ${JSON.stringify(list.msg)}, mp3s ${JSON.stringify(list.mp3s.map((m) => [m.title, m.url]))}`);

  heading(5, "instance 1 calls VOA2.Crawl of a second msec instance (own etcd prefix /msec-b, own ports) by name");
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

/** `msec-gen routes <args> --etcd <url> --prefix <prefix>`; resolves its output. */
function routes(args: readonly string[], etcdUrl: string, prefix: string): Promise<string> {
  return runOk(process.execPath, [CLI, "routes", ...args, "--etcd", etcdUrl, "--prefix", prefix]);
}

/** Ports are picked free on every run: printed as `<port>` so the output is the same every time. */
function hidePorts(text: string): string {
  return text.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>");
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

/** The TypeScript callers' etcd resolver; closed on the way out (its watch would keep retrying). */
let resolver: EtcdResolver | undefined;
let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  progress("stopping everything");
  resolver?.close();
  await stopAll();
  removeDataFolders();
  removeEtcdData();
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
