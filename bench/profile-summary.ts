/**
 * Summarises a V8 CPU profile (`node --cpu-prof` output): the functions with
 * the most self time, with their source location, so a benchmark run can say
 * where a server spends its time. `node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]`.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatNumber, renderTable } from "./table.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  name: string;
  location: string;
  selfPercent: number;
}

/** Self time per function (summed over every node of the same function and location), highest first. */
export function hotSpots(profile: CpuProfile): HotSpot[] {
  const hits = new Map<number, number>();
  if (profile.samples) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  const total = [...hits.values()].reduce((a, b) => a + b, 0) || 1;
  const byFunction = new Map<string, HotSpot>();
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? 0;
    if (count === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^file:\/\//, "").replace(/^.*\/(node_modules|runtime|bench|examples)\//, "$1/");
    const location = url === "" ? "" : `${file}:${lineNumber + 1}`;
    const name = functionName || "(anonymous)";
    const key = `${name} ${location}`;
    const spot = byFunction.get(key) ?? { name, location, selfPercent: 0 };
    spot.selfPercent += (100 * count) / total;
    byFunction.set(key, spot);
  }
  return [...byFunction.values()].sort((a, b) => b.selfPercent - a.selfPercent);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "25" } } });
  for (const file of positionals) {
    const spots = hotSpots(JSON.parse(readFileSync(file, "utf8")) as CpuProfile).slice(0, Number(values.top));
    console.log(file);
    console.log(renderTable(["self %", "function", "where"], spots.map((s) => [formatNumber(s.selfPercent, 1), s.name, s.location])));
  }
}
