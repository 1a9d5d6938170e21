/**
 * Literal addresses used as service names: `ip:port`, `ip:port@tcp`,
 * `ip:port@udp`. As in MSEC's `getroute`, any suffix other than `udp` means
 * TCP. IPv6 hosts are written in brackets (`[::1]:7963`).
 */

/** Transport of a route. */
export type RouteType = "tcp" | "udp";

/** Where one call goes. */
export interface Route {
  ip: string;
  port: number;
  type: RouteType;
}

/** Parses a literal address; `undefined` when `text` is not one (e.g. a `Group.Service` name). */
export function parseLiteral(text: string): Route | undefined {
  const at = text.indexOf("@");
  const main = at < 0 ? text : text.slice(0, at);
  const suffix = at < 0 ? "" : text.slice(at + 1);
  const colon = main.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let ip = main.slice(0, colon);
  const portText = main.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  if (ip === "") return undefined;
  return { ip, port, type: suffix === "udp" ? "udp" : "tcp" };
}

/** `ip:port` of a route, the key the balancer and the connection pool use (IPv6 bracketed). */
export function routeAddress(route: { ip: string; port: number }): string {
  return route.ip.includes(":") ? `[${route.ip}]:${route.port}` : `${route.ip}:${route.port}`;
}
