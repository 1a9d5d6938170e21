/**
 * INI configuration with the semantics of MSEC's `get_config(section, key)`
 * (spec §8.1, §5.5): `[Section]` headers, `key=value` lines split at the first
 * `=` with both sides trimmed, whole-line comments starting with `#` or `;`.
 * A missing file, section or key, or an empty value, all read as `undefined`.
 *
 * Written here rather than taken from the `ini` npm package: that package
 * nests dotted section names (`[VOA.Crawl]` becomes `{VOA: {Crawl: …}}`),
 * turns `key[]` into arrays, unquotes and JSON-decodes quoted values and
 * coerces `true`/`false` — none of which MSEC's flat parser does.
 */
import { readFileSync, statSync } from "node:fs";

/** Default config location, relative to the working directory. */
export const DEFAULT_CONFIG_PATH = "etc/config.ini";

/** A parsed INI file. */
export interface Config {
  /** Where the text came from (a path, or a name given to `parseConfig`). */
  readonly source: string;
  /** Value of `key` in `[section]`; `undefined` when missing or empty. Names are case-sensitive. */
  get(section: string, key: string): string | undefined;
  /** Section names in file order. */
  sections(): string[];
  /** `[key, value]` pairs of a section in file order (empty values included). */
  entries(section: string): Array<[string, string]>;
}

/**
 * Parses INI text. Lines that are neither a section header, a `key=value`
 * pair, a comment nor blank are ignored, as MSEC's loader does; keys before
 * the first section header belong to the section named `""`. A key repeated
 * within a section keeps its last value.
 */
export function parseConfig(text: string, sourceName = "<config>"): Config {
  const data = new Map<string, Map<string, string>>();
  let current = data.get("") ?? new Map<string, string>();
  data.set("", current);
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[") && line.endsWith("]")) {
      const name = line.slice(1, -1).trim();
      current = data.get(name) ?? new Map<string, string>();
      data.set(name, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (key === "") continue;
    current.delete(key); // keep file order of the last assignment
    current.set(key, line.slice(eq + 1).trim());
  }
  return {
    source: sourceName,
    get(section, key) {
      const value = data.get(section)?.get(key);
      return value === undefined || value === "" ? undefined : value;
    },
    sections() {
      return [...data.keys()].filter((name) => name !== "" || data.get("")!.size > 0);
    },
    entries(section) {
      return [...(data.get(section) ?? new Map<string, string>()).entries()];
    },
  };
}

/** Reads and parses an INI file; a missing file gives an empty config (MSEC: all defaults). */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return parseConfig("", path);
    throw err;
  }
  return parseConfig(text, path);
}

/** Parsed files by path, re-read when the file's mtime or size changes. */
const cache = new Map<string, { mtimeMs: number; size: number; config: Config }>();

/**
 * MSEC's `get_config(section, key)`: one value from an INI file (default
 * `etc/config.ini` relative to the working directory). The file is re-read
 * when it changes on disk.
 */
export function getConfig(section: string, key: string, filename: string = DEFAULT_CONFIG_PATH): string | undefined {
  let stat;
  try {
    stat = statSync(filename);
  } catch {
    cache.delete(filename);
    return undefined;
  }
  let entry = cache.get(filename);
  if (!entry || entry.mtimeMs !== stat.mtimeMs || entry.size !== stat.size) {
    entry = { mtimeMs: stat.mtimeMs, size: stat.size, config: loadConfig(filename) };
    cache.set(filename, entry);
  }
  return entry.config.get(section, key);
}
