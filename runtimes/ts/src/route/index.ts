/**
 * Routing: `getRoute(name)` turns a service name into one address, and
 * `updateRoute` feeds each call's outcome back to the balancer (MSEC's
 * `getroutebyname` / `updateroute`, spec §7.1).
 *
 * Literal names (`ip:port[@tcp|@udp]`) are used as written. Other names go to
 * the resolvers in order — those added with `registerResolver`, then etcd when
 * `$MSEC_ETCD_ENDPOINTS` / `[ROUTE] etcd` configures it (see
 * etcd/configured-etcd.ts), then the routes file — and the first that knows
 * the name supplies the instances the balancer picks from.
 */
import { SrpcCode, SrpcError } from "../errors.js";
import { Balancer } from "./balancer.js";
import { type Route, parseLiteral } from "./literal.js";
import type { Resolver, RouteInstance } from "./resolver.js";
import { createRoutesFileResolver } from "./routes-file.js";
import { type ConfiguredEtcdResolver, createConfiguredEtcdResolver } from "./etcd/configured-etcd.js";

let balancer = new Balancer();
const registered: Resolver[] = [];
let routesFile: Resolver = createRoutesFileResolver();
/** etcd from the environment or config, for plain callers (stands aside for a registered resolver of the same etcd). */
let configuredEtcd: ConfiguredEtcdResolver = createConfiguredEtcdResolver();

/** Adds a resolver, consulted before the routes file (and after resolvers added earlier). */
export function registerResolver(resolver: Resolver): void {
  registered.push(resolver);
}

/** Removes a resolver added with `registerResolver`. */
export function unregisterResolver(resolver: Resolver): void {
  const at = registered.indexOf(resolver);
  if (at >= 0) registered.splice(at, 1);
}

/** Replaces the routes-file resolver (e.g. one with a fixed path). */
export function setRoutesFileResolver(resolver: Resolver): void {
  routesFile = resolver;
}

/** Replaces the process-wide balancer (tests inject a clock and random source this way). */
export function setBalancer(next: Balancer): void {
  balancer = next;
}

/** The process-wide balancer. */
export function currentBalancer(): Balancer {
  return balancer;
}

/**
 * Replaces the resolver that reads etcd settings from the environment and
 * config (tests give it a fixed environment this way); the one replaced stops
 * its watch.
 */
export function setConfiguredEtcdResolver(resolver: ConfiguredEtcdResolver): void {
  configuredEtcd.close();
  configuredEtcd = resolver;
}

function resolverChain(): Resolver[] {
  return configuredEtcd.wanted(registered) ? [...registered, configuredEtcd, routesFile] : [...registered, routesFile];
}

/** Instances of a routing name from the first resolver that knows it; `undefined` if none does. */
export async function resolveInstances(name: string): Promise<readonly RouteInstance[] | undefined> {
  for (const resolver of resolverChain()) {
    let found: readonly RouteInstance[] | undefined;
    try {
      found = await resolver.resolve(name);
    } catch (err) {
      throw new SrpcError(SrpcCode.GetRouteFailed, `get route failed for ${name}: ${(err as Error).message}`);
    }
    if (found !== undefined && found.length > 0) return found;
  }
  return undefined;
}

/**
 * The address for one call to `name`: a literal as written, otherwise a
 * balanced pick among the instances a resolver lists. Throws
 * `SrpcError(-15)` naming the service and where it looked.
 */
export async function getRoute(name: string): Promise<Route> {
  const literal = parseLiteral(name);
  if (literal !== undefined) return literal;
  const instances = await resolveInstances(name);
  const route = instances === undefined ? undefined : balancer.pick(name, instances);
  if (route === undefined) {
    const looked = resolverChain().map((r) => r.describe()).join(", ");
    throw new SrpcError(SrpcCode.GetRouteFailed, `get route failed: no route for ${name} (looked in: ${looked})`);
  }
  return route;
}

/**
 * Reports a call's outcome to the balancer: `failed` ≥ 1 failures, 0 = a
 * success taking `costMs`. `addr` is `ip:port` (or a bare ip). Literal
 * service names and names the balancer has not picked for are ignored, as
 * MSEC's `updateroute` ignores names containing `:`.
 */
export function updateRoute(name: string, addr: string, failed: number, costMs: number): void {
  if (parseLiteral(name) !== undefined) return;
  balancer.update(name, addr, failed, costMs);
}

/**
 * Reports that a connection to `addr` was refused (nothing listens there):
 * the balancer stops picking it at once (see `REFUSED_HOLD_MS`). Counts as a
 * failure; ignored for literal names.
 */
export function reportRefused(name: string, addr: string): void {
  if (parseLiteral(name) !== undefined) return;
  balancer.markRefused(name, addr);
}

export { Balancer, type BalancerOptions, type ServerWeight, BALANCE_PERIOD_MS, REFUSED_HOLD_MS, SHAPING_REQUEST_MIN } from "./balancer.js";
export { type Route, type RouteType, parseLiteral, routeAddress } from "./literal.js";
export { type Resolver, type RouteInstance, createStaticResolver } from "./resolver.js";
export { type ConfiguredEtcdOptions, type ConfiguredEtcdResolver, createConfiguredEtcdResolver } from "./etcd/configured-etcd.js";
export {
  type RoutesFileResolverOptions,
  DEFAULT_ROUTES_FILE,
  DEFAULT_WEIGHT,
  ROUTES_ENV,
  ROUTES_RECHECK_MS,
  RoutesFileError,
  createRoutesFileResolver,
  defaultRoutesPath,
  parseRoutes,
} from "./routes-file.js";
