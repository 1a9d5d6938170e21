/**
 * The VOA example (examples/voa): the Jsoup stand-in answers the walkthrough's
 * length-prefixed JSON protocol from its fixture catalogue over a real socket,
 * the fixture MP3 files are what make-mp3.ts writes, and the whole example
 * (msec-gen build, a real etcd with two msec instances under their own
 * prefixes, real processes on loopback, generated callers, curl) prints
 * exactly the expected results for every scenario and leaves no process and
 * no etcd or MariaDB data folder behind.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { callJsonTcp, decodeJsonTcp, encodeJsonTcp } from "@msec-gen/runtime";
import { silentMp3 } from "../../examples/voa/jsoup/make-mp3.js";
import { REPO_ROOT, TSX_LOADER, run, runOk } from "../interop/ts-server.js";

const JSOUP_DIR = path.join(REPO_ROOT, "examples/voa/jsoup");
const CALL = { timeoutMs: 10_000 };

let jsoup: ChildProcess;
let jsoupAddr: string;

before(async () => {
  jsoup = spawn(process.execPath, ["--import", TSX_LOADER, path.join(JSOUP_DIR, "jsoup-server.ts"), "0"], { stdio: ["ignore", "pipe", "inherit"] });
  jsoupAddr = await new Promise<string>((resolve, reject) => {
    let out = "";
    jsoup.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^jsoup listening on (127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    jsoup.once("exit", (code) => reject(new Error(`jsoup exited with ${code}: ${out}`)));
  });
});

after(async () => {
  if (jsoup.exitCode === null && jsoup.signalCode === null) {
    const exited = new Promise((r) => jsoup.once("exit", r));
    jsoup.kill("SIGTERM");
    await exited;
  }
});

describe("VOA example: Jsoup (10-character length-prefixed JSON over TCP)", () => {
  test("GetMP3List answers the fixture catalogue of a type", async () => {
    const reply = await callJsonTcp(jsoupAddr, { handleClass: "com.bison.GetMP3List", requestBody: { type: "special" } }, CALL);
    assert.deepEqual(reply, {
      status: 0,
      mp3s: [
        { title: "Mars Rover Finds Ice", url: "http://voa.example/special/mars-rover-finds-ice.mp3" },
        { title: "Moon Base Plans", url: "http://voa.example/special/moon-base-plans.mp3" },
      ],
    });
    assert.deepEqual(await callJsonTcp(jsoupAddr, { handleClass: "com.bison.GetMP3List", requestBody: { type: "fast" } }, CALL), { status: 2, mp3s: [] });
    assert.deepEqual(await callJsonTcp(jsoupAddr, { handleClass: "com.bison.Other", requestBody: {} }, CALL), { status: 1 });
  });

  test("GetMP3 returns the fixture file's bytes in base64", async () => {
    const url = "http://voa.example/standard/world-news-at-noon.mp3";
    const reply = (await callJsonTcp(jsoupAddr, { handleClass: "com.bison.GetMP3", requestBody: { url } }, CALL)) as Record<string, unknown>;
    const file = readFileSync(path.join(JSOUP_DIR, "mp3/world-news-at-noon.mp3"));
    assert.deepEqual(reply, { status: 0, title: "World News at Noon", size: 5270, content: file.toString("base64") });
    assert.deepEqual(await callJsonTcp(jsoupAddr, { handleClass: "com.bison.GetMP3", requestBody: { url: url + "x" } }, CALL), { status: 3 });
  });

  test("two requests on one connection, sent in one write, get two replies in order", async () => {
    const [host, port] = jsoupAddr.split(":") as [string, string];
    const socket = net.connect(Number(port), host);
    const requests = Buffer.concat([
      encodeJsonTcp({ handleClass: "com.bison.GetMP3List", requestBody: { type: "standard" } }),
      encodeJsonTcp({ handleClass: "nope" }),
    ]);
    const expected = [
      encodeJsonTcp({ status: 0, mp3s: [{ title: "World News at Noon", url: "http://voa.example/standard/world-news-at-noon.mp3" }] }),
      encodeJsonTcp({ status: 1 }),
    ];
    const total = expected[0]!.length + expected[1]!.length;
    const received = await new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      socket.on("error", reject);
      socket.on("data", (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= total) resolve(got);
      });
      socket.write(requests);
    });
    socket.destroy();
    assert.deepEqual(decodeJsonTcp(received.subarray(0, expected[0]!.length)), decodeJsonTcp(expected[0]!));
    assert.deepEqual(received.subarray(expected[0]!.length), Buffer.from(expected[1]!));
  });

  test("the committed MP3 fixtures are make-mp3.ts's output: an ID3v2.3 tag, then silent MPEG-1 Layer III frames", () => {
    const catalogue = JSON.parse(readFileSync(path.join(JSOUP_DIR, "catalogue.json"), "utf8")) as Record<string, Array<{ title: string; file: string; frames: number }>>;
    for (const entry of Object.values(catalogue).flat()) {
      const file = readFileSync(path.join(JSOUP_DIR, "mp3", entry.file));
      assert.deepEqual(file, silentMp3(entry.title, entry.frames), entry.file);
      const tagEnd = 10 + ((file[6]! << 21) | (file[7]! << 14) | (file[8]! << 7) | file[9]!);
      assert.equal(file.subarray(0, 4).toString("latin1"), "ID3\x03");
      assert.deepEqual([...file.subarray(tagEnd, tagEnd + 4)], [0xff, 0xfb, 0x10, 0xc0]);
      assert.equal(file.length - tagEnd, entry.frames * 104);
    }
  });
});

/** What `node --import tsx examples/voa/run.ts` prints on stdout. */
const EXPECTED_OUTPUT = `
=== Routing on etcd: msec instance 1 under prefix /msec, the separate instance 2 under /msec-b, one etcd ===
  scale-out: heterogeneous services entered with msec-gen routes set
  $ msec-gen routes set Jsoup.jsoup 127.0.0.1:<port> --etcd <etcd> --prefix /msec
  set /msec/services/Jsoup.jsoup/127.0.0.1:<port>
  $ msec-gen routes set Database.mysql 127.0.0.1:<port> --etcd <etcd> --prefix /msec
  set /msec/services/Database.mysql/127.0.0.1:<port>
  $ msec-gen routes set VOA2.Crawl 127.0.0.1:<port> --etcd <etcd> --prefix /msec
  set /msec/services/VOA2.Crawl/127.0.0.1:<port>
  $ msec-gen routes set Jsoup.jsoup 127.0.0.1:<port> --etcd <etcd> --prefix /msec-b
  set /msec-b/services/Jsoup.jsoup/127.0.0.1:<port>
  the services registered themselves; what each instance's callers resolve:
  $ msec-gen routes list --etcd <etcd> --prefix /msec
  Database.mysql  127.0.0.1:<port>  weight=100
  Jsoup.jsoup  127.0.0.1:<port>  weight=100
  VOA.Crawl  127.0.0.1:<port>  weight=100
  VOA.MainLogic  127.0.0.1:<port>  weight=100
  VOA2.Crawl  127.0.0.1:<port>  weight=100
  $ msec-gen routes list --etcd <etcd> --prefix /msec-b
  Jsoup.jsoup  127.0.0.1:<port>  weight=100
  VOA2.Crawl  127.0.0.1:<port>  weight=100

=== Scenario 1: generated callers (TypeScript, Python) call VOA.MainLogic ===
  [ts] GetTitles(special) -> status 0, msg "success (source: VOA.Crawl)", titles ["Mars Rover Finds Ice","Moon Base Plans"]
  [ts] GetUrlByTitle(special, "Moon Base Plans") -> status 0, msg "success (source: cache)", url http://voa.example/special/moon-base-plans.mp3
  [ts] DownloadMP3(special, "Moon Base Plans") -> status 0, msg "success (source: cache)", file_len 4227, starts "ID3", bytes of moon-base-plans.mp3
  [ts] GetUrlByTitle(special, "Venus") -> status 101, msg "title not found: Venus"
  [python] GetTitles(special) -> status 0, msg "success (source: cache)", titles ["Mars Rover Finds Ice","Moon Base Plans"]
  [python] GetUrlByTitle(special, "Mars Rover Finds Ice") -> status 0, msg "success (source: cache)", url http://voa.example/special/mars-rover-finds-ice.mp3
  [python] DownloadMP3(special, "Mars Rover Finds Ice") -> status 0, msg "success (source: cache)", file_len 3192, starts "ID3", bytes of mars-rover-finds-ice.mp3

=== Scenario 2: VOA.MainLogic calls VOA.Crawl: callMethod("VOA.Crawl", "crawl.CrawlService.GetMP3List", req, {timeoutMs: 20000}) ===
  [ts] GetTitles(standard) -> status 0, msg "success (source: VOA.Crawl)", titles ["World News at Noon"]
  [ts] GetTitles(fast) -> status 100, msg "getmp3list response failed: jsoup returns 2"

=== Scenario 3: VOA.MainLogic caches the mp3 lists in MariaDB, found with getRoute("Database.mysql") ===
  [ts] GetTitles(standard) -> status 0, msg "success (source: cache)", titles ["World News at Noon"]
  [mariadb] SELECT type, position, title FROM voa.mp3_cache -> rows:
    special | 0 | Mars Rover Finds Ice
    special | 1 | Moon Base Plans
    standard | 0 | World News at Noon

=== Scenario 4: VOA.Crawl calls the heterogeneous Jsoup service: callJsonTcp("Jsoup.jsoup", …), 10-character length-prefixed JSON ===
  [jsoup] request frame -> 72        {"handleClass":"com.bison.GetMP3List","requestBody":{"type":"standard"}}
  [jsoup] reply -> {"status":0,"mp3s":[{"title":"World News at Noon","url":"http://voa.example/standard/world-news-at-noon.mp3"}]}
  [ts] VOA.Crawl GetMP3List(standard) -> status 0, msg "success", mp3s [["World News at Noon","http://voa.example/standard/world-news-at-noon.mp3"]]

=== Scenario 5: instance 1 calls VOA2.Crawl of a second msec instance (own etcd prefix /msec-b, own ports) by name ===
  [ts] GetTitles(VOA2.Crawl/standard) -> status 0, msg "success (source: VOA2.Crawl)", titles ["World News at Noon"]

=== JSON mode: curl against VOA.MainLogic (HTTP POST, JSON body) ===
  $ curl -s -X POST -H 'Content-Type: application/json' -d '{"type": "special"}' 'http://127.0.0.1:<port>/?methodName=MainLogic.MainLogicService.GetTitles'
  {"ret":0, "errmsg":"", "resultObj": {"titles": ["Mars Rover Finds Ice", "Moon Base Plans"], "status": 0, "msg": "success (source: cache)"}}
  $ curl -s -X POST -H 'Content-Type: application/json' -d '{"type": "standard", "title": "World News at Noon"}' 'http://127.0.0.1:<port>/?methodName=MainLogic.MainLogicService.GetUrlByTitle'
  {"ret":0, "errmsg":"", "resultObj": {"url": "http://voa.example/standard/world-news-at-noon.mp3", "status": 0, "msg": "success (source: cache)"}}
`;

