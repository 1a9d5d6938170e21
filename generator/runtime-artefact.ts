/**
 * Runtime artefacts carried inside generated packages.
 *
 * Each language's runtime is its own project under `runtimes/<lang>/` of the
 * msec-gen package. Generated packages depend on it by name and version; until
 * the runtimes are published, a generated package carries the runtime's
 * artefact (source project or packed archive) in a `runtime/` folder and its
 * manifest points there (`--runtime bundled`, the default). This module only
 * reads those files as data: the generator never imports a runtime.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { generatorVersion, packageRoot } from "./package-root.js";
import type { GeneratedFile } from "./target.js";

/** How generated manifests reference the runtime. */
export type RuntimeMode = "bundled" | "registry";
export const RUNTIME_MODES: readonly RuntimeMode[] = ["bundled", "registry"];

/** Folder and file names never carried: build outputs, caches, VCS and editor files. */
const SKIPPED = new Set(["node_modules", "target", "build", "dist", "__pycache__", ".pytest_cache", ".mypy_cache", ".git", ".gitignore"]);
const isSkipped = (name: string): boolean => SKIPPED.has(name) || name.endsWith(".egg-info") || name.startsWith("build-");

/** The version of every runtime: locked to msec-gen's own version. */
export function runtimeVersion(): string {
  return generatorVersion();
}

/** Absolute path of `runtimes/<lang>/` inside the msec-gen package. */
export function runtimeDir(lang: string): string {
  return path.join(packageRoot(), "runtimes", lang);
}

/**
 * Every file of `runtimes/<lang>/` that `include` accepts (relative,
 * `/`-separated paths; default: all), sorted, as generated files under
 * `prefix/`. Build outputs and caches are never included. Files keep their
 * bytes; executables keep mode 0755. Each file is marked `runtimeArtefact`
 * so golden tests can leave the runtime's own sources out.
 */
export function runtimeFiles(lang: string, prefix: string, include: (relPath: string) => boolean = () => true): GeneratedFile[] {
  const root = runtimeDir(lang);
  const out: GeneratedFile[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (isSkipped(name)) continue;
      const abs = path.join(dir, name);
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const stat = statSync(abs);
      if (stat.isDirectory()) walk(abs, relPath);
      else if (stat.isFile() && include(relPath)) {
        out.push({
          path: `${prefix}/${relPath}`,
          content: new Uint8Array(readFileSync(abs)),
          executable: (stat.mode & 0o111) !== 0,
          runtimeArtefact: true,
        });
      }
    }
  };
  walk(root, "");
  if (out.length === 0) throw new Error(`no runtime files found under ${root}`);
  return out;
}

/** One file of `runtimes/<lang>/` (e.g. a packed archive), as a generated file at `outPath`. */
export function runtimeFile(lang: string, relPath: string, outPath: string): GeneratedFile {
  const abs = path.join(runtimeDir(lang), relPath);
  return { path: outPath, content: new Uint8Array(readFileSync(abs)), runtimeArtefact: true };
}
