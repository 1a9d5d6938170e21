/**
 * `[SRPC] workers=N` against real processes and sockets: a service started
 * with `startServer` (test/workers-server.ts) in a worker group. Covers the
 * metrics aggregation, config errors, calls spread over workers on TCP
 * (SRPC and HTTP) and UDP, `/metrics` summed over workers, a killed worker
 * restarted while the others keep serving, and SIGTERM draining a slow call.
 */
import { after, describe, test } from "node:test";
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request, Agent } from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { EtcdGateway, aggregateMetrics, decodeFrame, encodeFrame, parseWorkers, servicePrefix } from "@msec-gen/runtime";
import { startEtcd } from "../../../test/etcd/etcd-process.js";
import { type FrameVector, hex, loadVector } from "./vectors.js";
import { dial, readFrames, udpCall } from "./net-helpers.js";

const SERVER = fileURLToPath(new URL("./workers-server.ts", import.meta.url));

/** A running workers-server: its main process, port, and everything it printed. */
interface Running {
  proc: ChildProcess;
  port: number;
  stdout: string[];
  stderr: string[];
  /** Resolves with the next stdout line matching `pattern`. */
  waitFor(pattern: RegExp): Promise<string>;
  exited: Promise<number | null>;
}

const running: Running[] = [];
after(() => {
  for (const r of running) if (r.proc.exitCode === null) r.proc.kill("SIGKILL");
});

function configWith(lines: string): string {
  const dir = mkdtempSync(join(tmpdir(), "msec-workers-"));
  const path = join(dir, "config.ini");
  writeFileSync(path, `[SRPC]\nlisten = 127.0.0.1:0/tcp 127.0.0.1:0/udp\n${lines}\n[LOG]\nLevel = INFO\n`);
  return path;
}

const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** Starts `args` under node with tsx (default: the workers server with `config`). */
function launch(config: string, args: string[] = [SERVER, config]): Running {
  const proc = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watchers: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let partial = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      stdout.push(line);
      for (const w of [...watchers]) {
        if (w.pattern.test(line)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const r: Running = {
    proc,
    port: 0,
    stdout,
    stderr,
    exited,
    waitFor(pattern) {
      const seen = stdout.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        void exited.then((code) => reject(new Error(`server exited (${code}) before printing ${pattern}: ${stderr.join("")}`)));
      });
    },
  };
  running.push(r);
  return r;
}

async function start(config: string, args?: string[]): Promise<Running> {
  const r = launch(config, args);
  const line = await r.waitFor(/"msg":"listening on /); // the JSON startup line
  r.port = Number(/:(\d+) \(/.exec(line)![1]);
  return r;
}

/** One HTTP request on a connection of its own (or on `agent`'s kept-alive one); resolves with status and body. */
function http(
  port: number,
  method: string,
  path: string,
  body?: string,
  agent: Agent | false = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function pidCall(port: number, agent: Agent | false = false): Promise<number> {
  const answer = await http(port, "POST", "/?methodName=test.Workers.Pid", "{}", agent);
  const envelope = JSON.parse(answer.body) as { ret: number; resultObj: { pid: number } };
  assert.equal(envelope.ret, 0, answer.body);
  return envelope.resultObj.pid;
}

/** Makes `call` (a call on a new connection, resolving with the serving pid) at least 20 times, until two pids were seen (at most 400). */
async function bothWorkers(call: () => Promise<number>): Promise<number[]> {
  const pids: number[] = [];
  while (pids.length < 400 && (pids.length < 20 || new Set(pids).size < 2)) pids.push(await call());
  return pids;
}

/** The sum of every `…requests_total` sample labelled with `method` (whatever its other labels). */
function requestsFor(metrics: string, method: string): number {
  let sum = 0;
  for (const line of metrics.split("\n")) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m && m[1]!.endsWith("requests_total") && m[2]!.includes(`method="${method}"`)) sum += Number(m[3]);
  }
  return sum;
}

/** True when a TCP connect is refused; false when it connects (or is reset, as a backlog entry of a closing listener). */
function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => {
      s.destroy();
      resolve(false);
    });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

