/**
 * Where routes live in etcd. One key per instance:
 *
 *     <prefix>/services/<Group.Service>/<ip:port>  →  {"ip":"10.0.0.2","port":7963,"protocol":"tcp","weight":100}
 *
 * `prefix` (default `/msec`) separates msec instances sharing one etcd.
 * IPv6 addresses are bracketed in the key (`[::1]:7963`).
 *
 * The top-level `etcd/` folder is shared by the runtime and the CLI (which
 * must not import each other) and imports nothing but Node built-ins.
 */

/** Default key prefix of one msec instance. */
export const DEFAULT_ETCD_PREFIX = "/msec";
/** Weight written when none is given (the MSEC console's default). */
export const DEFAULT_ETCD_WEIGHT = 100;

/** The JSON value stored for one instance. */
export interface EtcdInstance {
  ip: string;
  port: number;
  protocol: "tcp" | "udp";
  weight: number;
}

/** `<prefix>/services/`, the folder every service lives under. */
export function servicesPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, "")}/services/`;
}

/** `<prefix>/services/<service>/`, the folder of one service. */
export function servicePrefix(prefix: string, service: string): string {
  checkServiceName(service);
  return `${servicesPrefix(prefix)}${service}/`;
}

/** `ip:port` with IPv6 hosts bracketed. */
export function instanceAddress(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The key of one instance. */
export function instanceKey(prefix: string, service: string, ip: string, port: number): string {
  return `${servicePrefix(prefix, service)}${instanceAddress(ip, port)}`;
}

/** Throws unless `service` is a routing name: two levels or more, no `/`, `:`, `@` or spaces. */
export function checkServiceName(service: string): void {
  if (!/^[^./:@\s]+(\.[^./:@\s]+)+$/.test(service)) {
    throw new Error(`invalid service name "${service}" (expected Group.Service)`);
  }
}

/** Parses a stored value; throws with the reason when it is not a valid instance. */
export function parseInstanceValue(text: string): EtcdInstance {
  const v = JSON.parse(text) as Partial<Record<keyof EtcdInstance, unknown>>;
  const { ip, port, protocol = "tcp", weight = DEFAULT_ETCD_WEIGHT } = v;
  if (typeof ip !== "string" || ip === "") throw new Error("ip must be a non-empty string");
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error("port must be 1..65535");
  if (protocol !== "tcp" && protocol !== "udp") throw new Error('protocol must be "tcp" or "udp"');
  if (typeof weight !== "number" || !Number.isInteger(weight) || weight <= 0) throw new Error("weight must be an integer > 0");
  return { ip, port, protocol, weight };
}

/** The stored value of an instance. */
export function formatInstanceValue(instance: EtcdInstance): string {
  return JSON.stringify({ ip: instance.ip, port: instance.port, protocol: instance.protocol, weight: instance.weight });
}

/** Splits a key under `servicesPrefix(prefix)` into service and address; `undefined` for other keys. */
export function parseInstanceKey(prefix: string, key: string): { service: string; address: string } | undefined {
  const root = servicesPrefix(prefix);
  if (!key.startsWith(root)) return undefined;
  const rest = key.slice(root.length);
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { service: rest.slice(0, slash), address: rest.slice(slash + 1) };
}

/** Parses `ip:port`, `ip:port@tcp` or `ip:port@udp` (IPv6 in brackets); throws naming the text. */
export function parseInstanceAddress(text: string): { ip: string; port: number; protocol: "tcp" | "udp" } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s@\[\]]+):([0-9]{1,5})(?:@(tcp|udp))?$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new Error(`invalid address "${text}" (expected ip:port, ip:port@tcp or ip:port@udp)`);
  const ip = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
  return { ip, port, protocol: m[3] === "udp" ? "udp" : "tcp" };
}
