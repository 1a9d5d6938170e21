/**
 * The Python runtime (`templates/python/msec/`) as generated files, so
 * packages ship the exact runtime this msec-gen was built and tested with.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../../package-root.js";
import type { GeneratedFile } from "../../target.js";

/** Where the runtime's source lives, relative to the msec-gen package root. */
const RUNTIME_DIR = "templates/python/msec";

/** Every runtime file (sorted, `__pycache__` and compiled files excluded) under `<folder>/`. */
export function vendoredRuntimeFiles(folder: string): GeneratedFile[] {
  const dir = path.join(packageRoot(), RUNTIME_DIR);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith(".pyc"))
    .map((e) => e.name)
    .sort()
    .map((name) => ({ path: `${folder}/${name}`, content: readFileSync(path.join(dir, name), "utf8") }));
}
