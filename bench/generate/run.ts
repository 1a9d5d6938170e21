/**
 * The generator benchmark (`npm run bench:generate`): wall time of
 * `msec-gen server` and `msec-gen caller --lang ts` (the built CLI,
 * `node dist/cli/main.js`, as users run it) on the VOA protos and on a
 * reproducible corpus of ≥ 200 files, against `buf generate` with the local
 * `protoc-gen-es` plugin on the same input, in the same run. Each case runs
 * `--reps` times (default 5), alternating tools so drift hits all alike; the
 * table gives the median and fastest wall time, the median CPU time (user +
 * system of the process and its children — steadier than wall time on a
 * shared machine), and both as ratios to the faster buf setup. The last line
 * is a JSON summary.
 *
 * Flags: `--reps N`, `--files N` (corpus size, default 240), `--seed S`,
 * `--cases voa,corpus[,messages]`, `--keep` (leave the temp directory).
 *
 * The `messages` case (scaling.ts; not run by default, it takes minutes) times
 * one file of `--messages 500,2000,5000` messages for the server and each
 * caller language against protoc-gen-es alone; `--messages-reps N` (default
 * 1) and `--timeout S` (default 300, per step) bound it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runCommand } from "../process.js";
import { formatNumber, renderTable } from "../table.js";
import { DEFAULT_CORPUS_FILES, DEFAULT_CORPUS_SEED, writeCorpus } from "./corpus.js";
import { runScaling } from "./scaling.js";

/** Repository root: this file is bench/generate/run.ts, or dist/bench/bench/generate/run.js when compiled. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json")) || !existsSync(path.join(dir, "fixtures"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find the repository root above bench/generate");
    dir = up;
  }
  return dir;
}

const ROOT = repoRoot();
const CLI = path.join(ROOT, "dist/cli/main.js");
/** The platform binary inside @bufbuild/buf (about 3× faster to start than its JS shim). */
const BUF = path.join(ROOT, "node_modules/@bufbuild/buf-linux-x64/bin/buf");
const PROTOC_GEN_ES = path.join(ROOT, "node_modules/.bin/protoc-gen-es");

/** The npm `protoc` package's binary for this platform (what the Java target runs), if installed. */
function protocBinary(): string | undefined {
  const dir = path.join(ROOT, "node_modules/protoc");
  if (!existsSync(path.join(dir, "assets.json"))) return undefined;
  const assets = JSON.parse(readFileSync(path.join(dir, "assets.json"), "utf8")) as Array<{ platform: string; arch: string; executable: string }>;
  const asset = assets.find((a) => a.platform === process.platform && a.arch === process.arch);
  return asset === undefined ? undefined : path.join(dir, "bin", asset.executable);
}

/** CPU seconds of every child process reaped so far (`cutime + cstime` of `/proc/self/stat`). */
function childrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

interface Step {
  /** Row label. */
  tool: string;
  command: string;
  args: (out: string) => string[];
}

interface Case {
  name: string;
  /** What the input is, for the table. */
  input: string;
  steps: Step[];
  cwd: string;
}

