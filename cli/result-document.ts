/**
 * The `--json` result of `server`, `caller`, `generate` and `generate --check`:
 * one JSON document on stdout, the shape documented in docs/cli.md
 * ("JSON output"). Human progress stays on stderr.
 */
import { generatorVersion } from "../generator/package-root.js";
import type { TargetKind } from "../generator/target.js";
import { UserError } from "../generator/user-error.js";

/** Identifies the document's shape; bumped when a field changes meaning or goes away. */
export const RESULT_SCHEMA = "msec-gen.result.v1";

export interface OutputResult {
  /** Index in the config's `generate:` list; `null` for `server` / `caller`. */
  entry: number | null;
  kind: TargetKind;
  name: string;
  languages: string[];
  /** Absolute path of the package: its folder, or the `.tgz`. */
  path: string;
  format: "dir" | "tgz";
  /** Absolute path of the output directory it is in. */
  directory: string;
  /** Number of files in the package. */
  files: number;
  /** Time to generate it in memory. */
  generateMs: number;
}

export interface PathReason {
  path: string;
  reason: string;
  /** Unified diff (`--check --diff` only). */
  diff?: string;
}

/** One output directory; every path is relative to `path`. Lists that do not apply to the command are empty. */
export interface DirectoryResult {
  path: string;
  /** The manifest's file name in the directory; `null` when none is kept (`server`/`caller`). */
  manifest: string | null;
  written: string[];
  unchanged: string[];
  kept: string[];
  removed: string[];
  orphaned: PathReason[];
  replaced: PathReason[];
  changed: PathReason[];
  missing: PathReason[];
  stale: PathReason[];
  stray: string[];
}

export interface ResultDocument {
  schema: typeof RESULT_SCHEMA;
  command: "server" | "caller" | "generate" | "check";
  ok: boolean;
  msecGenVersion: string;
  /** The config file (absolute), `null` for `server` / `caller`. */
  config: string | null;
  outputs: OutputResult[];
  directories: DirectoryResult[];
  warnings: string[];
  errors: string[];
  timings: { totalMs: number; generateMs: number; writeMs: number };
}

export function newResult(command: ResultDocument["command"], config: string | null): ResultDocument {
  return {
    schema: RESULT_SCHEMA,
    command,
    ok: true,
    msecGenVersion: generatorVersion(),
    config,
    outputs: [],
    directories: [],
    warnings: [],
    errors: [],
    timings: { totalMs: 0, generateMs: 0, writeMs: 0 },
  };
}

export function newDirectory(dir: string, manifest: string | null): DirectoryResult {
  return { path: dir, manifest, written: [], unchanged: [], kept: [], removed: [], orphaned: [], replaced: [], changed: [], missing: [], stale: [], stray: [] };
}

/** Milliseconds rounded to 0.1. */
export function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

/** The text of an error as `report` prints it, without the `msec-gen: error: ` prefix (for `--json`). */
export function errorText(e: unknown): string {
  if (e instanceof UserError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}
