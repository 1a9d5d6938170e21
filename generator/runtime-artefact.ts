/**
 * PROVISIONAL (rt-python branch): stands in for the lead's plumbing module of the same name
 * and signature until it lands on main; take main's version on merge.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { generatorVersion, packageRoot } from "./package-root.js";
import type { GeneratedFile } from "./target.js";

const SKIP = new Set(["node_modules", "target", "build", "dist", "__pycache__", ".pytest_cache", ".mypy_cache", ".gitignore"]);

export function runtimeFiles(lang: string, prefix: string, include: (relPath: string) => boolean = () => true): GeneratedFile[] {
  const root = path.join(packageRoot(), "runtimes", lang);
  const out: GeneratedFile[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (SKIP.has(e.name) || e.name.endsWith(".egg-info") || e.name.endsWith(".pyc")) continue;
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() && include(r)) out.push({ path: `${prefix}/${r}`, content: readFileSync(path.join(root, r), "utf8") });
    }
  };
  walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function runtimeVersion(): string {
  return generatorVersion();
}