interface Timing {
  wall: number[];
  cpu: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function bufTemplate(strategy: "directory" | "all"): string {
  return JSON.stringify({
    version: "v2",
    plugins: [{ local: PROTOC_GEN_ES, out: "es", opt: ["target=ts"], strategy }],
  });
}

function bufSteps(input: string): Step[] {
  return [
    {
      tool: "buf generate + protoc-gen-es (strategy all: one plugin run)",
      command: BUF,
      args: (out) => ["generate", input, "--template", bufTemplate("all"), "--output", out],
    },
    {
      tool: "buf generate + protoc-gen-es (default strategy: one plugin run per directory)",
      command: BUF,
      args: (out) => ["generate", input, "--template", bufTemplate("directory"), "--output", out],
    },
  ];
}

function msecSteps(protos: string[], include: string, serverName: string, callerName: string): Step[] {
  return [
    {
      tool: "msec-gen server",
      command: process.execPath,
      args: (out) => [CLI, "server", ...protos, "-I", include, "--name", serverName, "-o", out, "-q"],
    },
    {
      tool: "msec-gen caller --lang ts",
      command: process.execPath,
      args: (out) => [CLI, "caller", ...protos, "-I", include, "--name", callerName, "--lang", "ts", "-o", out, "-q"],
    },
  ];
}

async function time(step: Step, cwd: string, out: string): Promise<{ wall: number; cpu: number }> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const cpuBefore = childrenCpuSeconds();
  const began = performance.now();
  const result = await runCommand(step.command, step.args(out), { cwd });
  const wall = (performance.now() - began) / 1000;
  const cpu = childrenCpuSeconds() - cpuBefore;
  if (result.code !== 0) {
    throw new Error(`${step.tool} failed (exit ${result.code}):\n${(result.stderr || result.stdout).slice(0, 4000)}`);
  }
  return { wall, cpu };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reps: { type: "string", default: "5" },
      files: { type: "string", default: String(DEFAULT_CORPUS_FILES) },
      seed: { type: "string", default: String(DEFAULT_CORPUS_SEED) },
      cases: { type: "string", default: "voa,corpus" },
      keep: { type: "boolean", default: false },
      messages: { type: "string", default: "500,2000,5000" },
      "messages-reps": { type: "string", default: "1" },
      timeout: { type: "string", default: "300" },
    },
  });
  const reps = Number(values.reps);
  const wanted = values.cases.split(",");
  for (const file of [CLI, BUF, PROTOC_GEN_ES]) {
    if (!existsSync(file)) throw new Error(`${file} is missing (run npm run build / npm ci first)`);
  }
  const work = mkdtempSync(path.join(tmpdir(), "msec-bench-generate-"));
  try {
    const cases: Case[] = [];
    if (wanted.includes("voa")) {
      const voa = path.join(ROOT, "fixtures/voa");
      cases.push({
        name: "voa",
        input: "fixtures/voa: MainLogic.proto (server), Crawl.proto (caller); buf: both files",
        cwd: voa,
        steps: [
          { ...msecSteps(["MainLogic.proto"], ".", "VOA.MainLogic", "VOA.MainLogic")[0]!, tool: "msec-gen server (MainLogic.proto)" },
          { ...msecSteps(["Crawl.proto"], ".", "VOA.Crawl", "VOA.Crawl")[1]!, tool: "msec-gen caller --lang ts (Crawl.proto)" },
          ...bufSteps("."),
        ],
      });
    }
    if (wanted.includes("corpus")) {
      const dir = path.join(work, "corpus");
      const protos = writeCorpus(dir, Number(values.files), Number(values.seed));
      cases.push({
        name: "corpus",
        input: `${protos.length} generated .proto files (seed ${values.seed}), 12 packages`,
        cwd: dir,
        steps: [...msecSteps(protos, ".", "Bench.Corpus", "Bench.Corpus"), ...bufSteps(".")],
      });
    }

    if (wanted.includes("messages")) {
      console.log(`generator benchmark, messages case; node ${process.version}`);
      const sizes = values.messages.split(",").map(Number);
      await runScaling({ cli: CLI, buf: BUF, protocGenEs: PROTOC_GEN_ES, protoc: protocBinary() }, work, sizes, Number(values["messages-reps"]), Number(values.timeout));
      if (cases.length === 0) return;
    }
    console.log(`generator benchmark: ${reps} repetitions per tool, median reported; node ${process.version}`);
    const timings = new Map<string, Timing>();
    const key = (c: Case, s: Step) => `${c.name}\u0000${s.tool}`;
    for (const c of cases) {
      const out = path.join(work, "out");
      for (let rep = 0; rep < reps; rep++) {
        for (const step of c.steps) {
          const t = await time(step, c.cwd, out);
          const entry = timings.get(key(c, step)) ?? { wall: [], cpu: [] };
          entry.wall.push(t.wall);
          entry.cpu.push(t.cpu);
          timings.set(key(c, step), entry);
        }
      }
      console.error(`  ${c.name}: done`);
    }

    const med = (c: Case, s: Step) => median(timings.get(key(c, s))!.wall);
    const medCpu = (c: Case, s: Step) => median(timings.get(key(c, s))!.cpu);
    const rows = cases.flatMap((c) => {
      const bufs = c.steps.filter((s) => s.command === BUF);
      const baseline = Math.min(...bufs.map((s) => med(c, s)));
      const baselineCpu = Math.min(...bufs.map((s) => medCpu(c, s)));
      return c.steps.map((s) => {
        const t = timings.get(key(c, s))!;
        return [
          c.name,
          s.tool,
          formatNumber(median(t.wall), 3),
          formatNumber(Math.min(...t.wall), 3),
          formatNumber(median(t.cpu), 3),
          `${formatNumber(median(t.wall) / baseline, 2)}x`,
          `${formatNumber(median(t.cpu) / baselineCpu, 2)}x`,
        ];
      });
    });
    for (const c of cases) console.log(`${c.name}: ${c.input}`);
    console.log(renderTable(["case", "tool", "median s", "min s", "cpu s", "wall vs buf", "cpu vs buf"], rows));

    const find = (name: string, prefix: string) => {
      const c = cases.find((x) => x.name === name);
      const s = c?.steps.find((x) => x.tool.startsWith(prefix));
      return c && s ? Number(med(c, s).toFixed(3)) : null;
    };
    const findCpu = (name: string, prefix: string) => {
      const c = cases.find((x) => x.name === name);
      const s = c?.steps.find((x) => x.tool.startsWith(prefix));
      return c && s ? Number(medCpu(c, s).toFixed(3)) : null;
    };
    const bufFastestCpu = (name: string) => {
      const all = findCpu(name, "buf generate + protoc-gen-es (strategy all");
      const dir = findCpu(name, "buf generate + protoc-gen-es (default");
      return all === null || dir === null ? null : Math.min(all, dir);
    };
    const bufFastest = (name: string) => {
      const all = find(name, "buf generate + protoc-gen-es (strategy all");
      const dir = find(name, "buf generate + protoc-gen-es (default");
      return all === null || dir === null ? null : Math.min(all, dir);
    };
    const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : Number((a / b).toFixed(3)));
    const summary = {
      voa_server_s: find("voa", "msec-gen server"),
      voa_caller_ts_s: find("voa", "msec-gen caller"),
      voa_buf_es_s: bufFastest("voa"),
      corpus_server_s: find("corpus", "msec-gen server"),
      corpus_caller_ts_s: find("corpus", "msec-gen caller"),
      corpus_buf_es_s: bufFastest("corpus"),
      corpus_buf_es_default_strategy_s: find("corpus", "buf generate + protoc-gen-es (default"),
      corpus_server_vs_buf: ratio(find("corpus", "msec-gen server"), bufFastest("corpus")),
      corpus_caller_vs_buf: ratio(find("corpus", "msec-gen caller"), bufFastest("corpus")),
      voa_server_cpu_s: findCpu("voa", "msec-gen server"),
      corpus_server_cpu_vs_buf: ratio(findCpu("corpus", "msec-gen server"), bufFastestCpu("corpus")),
      corpus_caller_cpu_vs_buf: ratio(findCpu("corpus", "msec-gen caller"), bufFastestCpu("corpus")),
      corpus_files: wanted.includes("corpus") ? Number(values.files) : null,
      reps,
    };
    console.log(JSON.stringify(summary));
  } finally {
    if (values.keep) console.error(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
