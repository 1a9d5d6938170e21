/**
 * The msec-gen package root (where package.json and templates/ live), found
 * from this module's location so it works from source (`generator/`) and from
 * the build (`dist/generator/`).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "msec-gen") return (root = dir);
    } catch {
      // no package.json here
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("msec-gen package root not found above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The version of this msec-gen (package.json `version`). */
export function generatorVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string };
  return pkg.version;
}
