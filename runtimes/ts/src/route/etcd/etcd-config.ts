/**
 * etcd settings of a service process, from `[ROUTE]` in `etc/config.ini` and
 * the environment (the environment wins, as `$MSEC_ROUTES` does over
 * `[ROUTE] File`):
 *
 * | key | env | meaning |
 * |---|---|---|
 * | `[ROUTE] etcd` | `MSEC_ETCD_ENDPOINTS` | comma-separated etcd client URLs; set = route through etcd |
 * | `[ROUTE] etcd_prefix` | `MSEC_ETCD_PREFIX` | key prefix of this msec instance (default `/msec`) |
 * | `[ROUTE] etcd_ttl` | — | lease TTL in seconds (default 10) |
 * | `[ROUTE] etcd_weight` | — | weight this server registers (default 100) |
 * | `[ROUTE] etcd_advertise` | — | IP this server registers (default: the listen IP, or the first non-loopback IPv4 when listening on every interface) |
 */
import { networkInterfaces } from "node:os";
import type { Config } from "../../config.js";
import { parseEndpoints } from "../../etcd/gateway.js";
import { DEFAULT_ETCD_PREFIX, DEFAULT_ETCD_WEIGHT } from "../../etcd/key-layout.js";
import { DEFAULT_ETCD_TTL_SECONDS } from "./registration.js";

/** Environment variable with the etcd endpoints (comma-separated URLs). */
export const ETCD_ENDPOINTS_ENV = "MSEC_ETCD_ENDPOINTS";
/** Environment variable with the key prefix. */
export const ETCD_PREFIX_ENV = "MSEC_ETCD_PREFIX";

/** What `[ROUTE]` / the environment say about etcd. */
export interface EtcdSettings {
  endpoints: string[];
  prefix: string;
  ttlSeconds: number;
  weight: number;
  /** `undefined` = derive from the listen address. */
  advertise: string | undefined;
}

function positiveInt(config: Config, key: string, fallback: number): number {
  const text = config.get("ROUTE", key);
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) < 1) throw new Error(`[ROUTE] ${key}: expected an integer ≥ 1, got "${text}"`);
  return Number(text);
}

/** etcd settings, or `undefined` when no endpoints are configured. Throws on malformed values. */
export function etcdSettingsFromConfig(config: Config, env: NodeJS.ProcessEnv = process.env): EtcdSettings | undefined {
  const endpointsText = env[ETCD_ENDPOINTS_ENV] || config.get("ROUTE", "etcd");
  if (endpointsText === undefined || endpointsText.trim() === "") return undefined;
  return {
    endpoints: parseEndpoints(endpointsText),
    prefix: env[ETCD_PREFIX_ENV] || config.get("ROUTE", "etcd_prefix") || DEFAULT_ETCD_PREFIX,
    ttlSeconds: positiveInt(config, "etcd_ttl", DEFAULT_ETCD_TTL_SECONDS),
    weight: positiveInt(config, "etcd_weight", DEFAULT_ETCD_WEIGHT),
    advertise: config.get("ROUTE", "etcd_advertise")?.trim() || undefined,
  };
}

/** The IP a server listening on `host` registers: `host` itself, or for `0.0.0.0`/`::` the first non-internal IPv4 (else 127.0.0.1). */
export function advertisedIp(host: string): string {
  if (host !== "0.0.0.0" && host !== "::" && host !== "") return host;
  for (const addrs of Object.values(networkInterfaces())) {
    const v4 = addrs?.find((a) => a.family === "IPv4" && !a.internal);
    if (v4) return v4.address;
  }
  return "127.0.0.1";
}