/** Waits until `count` lines of the server's output (stdout and stderr) match `pattern`. */
async function waitForCount(r: Running, pattern: RegExp, count: number): Promise<void> {
  const seen = (): number =>
    [...r.stdout, ...r.stderr.join("").split("\n")].filter((line) => pattern.test(line)).length;
  while (seen() < count) {
    await new Promise<void>((resolve) => {
      r.proc.stdout!.once("data", () => resolve());
      r.proc.stderr!.once("data", () => resolve());
    });
  }
}

function gauge(metrics: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(metrics);
  return m ? Number(m[1]) : undefined;
}

describe("aggregateMetrics", () => {
  test("sums identical series, keeps HELP/TYPE once, groups a series only one worker has with its family", () => {
    const a = [
      "# HELP calls_total Calls.",
      "# TYPE calls_total counter",
      'calls_total{method="a b",code="0"} 3',
      "# HELP open Open connections.",
      "# TYPE open gauge",
      "open 2",
      "# TYPE lat histogram",
      'lat_bucket{le="0.1"} 1',
      'lat_bucket{le="+Inf"} 2',
      "lat_sum 0.25",
      "lat_count 2",
      "",
    ].join("\n");
    const b = [
      "# HELP calls_total Calls.",
      "# TYPE calls_total counter",
      'calls_total{method="a b",code="0"} 4',
      'calls_total{method="a b",code="-6"} 1',
      "# HELP open Open connections.",
      "# TYPE open gauge",
      "open 5",
      "# TYPE lat histogram",
      'lat_bucket{le="0.1"} 0',
      'lat_bucket{le="+Inf"} 1',
      "lat_sum 0.5",
      "lat_count 1",
      "",
    ].join("\n");
    assert.equal(
      aggregateMetrics([a, b]),
      [
        "# HELP calls_total Calls.",
        "# TYPE calls_total counter",
        'calls_total{method="a b",code="0"} 7',
        'calls_total{method="a b",code="-6"} 1',
        "# HELP open Open connections.",
        "# TYPE open gauge",
        "open 7",
        "# TYPE lat histogram",
        'lat_bucket{le="0.1"} 1',
        'lat_bucket{le="+Inf"} 3',
        "lat_sum 0.75",
        "lat_count 3",
        "",
      ].join("\n"),
    );
    assert.equal(aggregateMetrics([]), "");
  });

  test("per-process gauges are not summed: the oldest start time, the largest fd limit, the worst event-loop lag", () => {
    const worker = (start: number, maxFds: number, lag: number, rss: number) =>
      [
        "# TYPE process_start_time_seconds gauge",
        `process_start_time_seconds ${start}`,
        "# TYPE process_max_fds gauge",
        `process_max_fds ${maxFds}`,
        "# TYPE process_resident_memory_bytes gauge",
        `process_resident_memory_bytes ${rss}`,
        "# TYPE nodejs_eventloop_lag_p99_seconds gauge",
        `nodejs_eventloop_lag_p99_seconds ${lag}`,
      ].join("\n");
    assert.equal(
      aggregateMetrics([worker(1700000100, 1024, 0.002, 100), worker(1700000050, 4096, 0.01, 250)]),
      [
        "# TYPE process_start_time_seconds gauge",
        "process_start_time_seconds 1700000050",
        "# TYPE process_max_fds gauge",
        "process_max_fds 4096",
        "# TYPE process_resident_memory_bytes gauge",
        "process_resident_memory_bytes 350",
        "# TYPE nodejs_eventloop_lag_p99_seconds gauge",
        "nodejs_eventloop_lag_p99_seconds 0.01",
        "",
      ].join("\n"),
    );
  });
});

