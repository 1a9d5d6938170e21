/**
 * The echo benchmark (`npm run bench:echo`, which compiles `bench/` and the
 * runtime with `bench/tsconfig.json` and runs `dist/bench/bench/echo/run.js`
 * on plain node): for each peer, starts its server
 * in one process and the load generator (`load.ts`) in another, over
 * loopback, then prints a table and, as the last line, a JSON summary:
 * `{"msec_rps":…,"grpc_js_rps":…,"connect_rps":…,"ceiling_rps":…,"msec_p99_ms":…, …}`,
 * with `msec_workers1_rps`, `msec_workers2_rps` and their `msec_workers2_ratio`
 * (the msec server through `startServer` with `[SRPC] workers` 1 and 2, both
 * driven over the same connections in the same run). Server CPU counts a
 * server's workers too.
 *
 * Flags: `--duration S` (measured seconds per peer, default 10), `--warmup S`
 * (default 5), `--concurrency N` (default 64), `--payload BYTES` (default
 * 100), `--peers a,b` (default all), `--server-node-args "…"` (extra Node
 * flags for the server processes, e.g. `--cpu-prof --cpu-prof-dir=prof`),
 * `--rounds N` (default 1: run all peers N times in turn and report, per peer,
 * the round with the median req/s — steadier on a shared machine).
 */
