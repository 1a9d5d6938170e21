/**
 * Persistent SRPC connections per address. Calls are multiplexed on a
 * connection by sequence number, so one connection per address (the default)
 * carries any number of concurrent calls; `poolSize` > 1 spreads calls over
 * several connections round-robin. A connection that closes leaves the pool
 * and the next call opens a new one. Idle connections do not keep the process
 * alive (their sockets are unref'd while no call is in flight).
 */
import type { Logger } from "../log.js";
import { type Route, routeAddress } from "../route/literal.js";
import { SrpcConnection } from "./connection.js";

/** Connections per address unless `configureClient` says otherwise. */
export const DEFAULT_POOL_SIZE = 1;

export interface ClientOptions {
  /** Connections per address; default `DEFAULT_POOL_SIZE` (1). */
  poolSize?: number;
  /** Largest reply frame accepted; default 16 MiB. */
  maxFrameBytes?: number;
  /** Where the client logs replies it had to drop; default: not logged. */
  logger?: Logger;
}

interface Pool {
  readonly connections: SrpcConnection[];
  next: number;
}

const pools = new Map<string, Pool>();
let settings: ClientOptions = {};

/** Sets pool size, reply size limit and logger for connections opened from now on. */
export function configureClient(options: ClientOptions): void {
  if (options.poolSize !== undefined && !(Number.isInteger(options.poolSize) && options.poolSize >= 1)) {
    throw new RangeError(`poolSize must be an integer ≥ 1, got ${options.poolSize}`);
  }
  settings = { ...settings, ...options };
}

/** A connection to `route` for one call; `address` is `routeAddress(route)` when the caller has it. */
export function connectionFor(route: Route, address = routeAddress(route)): SrpcConnection {
  let pool = pools.get(address);
  if (pool === undefined) {
    pool = { connections: [], next: 0 };
    pools.set(address, pool);
  }
  const size = settings.poolSize ?? DEFAULT_POOL_SIZE;
  let failed = false;
  for (const c of pool.connections) if (!c.usable) failed = true;
  if (failed) {
    // Failed connections leave on their socket's close event; do not hand them out meanwhile.
    pool.connections.splice(0, pool.connections.length, ...pool.connections.filter((c) => c.usable));
  }
  if (pool.connections.length < size) {
    const owner = pool;
    const conn = new SrpcConnection(route.ip, route.port, address, (closed) => {
      const at = owner.connections.indexOf(closed);
      if (at >= 0) owner.connections.splice(at, 1);
      if (owner.connections.length === 0 && pools.get(address) === owner) pools.delete(address);
    }, { ...(settings.maxFrameBytes !== undefined ? { maxFrameBytes: settings.maxFrameBytes } : {}), ...(settings.logger ? { logger: settings.logger } : {}) });
    pool.connections.push(conn);
    return conn;
  }
  pool.next = (pool.next + 1) % pool.connections.length;
  return pool.connections[pool.next]!;
}

/** Open connections per address (diagnostics and tests). */
export function openConnections(): Map<string, number> {
  return new Map([...pools].map(([address, pool]) => [address, pool.connections.length]));
}

/** Closes every pooled connection; calls in flight fail with -13. */
export function closeConnections(): void {
  for (const pool of pools.values()) {
    for (const conn of [...pool.connections]) conn.close();
  }
  pools.clear();
}
