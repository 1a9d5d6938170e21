/**
 * CSRF and DNS-rebinding protection for a tool that listens on localhost.
 *
 * * Every request must name this server in `Host`: a loopback name or address,
 *   the `--host` it was bound to, or (when bound to every interface) one of
 *   the machine's addresses or its hostname — with the console's port. A page
 *   on evil.example whose name was rebound to 127.0.0.1 sends
 *   `Host: evil.example` and is refused.
 * * A state-changing request (POST, PUT, DELETE) that carries `Origin` must
 *   come from the console's own origin; one marked `Sec-Fetch-Site:
 *   cross-site` is refused too. Scripts (curl) send neither and pass.
 */
import type { IncomingMessage } from "node:http";
import { hostname, networkInterfaces } from "node:os";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/** The `host` values (without port) a request may name for a console bound to `bindHost`. */
export function allowedHostNames(bindHost: string): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  names.add(bracket(bindHost));
  if (bindHost === "0.0.0.0" || bindHost === "::" || bindHost === "[::]") {
    names.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(bracket(a.address));
  }
  return names;
}

function bracket(host: string): string {
  const h = host.toLowerCase();
  return h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
}

/** Why the request is refused, or `undefined` when it may proceed. */
export function refusal(req: IncomingMessage, allowed: ReadonlySet<string>, port: number): string | undefined {
  const host = (req.headers.host ?? "").toLowerCase();
  if (!allowed.has(hostWithoutPort(host, port) ?? "\0")) return `Host ${JSON.stringify(req.headers.host ?? "")} is not this console (open it at localhost:${port})`;
  const method = req.method ?? "GET";
  if (method === "GET" || method === "HEAD") return undefined;
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
    return `Origin ${JSON.stringify(origin)} may not change anything here (only pages of this console may)`;
  }
  if (req.headers["sec-fetch-site"] === "cross-site") return "cross-site requests may not change anything here";
  return undefined;
}

/** `name` of `name:port` when the port is the console's, else `undefined`. */
function hostWithoutPort(host: string, port: number): string | undefined {
  const suffix = `:${port}`;
  return host.endsWith(suffix) ? host.slice(0, -suffix.length) : undefined;
}