import { readFileSync, readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { nodeScript, processCpuSeconds, runCommand, siblingScript, startServer } from "../process.js";
import { formatNumber, renderTable } from "../table.js";
import { type LoadResult, PHASE_DONE, PHASE_MEASURE } from "./load.js";
import { availableParallelism } from "node:os";
import { ECHO_PEERS, type EchoPeer, WORKERS_ROW_CONNECTIONS } from "./peers.js";
import { DEFAULT_PAYLOAD_BYTES } from "./payload.js";


/** MSEC's published echo throughput of its Python server: scenario A, long connections, Xeon X3320, 4 cores (spec §10). */
const MSEC_PYTHON_PUBLISHED_RPS = 32_000;

interface PeerOutcome {
  peer: EchoPeer;
  result?: LoadResult;
  /** Server CPU time during the measured window, as a share of one core. */
  serverCpu?: number;
  /** Why the peer could not be measured. */
  failure?: string;
}

/** Pids of `pid`'s living descendants (a server with workers is a process tree), from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const child of children.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

/** CPU seconds of a server process and its living descendants (its workers). */
function treeCpuSeconds(pid: number): number | undefined {
  const own = processCpuSeconds(pid);
  if (own === undefined) return undefined;
  return descendants(pid).reduce((sum, child) => sum + (processCpuSeconds(child) ?? 0), own);
}

async function measure(peer: EchoPeer, loadArgs: string[], serverNodeArgs: string[]): Promise<PeerOutcome> {
  let server;
  try {
    server = await startServer(
      siblingScript(import.meta.url, `servers/${peer.server}`),
      ["--port", "0", ...(peer.serverArgs ?? [])],
      serverNodeArgs,
    );
  } catch (err) {
    return { peer, failure: (err as Error).message };
  }
  try {
    let cpuAtStart: number | undefined;
    let serverCpu: number | undefined;
    let startedAt = 0;
    const onLine = (line: string) => {
      if (line === PHASE_MEASURE) {
        cpuAtStart = treeCpuSeconds(server.pid);
        startedAt = performance.now();
      } else if (line === PHASE_DONE) {
        const cpuAtEnd = treeCpuSeconds(server.pid);
        if (cpuAtStart !== undefined && cpuAtEnd !== undefined) {
          serverCpu = (cpuAtEnd - cpuAtStart) / ((performance.now() - startedAt) / 1000);
        }
      }
    };
    const load = await runCommand(process.execPath, [
      ...nodeScript(siblingScript(import.meta.url, "load")),
      "--protocol",
      peer.protocol,
      "--port",
      String(server.port),
      ...loadArgs,
      ...(peer.loadArgs ?? []),
    ], { onLine });
    const last = load.stdout.trim().split("\n").pop() ?? "";
    if (load.code !== 0 || !last.startsWith("{")) {
      return { peer, failure: `load generator failed (${load.code}): ${load.stderr.trim()}` };
    }
    return { peer, result: JSON.parse(last) as LoadResult, ...(serverCpu !== undefined ? { serverCpu } : {}) };
  } finally {
    await server.stop();
  }
}

/**
 * The round to report for a peer: the one with the median req/s (the lower
 * middle for an even count), so its latencies come from the same real run;
 * a failure if any round failed.
 */
function medianRound(runs: PeerOutcome[]): PeerOutcome {
  const failed = runs.find((o) => o.result === undefined);
  if (failed !== undefined) return failed;
  const sorted = [...runs].sort((a, b) => a.result!.rps - b.result!.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const round = (value: number | undefined, digits: number) =>
  value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "5" },
      concurrency: { type: "string", default: "64" },
      payload: { type: "string", default: String(DEFAULT_PAYLOAD_BYTES) },
      peers: { type: "string", default: ECHO_PEERS.map((p) => p.id).join(",") },
      "server-node-args": { type: "string", default: "" },
      rounds: { type: "string", default: "1" },
    },
  });
  const wanted = values.peers.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((id) => !ECHO_PEERS.some((p) => p.id === id));
  if (unknown.length > 0) throw new Error(`unknown peer(s) ${unknown.join(", ")}; known: ${ECHO_PEERS.map((p) => p.id).join(", ")}`);
  const loadArgs = ["--duration", values.duration, "--warmup", values.warmup, "--concurrency", values.concurrency, "--payload", values.payload];
  const serverNodeArgs = values["server-node-args"].split(/\s+/).filter(Boolean);

  console.log(
    `echo benchmark: ${values.concurrency} calls in flight, ${values.payload}-byte payload, ` +
      `warm-up ${values.warmup} s, measured ${values.duration} s per peer, loopback, server and load in separate processes` +
      (Number(values.rounds) > 1 ? `, ${values.rounds} rounds (median round per peer)` : ""),
  );
  const outcomes: PeerOutcome[] = [];
  const peers = ECHO_PEERS.filter((p) => wanted.includes(p.id));
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  const byPeer = new Map<string, PeerOutcome[]>(peers.map((p) => [p.id, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const peer of peers) {
      const outcome = await measure(peer, loadArgs, serverNodeArgs);
      byPeer.get(peer.id)!.push(outcome);
      const r = outcome.result;
      const label = rounds > 1 ? `  round ${round} ${peer.id}` : `  ${peer.id}`;
      console.error(r ? `${label}: ${formatNumber(r.rps)} req/s` : `${label}: not measured — ${outcome.failure}`);
    }
  }
  for (const peer of peers) outcomes.push(medianRound(byPeer.get(peer.id)!));

  const get = (id: string) => outcomes.find((o) => o.peer.id === id)?.result;
  const ceiling = get("ceiling");
  const cpu = (share: number | undefined) => (share === undefined ? "-" : `${formatNumber(100 * share)}%`);
  const rows = outcomes.map(({ peer, result: r, failure, serverCpu }) =>
    r
      ? [
          peer.id,
          formatNumber(r.rps),
          formatNumber(r.p50Ms, 3),
          formatNumber(r.p99Ms, 3),
          formatNumber(r.maxMs, 3),
          formatNumber(r.errors),
          ceiling ? `${formatNumber((100 * r.rps) / ceiling.rps, 1)}%` : "-",
          cpu(serverCpu),
          cpu(r.loadCpu),
          peer.transport,
        ]
      : [peer.id, "-", "-", "-", "-", "-", "-", "-", "-", `NOT MEASURED: ${(failure ?? "").split("\n")[0]}`],
  );
  console.log(
    renderTable(["peer", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "of ceiling", "server cpu", "load cpu", "transport"], rows),
  );
  const python = get("python");
  if (wanted.includes("python")) {
    console.log(
      `python: ${python ? `${formatNumber(python.rps)} req/s` : "not measured"} on this machine, beside MSEC's published ` +
        `${formatNumber(MSEC_PYTHON_PUBLISHED_RPS)} req/s for its Python server (echo over long connections, 4 cores, spec §10)`,
    );
  }

  // Connect is reported with its faster protocol; the key says which.
  const connectCandidates = [get("connect"), get("connect-grpc")].filter((r): r is LoadResult => r !== undefined);
  const connect = connectCandidates.sort((a, b) => b.rps - a.rps)[0];
  const msec = get("msec");
  const workers1 = get("msec-workers1");
  const workers2 = get("msec-workers2");
  if (workers1 && workers2) {
    console.log(
      `workers: ${formatNumber(workers2.rps)} req/s with workers=2 against ${formatNumber(workers1.rps)} with workers=1 ` +
        `(×${(workers2.rps / workers1.rps).toFixed(2)}) on ${availableParallelism()} cores shared with the load generator`,
    );
  }
  const summary = {
    msec_rps: round(msec?.rps, 0),
    grpc_js_rps: round(get("grpc-js")?.rps, 0),
    connect_rps: round(connect?.rps, 0),
    ceiling_rps: round(ceiling?.rps, 0),
    msec_p99_ms: round(msec?.p99Ms, 3),
    msec_p50_ms: round(msec?.p50Ms, 3),
    msec_of_ceiling: msec && ceiling ? round(msec.rps / ceiling.rps, 3) : null,
    connect_protocol: connect === undefined ? null : connect.protocol === "connect" ? "connect+proto over h2c" : "grpc over h2c",
    grpc_js_p99_ms: round(get("grpc-js")?.p99Ms, 3),
    connect_p99_ms: round(connect?.p99Ms, 3),
    ceiling_p99_ms: round(ceiling?.p99Ms, 3),
    concurrency: Number(values.concurrency),
    payload_bytes: Number(values.payload),
    warmup_s: Number(values.warmup),
    duration_s: Number(values.duration),
    rounds,
    msec_workers1_rps: round(workers1?.rps, 0),
    msec_workers2_rps: round(workers2?.rps, 0),
    msec_workers2_ratio: workers1 && workers2 ? round(workers2.rps / workers1.rps, 3) : null,
    msec_workers_connections: WORKERS_ROW_CONNECTIONS,
    cores: availableParallelism(),
    python_rps: round(python?.rps, 0),
    python_p99_ms: round(python?.p99Ms, 3),
    msec_published_python_rps: MSEC_PYTHON_PUBLISHED_RPS,
  };
  console.log(JSON.stringify(summary));
  if (outcomes.some((o) => o.result === undefined)) process.exitCode = 1;
}

await main();
