/**
 * The C++ runtime artefact a caller package carries in `runtime/`: the
 * CMake package source of `runtimes/cpp/` (MsecRuntime), without its tests
 * and build outputs. Stand-in for the pipeline's `runtimeFiles()` until it lands.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../../package-root.js";
import type { GeneratedFile } from "../../target.js";

/** Folders of runtimes/cpp that never go into a package. */
const SKIPPED = new Set(["build", "tests"]);

export function cppRuntimeFiles(prefix: string): GeneratedFile[] {
  const root = path.join(packageRoot(), "runtimes", "cpp");
  const out: GeneratedFile[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED.has(child)) walk(child);
      } else if (child !== "test.sh") {
        out.push({ path: `${prefix}/${child}`, content: readFileSync(path.join(root, child), "utf8"), executable: false });
      }
    }
  };
  walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
