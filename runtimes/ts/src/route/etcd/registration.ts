/**
 * Registers one instance of a service in etcd under a lease kept alive in
 * the background. A crashed process stops renewing, so its key disappears
 * when the lease expires (`ttlSeconds`); `close()` revokes the lease, which
 * removes the key at once (graceful deregistration).
 *
 * If a renewal finds the lease gone (etcd was unreachable longer than the
 * TTL, or someone deleted it) the instance is registered again with a new
 * lease, so a server outlives an etcd outage without restarting.
 */
import { EtcdGateway } from "../../etcd/gateway.js";
import { DEFAULT_ETCD_PREFIX, DEFAULT_ETCD_WEIGHT, type EtcdInstance, formatInstanceValue, instanceKey } from "../../etcd/key-layout.js";

/** Default lease TTL: a crashed server disappears from routing within this. */
export const DEFAULT_ETCD_TTL_SECONDS = 10;
/** Renewals per TTL: one missed renewal never expires the lease. */
export const KEEPALIVES_PER_TTL = 3;

export interface EtcdRegistrationOptions {
  endpoints: readonly string[];
  /** Key prefix of this msec instance; default `/msec`. */
  prefix?: string;
  /** Two-level name, `Group.Service`. */
  service: string;
  ip: string;
  port: number;
  protocol?: "tcp" | "udp";
  /** Static weight; default 100. */
  weight?: number;
  /** Lease TTL in seconds (integer ≥ 1; etcd raises very small TTLs to its minimum); default 10. */
  ttlSeconds?: number;
  /** Receives renewal failures (the registration keeps retrying). */
  onError?: (err: Error) => void;
}

/** A live registration. */
export interface EtcdRegistration {
  /** The instance's key. */
  readonly key: string;
  /** The current lease id. */
  lease(): string;
  /** Stops renewing and revokes the lease (the key is deleted). */
  close(): Promise<void>;
}

/** Writes the instance under a new lease and starts renewing it; rejects when etcd cannot be reached. */
export async function registerInEtcd(options: EtcdRegistrationOptions): Promise<EtcdRegistration> {
  const ttl = options.ttlSeconds ?? DEFAULT_ETCD_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1) throw new RangeError(`etcd TTL must be an integer ≥ 1 second (got ${ttl})`);
  const gateway = new EtcdGateway(options.endpoints);
  const instance: EtcdInstance = {
    ip: options.ip,
    port: options.port,
    protocol: options.protocol ?? "tcp",
    weight: options.weight ?? DEFAULT_ETCD_WEIGHT,
  };
  const key = instanceKey(options.prefix ?? DEFAULT_ETCD_PREFIX, options.service, instance.ip, instance.port);
  const value = formatInstanceValue(instance);

  let lease = "";
  /** Grants a lease and writes the key under it; `lease` names it before the key appears. */
  async function register(): Promise<void> {
    lease = await gateway.grantLease(ttl);
    await gateway.put(key, value, lease);
  }

  await register();
  let closed = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async () => {
    try {
      const left = await gateway.keepAlive(lease);
      if (left <= 0 && !closed) await register();
    } catch (err) {
      options.onError?.(err as Error);
    }
  };
  const timer = setInterval(() => {
    renewing = renewing.then(renew);
  }, Math.max(100, Math.floor((ttl * 1000) / KEEPALIVES_PER_TTL)));
  timer.unref();

  return {
    key,
    lease: () => lease,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await renewing;
      await gateway.revokeLease(lease);
    },
  };
}