describe("parseWorkers", () => {
  test("absent is 1, auto is availableParallelism(), a whole number is itself", () => {
    assert.equal(parseWorkers(undefined), 1);
    assert.equal(parseWorkers("auto"), availableParallelism());
    assert.equal(parseWorkers("3"), 3);
    assert.equal(parseWorkers(2), 2);
  });
  for (const bad of ["0", "x", "-1", "1.5", "100000"]) {
    test(`workers=${bad} is refused naming the key`, () => {
      assert.throws(() => parseWorkers(bad), /^Error: \[SRPC\] workers: want a whole number from 1 to 256 or "auto", got/);
    });
  }
  test("a service whose config says workers=auto runs one worker per availableParallelism()", async () => {
    const r = await start(configWith("workers = auto"));
    const metrics = (await http(r.port, "GET", "/metrics")).body;
    assert.equal(gauge(metrics, "msec_workers"), availableParallelism());
    r.proc.kill("SIGTERM");
    assert.equal(await r.exited, 0);
  });
  test("a service whose config says workers=x exits 2 with the error on stderr", async () => {
    const r = launch(configWith("workers = x"));
    assert.equal(await r.exited, 2);
    assert.match(r.stderr.join(""), /\[SRPC\] workers: want a whole number from 1 to 256 or "auto", got "x"/);
  });
});

