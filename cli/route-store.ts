/**
 * Routes in etcd as the MSEC console manages them, shared by `msec-gen routes`
 * (cli/routes-command.ts) and `msec-gen console` (cli/console/): connecting,
 * validating names, addresses and weights, listing, setting, removing, and
 * moving an instance between enabled and disabled.
 *
 * Enabled instances are the routes every caller resolves
 * (`<prefix>/services/<Group.Service>/<ip:port>`, the runtime's key layout).
 * A disabled instance — MSEC's new IP that waits for a scale-out — has the
 * same value under `<prefix>/disabled/<Group.Service>/<ip:port>`, a folder no
 * resolver reads, so no runtime needs to know about the state. Scale-out and
 * scale-in move the key between the two folders in one etcd transaction,
 * keeping its lease (a self-registered server's key still vanishes with it).
 */
import { EtcdGateway, EtcdResponseError, EtcdUnreachableError, type EtcdKeyValue, parseEndpoints } from "../runtimes/ts/src/etcd/gateway.js";
import {
  DEFAULT_ETCD_PREFIX,
  DEFAULT_ETCD_WEIGHT,
  checkServiceName,
  formatInstanceValue,
  instanceAddress,
  instanceKey,
  parseInstanceAddress,
  parseInstanceKey,
  parseInstanceValue,
  servicesPrefix,
} from "../runtimes/ts/src/etcd/key-layout.js";
import { UserError } from "../generator/user-error.js";

/** Environment variables read when the options are not given (the runtime reads the same). */
export const ENDPOINTS_ENV = "MSEC_ETCD_ENDPOINTS";
export const PREFIX_ENV = "MSEC_ETCD_PREFIX";
export { DEFAULT_ETCD_PREFIX, DEFAULT_ETCD_WEIGHT };

/** etcd endpoints and key prefix, as given on the command line. */
export interface EtcdOptions {
  etcd?: string | undefined;
  prefix?: string | undefined;
}

/** A connected store: the gateway client and the key prefix of the msec instance. */
export interface RouteStore {
  readonly gateway: EtcdGateway;
  readonly prefix: string;
  readonly endpoints: readonly string[];
}

/** One instance of a service, enabled or disabled. */
export interface RouteEntry {
  readonly service: string;
  /** `ip:port` (IPv6 bracketed), the key's last segment. */
  readonly address: string;
  readonly ip: string;
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  readonly weight: number;
  /** In `<prefix>/services/` (callers pick it) rather than `<prefix>/disabled/`. */
  readonly enabled: boolean;
  /** The etcd lease the key is attached to: set for servers that registered themselves. */
  readonly lease: string | undefined;
  readonly key: string;
}

/** A key under either folder whose value does not parse. */
export interface InvalidEntry {
  readonly key: string;
  readonly reason: string;
}

/** `UserError` unless endpoints are given (option or environment); the gateway is not contacted yet. */
export function connectRoutes(opts: EtcdOptions, env: NodeJS.ProcessEnv = process.env): RouteStore {
  const text = opts.etcd ?? env[ENDPOINTS_ENV];
  if (text === undefined || text.trim() === "") throw new UserError(`no etcd endpoints: pass --etcd URL[,URL] or set ${ENDPOINTS_ENV}`);
  let endpoints: string[];
  try {
    endpoints = parseEndpoints(text);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  return { gateway: new EtcdGateway(endpoints), prefix: opts.prefix ?? (env[PREFIX_ENV] || DEFAULT_ETCD_PREFIX), endpoints };
}

/** etcd could not be reached or refused a request: the user's environment, not a bug (the CLI exits 1). */
export class EtcdError extends UserError {
  override readonly name: string = "EtcdError";
}

/** etcd failures as `EtcdError` with the reason. */
export async function userErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof EtcdUnreachableError || e instanceof EtcdResponseError) throw new EtcdError(e.message);
    throw e;
  }
}

