/**
 * The routes file: the embedded default resolver, in a plain-text format that
 * every language's runtime parses the same way.
 *
 *     # <Group.Service> <ip:port[@tcp|@udp]> [weight=N]
 *     VOA.Crawl     10.0.0.1:7963
 *     VOA.Crawl     10.0.0.2:7963  weight=200
 *     VOA.Jsoup     10.0.0.3:9000@tcp
 *
 * One instance per line; `#` starts a comment (whole line or trailing); blank
 * lines are ignored; the default weight is 100. Located by the `MSEC_ROUTES`
 * environment variable, else `[ROUTE] File` in `etc/config.ini`, else
 * `etc/routes.conf` relative to the working directory; re-read when its mtime
 * changes (checked at most once per `ROUTES_RECHECK_MS`).
 */
import { readFileSync, statSync } from "node:fs";
import { getConfig } from "../config.js";
import { parseLiteral } from "./literal.js";
import type { Resolver, RouteInstance } from "./resolver.js";

/** Weight of a line without `weight=` (the MSEC console always wrote 100). */
export const DEFAULT_WEIGHT = 100;
/** Environment variable naming the routes file. */
export const ROUTES_ENV = "MSEC_ROUTES";
/** Routes file used when neither the environment nor the config names one. */
export const DEFAULT_ROUTES_FILE = "etc/routes.conf";
/** The file is checked for changes at most this often. */
export const ROUTES_RECHECK_MS = 1000;

/** A line of a routes file that cannot be used; the message starts with `file:line:`. */
export class RoutesFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = "RoutesFileError";
  }
}

/** Parses routes-file text into instances per service name, in file order. */
export function parseRoutes(text: string, filename = "<routes>"): Map<string, RouteInstance[]> {
  const routes = new Map<string, RouteInstance[]>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.split("#", 1)[0]!.trim();
    if (line === "") return;
    const fail = (detail: string) => new RoutesFileError(filename, index + 1, detail);
    const parts = line.split(/\s+/);
    if (parts.length < 2 || parts.length > 3) {
      throw fail(`expected "<Group.Service> <ip:port[@tcp|@udp]> [weight=N]", got "${line}"`);
    }
    const [name, addressText, weightText] = parts as [string, string, string | undefined];
    if (!/^[^.:@\s]+(\.[^.:@\s]+)+$/.test(name)) {
      throw fail(`service name "${name}" is not of the form Group.Service`);
    }
    const route = parseLiteral(addressText);
    const suffix = addressText.includes("@") ? addressText.slice(addressText.indexOf("@") + 1) : "tcp";
    if (route === undefined || (suffix !== "tcp" && suffix !== "udp")) {
      throw fail(`invalid address "${addressText}" (expected ip:port, ip:port@tcp or ip:port@udp)`);
    }
    let weight = DEFAULT_WEIGHT;
    if (weightText !== undefined) {
      const match = /^weight=([0-9]+)$/.exec(weightText);
      weight = match ? Number(match[1]) : 0;
      if (!match || weight <= 0 || !Number.isSafeInteger(weight)) {
        throw fail(`expected weight=N with N > 0, got "${weightText}"`);
      }
    }
    const list = routes.get(name) ?? [];
    if (list.some((i) => i.ip === route.ip && i.port === route.port)) {
      throw fail(`${name} lists ${addressText} twice`);
    }
    list.push({ ...route, weight });
    routes.set(name, list);
  });
  return routes;
}

/** `$MSEC_ROUTES`, else `[ROUTE] File` of the config, else `etc/routes.conf`. */
export function defaultRoutesPath(configFile?: string): string {
  return process.env[ROUTES_ENV] || getConfig("ROUTE", "File", configFile) || DEFAULT_ROUTES_FILE;
}

/** Options of `createRoutesFileResolver`. */
export interface RoutesFileResolverOptions {
  /** Fixed path; default: `defaultRoutesPath()` evaluated on every check, so `MSEC_ROUTES` changes apply. */
  path?: string;
  /** Config whose `[ROUTE] File` names the routes file when `path` and `MSEC_ROUTES` do not; default `etc/config.ini`. */
  configFile?: string;
  /** Clock in ms for the recheck interval; default `Date.now`. */
  now?: () => number;
}

/**
 * A resolver reading a routes file. A missing file resolves nothing; a
 * malformed one throws `RoutesFileError` on every lookup until it is fixed.
 */
export function createRoutesFileResolver(options: RoutesFileResolverOptions = {}): Resolver {
  const now = options.now ?? Date.now;
  let loadedPath = "";
  let loadedStamp = "";
  let checkedAt = -Infinity;
  let routes = new Map<string, RouteInstance[]>();
  let failure: Error | undefined;
  const currentPath = () => options.path ?? defaultRoutesPath(options.configFile);

  function refresh(): void {
    const path = currentPath();
    const t = now();
    if (path === loadedPath && t - checkedAt < ROUTES_RECHECK_MS) return;
    checkedAt = t;
    let stamp: string;
    try {
      const s = statSync(path);
      stamp = `${s.mtimeMs}:${s.size}`;
    } catch {
      loadedPath = path;
      loadedStamp = "missing";
      routes = new Map();
      failure = undefined;
      return;
    }
    if (path === loadedPath && stamp === loadedStamp) return;
    loadedPath = path;
    loadedStamp = stamp;
    try {
      routes = parseRoutes(readFileSync(path, "utf8"), path);
      failure = undefined;
    } catch (err) {
      routes = new Map();
      failure = err as Error;
    }
  }

  return {
    resolve(service) {
      refresh();
      if (failure) throw failure;
      return routes.get(service);
    },
    describe() {
      const path = currentPath();
      return `routes file ${path}${path === loadedPath && loadedStamp === "missing" ? " (missing)" : ""}`;
    },
  };
}
