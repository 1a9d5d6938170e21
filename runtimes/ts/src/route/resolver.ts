/**
 * Resolvers turn a routing name (`Group.Service`) into the instances that
 * serve it. They are consulted in order; the first that knows the name wins.
 * The routes file is the embedded default; a distributed resolver (etcd)
 * registers itself in front of it without any caller changing.
 */
import type { Route } from "./literal.js";

/** One instance of a service with its static weight. */
export interface RouteInstance extends Route {
  /** Static weight (MSEC console default 100). */
  weight: number;
}

/** Source of instances for routing names. */
export interface Resolver {
  /**
   * Instances of `service`, or `undefined` (or an empty list) when this
   * resolver does not know it. May throw (e.g. a malformed routes file): the
   * error reaches the caller as get-route-failed.
   */
  resolve(service: string): readonly RouteInstance[] | undefined | Promise<readonly RouteInstance[] | undefined>;
  /** Where it looks, for error messages (e.g. `routes file etc/routes.conf`). */
  describe(): string;
}

/** A resolver over a fixed table (tests, or routes assembled in code). */
export function createStaticResolver(table: ReadonlyMap<string, readonly RouteInstance[]> | Record<string, readonly RouteInstance[]>): Resolver {
  const map = table instanceof Map ? table : new Map(Object.entries(table));
  return {
    resolve: (service) => map.get(service),
    describe: () => `static table (${map.size} services)`,
  };
}
