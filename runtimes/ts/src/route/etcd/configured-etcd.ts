/**
 * The etcd resolver a plain caller gets with no code: when
 * `$MSEC_ETCD_ENDPOINTS` (else `[ROUTE] etcd` of `etc/config.ini`) names etcd
 * endpoints, routing names resolve through an etcd resolver (watch-fed cache,
 * `createEtcdResolver`) before the routes file, as the Python and Go callers
 * do. The prefix comes from `$MSEC_ETCD_PREFIX`, else `[ROUTE] etcd_prefix`,
 * else `/msec`.
 *
 * The settings are read again at most every `ROUTES_RECHECK_MS`; the resolver
 * starts on the first lookup that reaches it, and is replaced when the
 * settings change. Its watch does not keep the process alive, so a script
 * that makes its calls and returns exits by itself. It stands aside when a
 * resolver registered with `registerResolver` already reads the same etcd
 * endpoints and prefix (a server's own, from `startServer`).
 */
import { getConfig } from "../../config.js";
import { parseEndpoints } from "../../etcd/gateway.js";
import { DEFAULT_ETCD_PREFIX } from "../../etcd/key-layout.js";
import type { Resolver } from "../resolver.js";
import { ROUTES_RECHECK_MS } from "../routes-file.js";
import { ETCD_ENDPOINTS_ENV, ETCD_PREFIX_ENV } from "./etcd-config.js";
import { type EtcdResolver, createEtcdResolver } from "./etcd-resolver.js";

/** Where a plain caller's etcd settings come from. */
export interface ConfiguredEtcdOptions {
  /** Environment read; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Config file read when the environment names no endpoints; default `etc/config.ini`. */
  configFile?: string;
  /** Clock in ms for the recheck interval; default `Date.now`. */
  now?: () => number;
}

/** The etcd settings in force: endpoints and prefix, or an error naming where a malformed value came from. */
type Settings = { endpoints: readonly string[]; prefix: string; key: string } | { error: string } | undefined;

/** The configured etcd resolver (one per process, in the routing chain before the routes file). */
export interface ConfiguredEtcdResolver extends Resolver {
  /** True when etcd is configured and no registered resolver already reads the same endpoints and prefix. */
  wanted(registered: readonly Resolver[]): boolean;
  /** The running etcd resolver, if a lookup started one. */
  current(): EtcdResolver | undefined;
  /** Stops the watch, if one runs (a later lookup starts another). */
  close(): void;
}

function sameEtcd(resolver: Resolver, endpoints: readonly string[], prefix: string): boolean {
  const r = resolver as Partial<EtcdResolver>;
  return r.prefix === prefix && r.endpoints !== undefined && r.endpoints.join(",") === endpoints.join(",");
}

export function createConfiguredEtcdResolver(options: ConfiguredEtcdOptions = {}): ConfiguredEtcdResolver {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  let checkedAt = -Infinity;
  let settings: Settings;
  let running: EtcdResolver | undefined;

  function read(): Settings {
    let text = env[ETCD_ENDPOINTS_ENV];
    let where = `$${ETCD_ENDPOINTS_ENV}`;
    if (!text) {
      text = getConfig("ROUTE", "etcd", options.configFile);
      where = `[ROUTE] etcd of ${options.configFile ?? "etc/config.ini"}`;
    }
    if (text === undefined || text.trim() === "") return undefined;
    let endpoints: string[];
    try {
      endpoints = parseEndpoints(text);
    } catch (err) {
      return { error: `${where}: ${(err as Error).message}` };
    }
    const prefix = env[ETCD_PREFIX_ENV] || getConfig("ROUTE", "etcd_prefix", options.configFile) || DEFAULT_ETCD_PREFIX;
    return { endpoints, prefix, key: `${endpoints.join(",")} ${prefix}` };
  }

  /** The settings, re-read at most every `ROUTES_RECHECK_MS`; a change stops the running resolver. */
  function current(): Settings {
    const t = now();
    if (t - checkedAt < ROUTES_RECHECK_MS) return settings;
    checkedAt = t;
    const next = read();
    const key = (s: Settings): string | undefined => (s !== undefined && "key" in s ? s.key : undefined);
    if (key(next) !== key(settings) && running !== undefined) {
      running.close();
      running = undefined;
    }
    settings = next;
    return settings;
  }

  return {
    wanted(registered) {
      const s = current();
      if (s === undefined) return false;
      if ("error" in s) return true;
      return !registered.some((r) => sameEtcd(r, s.endpoints, s.prefix));
    },
    resolve(service) {
      const s = current();
      if (s === undefined) return undefined;
      if ("error" in s) throw new Error(s.error);
      running ??= createEtcdResolver({ endpoints: s.endpoints, prefix: s.prefix });
      return running.resolve(service);
    },
    describe() {
      if (running !== undefined) return running.describe();
      const s = settings;
      if (s === undefined) return "";
      return "error" in s ? s.error : `etcd ${s.endpoints.join(",")} prefix ${s.prefix}`;
    },
    current: () => running,
    close() {
      running?.close();
      running = undefined;
      checkedAt = -Infinity;
    },
  };
}