describe("workers=2", { timeout: 120_000 }, () => {
  test("calls spread over both workers on TCP and UDP, /metrics sums them, a killed worker is replaced, SIGTERM drains", async () => {
    const r = await start(configWith("workers = 2"));
    const mainPid = r.proc.pid!;

    // /health answers for the instance; metrics count the worker group.
    assert.deepEqual(await http(r.port, "GET", "/health"), { status: 200, body: "ok\n" });
    const before = (await http(r.port, "GET", "/metrics")).body;
    assert.equal(gauge(before, "msec_workers"), 2);
    assert.equal(requestsFor(before, "test.Workers.Pid"), 0);

    // Calls, each on a new connection: both workers serve (the kernel gives each connection to
    // one of them), never the main process.
    const pids = await bothWorkers(() => pidCall(r.port));
    const calls = pids.length;
    const workerPids = new Set(pids);
    assert.equal(workerPids.size, 2, `pids seen: ${[...workerPids].join(", ")}`);
    assert.ok(!workerPids.has(mainPid), "the main process serves no calls");

    // SRPC over TCP on the same port.
    const srpcCalls = await bothWorkers(async () => {
      const s = await dial(r.port);
      s.write(encodeFrame({ sequence: 1n, methodName: "test.Workers.Pid" }, new Uint8Array()));
      const [frame] = await readFrames(s, 1);
      s.destroy();
      const { head, body } = decodeFrame(frame!);
      assert.equal(head.err ?? 0, 0);
      return Number(Buffer.from(body).toString());
    });
    assert.deepEqual(new Set(srpcCalls), workerPids);

    // UDP on the same port number: every datagram answered by some worker.
    const v1 = loadVector<FrameVector>("v1-python-client-request.json");
    for (let i = 0; i < 5; i++) {
      assert.equal((await udpCall(r.port, hex(v1.frame_hex!)))?.toString("hex"), v1.echo_response_hex);
    }

    // /metrics on any worker is the instance's sum: exactly the calls made, whichever worker served them.
    for (let i = 0; i < 4; i++) {
      const metrics = (await http(r.port, "GET", "/metrics")).body;
      assert.equal(requestsFor(metrics, "test.Workers.Pid"), calls + srpcCalls.length);
      assert.equal(gauge(metrics, "msec_workers"), 2);
    }
    const head = await http(r.port, "HEAD", "/metrics");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");

    // kill -9 one worker while a kept-alive connection to the other goes on calling.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const survivor = await pidCall(r.port, agent);
    const victim = [...workerPids].find((pid) => pid !== survivor)!;
    process.kill(victim, "SIGKILL");
    for (let i = 0; i < 20; i++) assert.equal(await pidCall(r.port, agent), survivor, "the surviving connection keeps its worker");
    // New connections are all answered (by the survivor) until the replacement comes, then by both.
    let replacement: number | undefined;
    for (let i = 0; replacement === undefined; i++) {
      assert.ok(i < 2000, "no replacement worker served a call");
      const pid = await pidCall(r.port);
      assert.notEqual(pid, victim);
      if (pid !== survivor) replacement = pid;
    }
    assert.match(r.stderr.join("") + r.stdout.join("\n"), /worker process exited; restarting it/);
    agent.destroy();
    const afterRestart = (await http(r.port, "GET", "/metrics")).body;
    assert.equal(gauge(afterRestart, "msec_workers"), 2);

    // SIGTERM on the main process: new connections are refused while the slow call in flight
    // finishes; then everything exits 0.
    let slowSettled = false;
    const slow = http(r.port, "POST", "/?methodName=test.Workers.Slow", JSON.stringify({ ms: 6000 })).finally(() => {
      slowSettled = true;
    });
    await r.waitFor(/^slow call started$/);
    r.proc.kill("SIGTERM");
    // Each worker logs when it starts draining; after that its listener is closed.
    await waitForCount(r, /draining before exit/, 2);
    let refused = false;
    for (let i = 0; !refused; i++) {
      assert.ok(i < 200, "new connections were still accepted while draining");
      refused = await connectRefused(r.port);
    }
    assert.equal(slowSettled, false, "the refusal was seen while the slow call still ran");
    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { ret: 0, errmsg: "", resultObj: { slept: 6000 } });
    assert.equal(await r.exited, 0);
    assert.equal(await connectRefused(r.port), true, "nothing listens after the exit");
    for (const pid of [survivor, replacement!]) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone`);
  });
});

describe("workers=2 with etcd", { timeout: 120_000 }, () => {
  test("the instance registers once (by the main process) and deregisters on SIGTERM", async () => {
    const etcd = await startEtcd(1);
    try {
      const prefix = "/t-workers";
      const r = await start(
        configWith(`workers = 2\n[ROUTE]\netcd = ${etcd.endpoints.join(",")}\netcd_prefix = ${prefix}\netcd_ttl = 5\netcd_advertise = 127.0.0.1`),
      );
      await r.waitFor(/"msg":"registered /);
      const gateway = new EtcdGateway(etcd.endpoints);
      const { kvs: stored } = await gateway.getPrefix(servicePrefix(prefix, "test.Workers"));
      assert.deepEqual(
        stored.map((kv) => kv.key),
        [`${prefix}/services/test.Workers/127.0.0.1:${r.port}`],
      );
      assert.equal(r.stdout.filter((line) => line.includes('"msg":"registered ')).length, 1);
      // Both workers serve while registered once.
      assert.equal(new Set(await bothWorkers(() => pidCall(r.port))).size, 2);
      r.proc.kill("SIGTERM");
      assert.equal(await r.exited, 0);
      assert.deepEqual((await gateway.getPrefix(servicePrefix(prefix, "test.Workers"))).kvs, []);
    } finally {
      await etcd.stop();
    }
  });
});

describe("the echo server with --workers", { timeout: 120_000 }, () => {
  test("--workers 2 serves echo from both workers and sums /metrics; --workers 0 is refused", async () => {
    const r = await start("", ["examples/echo/echo-server.ts", "--port", "0", "--host", "127.0.0.1", "--workers", "2"]);
    for (let i = 0; i < 10; i++) {
      const answer = await http(r.port, "POST", "/?methodName=echo.EchoService.Echo", JSON.stringify({ message: "aGk=" }));
      assert.deepEqual(JSON.parse(answer.body), { ret: 0, errmsg: "", resultObj: { message: "aGk=" } });
    }
    const metrics = (await http(r.port, "GET", "/metrics")).body;
    assert.equal(gauge(metrics, "msec_workers"), 2);
    assert.equal(requestsFor(metrics, "echo.EchoService.Echo"), 10);
    r.proc.kill("SIGTERM");
    assert.equal(await r.exited, 0);

    const bad = launch("", ["examples/echo/echo-server.ts", "--port", "0", "--workers", "0"]);
    assert.equal(await bad.exited, 2);
    assert.match(bad.stderr.join(""), /echo-server: workers: want a whole number from 1 to 256 or "auto", got "0"/);
  });
});
