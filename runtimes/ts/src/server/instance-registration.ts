/**
 * Registering a listening server instance in etcd (`[ROUTE] etcd`): one
 * entry per instance, made by a single server or by the main process of a
 * worker group, announced on stdout as a startup line.
 */
import type { Logger } from "../log.js";
import { type EtcdSettings, advertisedIp } from "../route/etcd/etcd-config.js";
import { type EtcdRegistration, registerInEtcd } from "../route/etcd/registration.js";

/** Registers `service` at `host:port` under a kept-alive lease and announces the key. */
export async function registerInstance(
  etcd: EtcdSettings,
  service: string,
  host: string,
  port: number,
  logger: Logger,
  announce: Logger,
): Promise<EtcdRegistration> {
  const registration = await registerInEtcd({
    endpoints: etcd.endpoints,
    prefix: etcd.prefix,
    service,
    ip: etcd.advertise ?? advertisedIp(host),
    port,
    weight: etcd.weight,
    ttlSeconds: etcd.ttlSeconds,
    onError: (err) => logger.error("etcd lease renewal failed", { error: err.message }),
  });
  announce.info(`registered ${registration.key} in etcd`, { key: registration.key });
  return registration;
}