/** Where the example's etcd keeps its data (removed on the way out). */
const ETCD_DATA = path.join(REPO_ROOT, "examples/voa/out/etcd-data");

/**
 * Environment variable that marks every process of one example run: the example passes its
 * environment on to everything it starts (services, Jsoup, etcd, MariaDB), so the marker
 * finds exactly this run's processes, not those of another checkout on the same machine.
 */
const RUN_MARKER = "MSEC_VOA_TEST_RUN";

/** A fresh environment for one example run, carrying its own marker. */
function markedEnv(): { env: NodeJS.ProcessEnv; marker: string } {
  const marker = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const env: NodeJS.ProcessEnv = { ...process.env, [RUN_MARKER]: marker };
  delete env.NODE_TEST_CONTEXT;
  return { env, marker };
}

/** pid and command line of every live process started by the run `marker`. */
function exampleProcesses(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
      if (!environ.includes(`${RUN_MARKER}=${marker}`)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue; // exited, not yet reaped
      found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim()}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

describe("VOA example: the whole run (npm run example:voa)", () => {
  test("every scenario prints exactly the expected results, and nothing is left running", async () => {
    const { env, marker } = markedEnv();
    const result = await run("npm", ["run", "--silent", "example:voa"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, EXPECTED_OUTPUT);
    assert.match(result.stderr, /^voa: stopping everything$/m);
    assert.deepEqual(exampleProcesses(marker), []);
    assert.equal(existsSync(ETCD_DATA), false);
  });

  test("the Python implementations (the walkthrough's crawl.py, handlers/python/MainLogicService.py) print exactly the same", async () => {
    const { env, marker } = markedEnv();
    const result = await run("npm", ["run", "--silent", "example:voa", "--", "--crawl", "python", "--mainlogic", "python"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^voa: generating the servers \(Crawl: python, MainLogic: python\)/m);
    assert.equal(result.stdout, EXPECTED_OUTPUT);
    assert.deepEqual(exampleProcesses(marker), []);
    assert.equal(existsSync(ETCD_DATA), false);
  });

  test("mixed implementations (Python MainLogic with TypeScript Crawl, and the reverse) print exactly the same", async () => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    for (const args of [["--mainlogic", "python"], ["--crawl", "python"]]) {
      const result = await run(process.execPath, ["--import", TSX_LOADER, path.join(REPO_ROOT, "examples/voa/run.ts"), ...args], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, EXPECTED_OUTPUT, args.join(" "));
      assert.equal(existsSync(ETCD_DATA), false);
    }
  });

  test("an invalid --crawl value fails before anything starts (exit 1)", async () => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const result = await run(process.execPath, ["--import", TSX_LOADER, path.join(REPO_ROOT, "examples/voa/run.ts"), "--crawl", "java"], { env });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^voa: FAILED: Error: --crawl must be ts or python, not java$/m);
  });

  test("SIGINT once the services run: everything is stopped, exit code 130", async () => {
    const { env, marker } = markedEnv();
    const child = spawn(process.execPath, ["--import", TSX_LOADER, path.join(REPO_ROOT, "examples/voa/run.ts")], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.stdout!.resume();
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes("voa: starting VOA.Crawl, VOA2.Crawl and VOA.MainLogic")) child.kill("SIGINT");
    });
    assert.equal(await exit, 130, stderr);
    assert.match(stderr, /^voa: stopping everything$/m);
    assert.deepEqual(exampleProcesses(marker), []);
    assert.equal(existsSync(ETCD_DATA), false);
  });
});