/** `service` when it is a routing name, else `UserError`. */
export function checkedName(service: string): string {
  try {
    checkServiceName(service);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  return service;
}

/** `ip:port[@tcp|@udp]` parsed, else `UserError` naming the text. */
export function checkedAddress(text: string): { ip: string; port: number; protocol: "tcp" | "udp" } {
  try {
    return parseInstanceAddress(text);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

/** A weight given as text (command line) or number (JSON): an integer ≥ 1; default when `undefined`. */
export function checkedWeight(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_ETCD_WEIGHT;
  const ok = typeof value === "number" ? Number.isSafeInteger(value) && value >= 1 : /^[0-9]+$/.test(value) && Number(value) >= 1 && Number.isSafeInteger(Number(value));
  if (!ok) throw new UserError(`invalid weight ${JSON.stringify(value)} (expected an integer ≥ 1)`);
  return Number(value);
}

/** `<prefix>/disabled/`: instances waiting for a scale-out (no resolver reads this folder). */
export function disabledPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, "")}/disabled/`;
}

/** The folder of enabled (`<prefix>/services/`) or disabled (`<prefix>/disabled/`) instances. */
function stateRoot(store: RouteStore, enabled: boolean): string {
  return enabled ? servicesPrefix(store.prefix) : disabledPrefix(store.prefix);
}

/** The key of an instance in the folder of its state (the enabled one is the runtime's `instanceKey`). */
function folderKey(store: RouteStore, enabled: boolean, service: string, ip: string, port: number): string {
  return enabled ? instanceKey(store.prefix, service, ip, port) : `${stateRoot(store, false)}${checkedName(service)}/${instanceAddress(ip, port)}`;
}

/**
 * Every enabled instance (of `service`, or of all services) — with
 * `includeDisabled` the disabled ones too — sorted by service then address
 * (etcd's key order), and the keys whose value does not parse.
 */
export async function listRoutes(
  store: RouteStore,
  service?: string,
  includeDisabled = false,
): Promise<{ routes: RouteEntry[]; invalid: InvalidEntry[] }> {
  const routes: RouteEntry[] = [];
  const invalid: InvalidEntry[] = [];
  for (const enabled of includeDisabled ? [true, false] : [true]) {
    const root = stateRoot(store, enabled);
    const folder = service === undefined ? root : `${root}${checkedName(service)}/`;
    const { kvs } = await userErrors(() => store.gateway.getPrefix(folder));
    for (const kv of kvs) {
      const entry = toEntry(store, kv, enabled);
      if (entry === undefined) continue;
      if ("reason" in entry) invalid.push(entry);
      else routes.push(entry);
    }
  }
  routes.sort((a, b) => compare(a.service, b.service) || compare(a.address, b.address) || Number(b.enabled) - Number(a.enabled));
  return { routes, invalid };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toEntry(store: RouteStore, kv: EtcdKeyValue, enabled: boolean): RouteEntry | InvalidEntry | undefined {
  // a disabled key is read as if it were under services/, so the one key parser serves both folders
  const asEnabled = enabled ? kv.key : servicesPrefix(store.prefix) + kv.key.slice(disabledPrefix(store.prefix).length);
  const where = parseInstanceKey(store.prefix, asEnabled);
  if (!where) return undefined;
  try {
    const v = parseInstanceValue(kv.value);
    return { service: where.service, address: where.address, ...v, enabled, lease: kv.lease === undefined || kv.lease === "0" ? undefined : kv.lease, key: kv.key };
  } catch (e) {
    return { key: kv.key, reason: (e as Error).message };
  }
}

/** Routes-file lines (`<Group.Service> <ip:port[@udp]> weight=N`), columns aligned: `msec-gen routes list`. */
export function formatRouteLines(routes: readonly RouteEntry[]): string {
  const rows = routes.map((r) => [r.service, `${instanceAddress(r.ip, r.port)}${r.protocol === "udp" ? "@udp" : ""}`, `weight=${r.weight}`]);
  const width = [0, 1].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r[0]!.padEnd(width[0]!)}  ${r[1]!.padEnd(width[1]!)}  ${r[2]}\n`).join("");
}

/** What `setRoute` does with the instance's state. */
export type SetState = "enabled" | "disabled" | "keep";

/**
 * Add an instance or change its weight or state. `state` `keep` leaves an
 * existing instance where it is and adds a new one enabled; `enabled` /
 * `disabled` move it (scale-out / scale-in). `weight` `undefined` keeps the
 * existing weight (the default weight for a new instance). A move is one
 * transaction that succeeds only if the key still holds what was read. Returns
 * the instance as written. The protocol is the address's (`@udp`, else tcp), as in
 * `msec-gen routes set`.
 */
export async function setRoute(
  store: RouteStore,
  service: string,
  address: string,
  weight: number | undefined,
  state: SetState,
): Promise<RouteEntry> {
  checkedName(service);
  const addr = checkedAddress(address);
  const { routes } = await listRoutes(store, service, true);
  const current = routes.filter((r) => r.ip === addr.ip && r.port === addr.port);
  const existing = current[0];
  const enabled = state === "keep" ? (existing?.enabled ?? true) : state === "enabled";
  const value = formatInstanceValue({ ip: addr.ip, port: addr.port, protocol: addr.protocol, weight: weight ?? existing?.weight ?? DEFAULT_ETCD_WEIGHT });
  const key = folderKey(store, enabled, service, addr.ip, addr.port);
  const lease = existing?.lease;
  const stale = current.filter((r) => r.key !== key);
  await userErrors(async () => {
    const ops: unknown[] = [{ request_put: { key: b64(key), value: b64(value), ...(lease === undefined ? {} : { lease }) } }];
    for (const r of stale) ops.push({ request_delete_range: { key: b64(r.key) } });
    const compares = current.map((r) => ({ key: b64(r.key), target: "VERSION", result: "GREATER", version: "0" }));
    const reply = await store.gateway.request<{ succeeded?: boolean }>("/v3/kv/txn", { compare: compares, success: ops });
    if (compares.length > 0 && reply.succeeded !== true) {
      throw new UserError(`${service} ${address} changed in etcd while it was being updated; list the routes and try again`);
    }
  });
  const written = parseInstanceValue(value);
  return { service, address: instanceAddress(addr.ip, addr.port), ...written, enabled, lease, key };
}

/** Remove one instance (enabled or disabled), or every instance of `service`; the number of keys deleted. */
export async function removeRoutes(store: RouteStore, service: string, address?: string): Promise<number> {
  checkedName(service);
  if (address === undefined) {
    let deleted = 0;
    for (const enabled of [true, false]) deleted += await userErrors(() => store.gateway.deletePrefix(`${stateRoot(store, enabled)}${service}/`));
    return deleted;
  }
  const addr = checkedAddress(address);
  let deleted = 0;
  for (const enabled of [true, false]) {
    deleted += await userErrors(() => store.gateway.delete(folderKey(store, enabled, service, addr.ip, addr.port)));
  }
  return deleted;
}

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64");
}
