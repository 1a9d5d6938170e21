/**
 * Summarises a V8 CPU profile (`node --cpu-prof` output): the functions with
 * the most self time, with their source location, or (`--by-package`) self
 * time summed per npm package / project folder, so a benchmark run can say
 * where a process spends its time.
 * `node dist/bench/bench/profile-summary.js FILE.cpuprofile [--top N] [--by-package]`.
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

/** A profile URL made short: from `node_modules/…` or from the project folder (`runtime/…`, `generator/…`). */
function shortPath(url: string): string {
  const file = url.replace(/^file:\/\//, "");
  const inPackage = file.lastIndexOf("/node_modules/");
  if (inPackage >= 0) return file.slice(inPackage + 1);
  return file.replace(/^.*?\/(?:dist\/(?:bench\/)?)?(cli|generator|runtime|bench|examples|templates|test)\//, "$1/");
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
    const file = shortPath(url);
    const location = url === "" ? "" : `${file}:${lineNumber + 1}`;
    const name = functionName || "(anonymous)";
    const key = `${name} ${location}`;
    const spot = byFunction.get(key) ?? { name, location, selfPercent: 0 };
    spot.selfPercent += (100 * count) / total;
    byFunction.set(key, spot);
  }
  return [...byFunction.values()].sort((a, b) => b.selfPercent - a.selfPercent);
}

/** Where a location belongs: an npm package (`@bufbuild/protobuf (esm)`), a project folder, Node internals, or V8 pseudo-frames. */
export function ownerOf(spot: HotSpot): string {
  if (spot.location === "") return spot.name.startsWith("(") ? spot.name : "(native)";
  if (spot.location.startsWith("node:")) return "node internals";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:dist\/(esm|cjs|commonjs)\/)?/.exec(spot.location);
  if (pkg !== null) return pkg[2] === undefined ? pkg[1]! : `${pkg[1]} (${pkg[2] === "esm" ? "esm" : "cjs"})`;
  return spot.location.split("/")[0] ?? spot.location;
}

/** Self time summed per owner (see `ownerOf`), highest first. */
export function hotOwners(spots: HotSpot[]): HotSpot[] {
  const byOwner = new Map<string, number>();
  for (const spot of spots) byOwner.set(ownerOf(spot), (byOwner.get(ownerOf(spot)) ?? 0) + spot.selfPercent);
  return [...byOwner].map(([name, selfPercent]) => ({ name, location: "", selfPercent })).sort((a, b) => b.selfPercent - a.selfPercent);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" }, "by-package": { type: "boolean", default: false } },
  });
  for (const file of positionals) {
    const all = hotSpots(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
    console.log(file);
    if (values["by-package"]) {
      const owners = hotOwners(all).slice(0, Number(values.top));
      console.log(renderTable(["self %", "package / folder"], owners.map((s) => [formatNumber(s.selfPercent, 1), s.name])));
    } else {
      const spots = all.slice(0, Number(values.top));
      console.log(renderTable(["self %", "function", "where"], spots.map((s) => [formatNumber(s.selfPercent, 1), s.name, s.location])));
    }
  }
}
