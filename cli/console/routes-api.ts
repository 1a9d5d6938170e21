/**
 * The route endpoints, mirroring `msec-gen routes list | set | rm` (both use
 * cli/route-store.ts), and the services view's data:
 *
 * | request | like |
 * |---|---|
 * | `GET /api/routes[?service=G.S][&all=1][&format=text]` | `routes list [G.S]` (`format=text`: its exact output; `all=1`: disabled instances too) |
 * | `PUT /api/routes/<G.S>/<ip:port[@udp]>` `{"weight":N,"enabled":bool}` | `routes set G.S ip:port N` (`enabled` omitted: an existing instance keeps its state, a new one is enabled) |
 * | `DELETE /api/routes/<G.S>[/<ip:port>]` | `routes rm G.S [ip:port]` (404 when nothing matched) |
 * | `GET /api/services` | every service with its instances, enabled and disabled |
 * | `GET /api/probe?service=G.S&address=ip:port` | health and metrics of an instance listed in etcd |
 */
import { UserError } from "../../generator/user-error.js";
import { EtcdError, type RouteEntry, type RouteStore, checkedName, checkedWeight, formatRouteLines, listRoutes, removeRoutes, setRoute } from "../route-store.js";
import { HttpError } from "./http-messages.js";
import { type ProbeResult, probeInstance } from "./instance-probe.js";

/** An answer: JSON, or text for `format=text`. */
export type ApiAnswer = { status: number; json: unknown } | { status: number; text: string };

/** One service of the services view. */
export interface ServiceView {
  readonly name: string;
  /** `standard` when an instance registered itself (it has a lease), else `heterogeneous` (entered by hand). */
  readonly kind: "standard" | "heterogeneous";
  readonly instances: readonly InstanceView[];
}

export interface InstanceView {
  readonly address: string;
  readonly protocol: "tcp" | "udp";
  readonly weight: number;
  readonly enabled: boolean;
  /** Registered by the server itself (leased) rather than entered with `routes set` or the console. */
  readonly registered: boolean;
}

/** etcd errors are 502 (the gateway failed), other user errors 400. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof EtcdError) throw new HttpError(502, e.message);
    if (e instanceof UserError) throw new HttpError(400, e.message);
    throw e;
  }
}

function routeJson(r: RouteEntry): Record<string, unknown> {
  return { service: r.service, address: r.address, protocol: r.protocol, weight: r.weight, enabled: r.enabled, registered: r.lease !== undefined };
}

/** Handles `/api/routes…`, `/api/services` and `/api/probe`; `undefined` for other paths. */
export async function routesApi(
  store: RouteStore | undefined,
  method: string,
  segments: readonly string[],
  query: URLSearchParams,
  body: () => Promise<unknown>,
): Promise<ApiAnswer | undefined> {
  const [resource, service, address, extra] = segments;
  if (resource !== "routes" && resource !== "services" && resource !== "probe") return undefined;
  if (store === undefined) throw new HttpError(503, "no etcd configured: start the console with --etcd URL[,URL] (or set MSEC_ETCD_ENDPOINTS)");
  if (extra !== undefined) throw new HttpError(404, `no such resource: /api/${segments.join("/")}`);
  if (resource === "services") {
    if (method !== "GET" || service !== undefined) throw new HttpError(405, "GET /api/services takes no path after it");
    return { status: 200, json: await guarded(() => servicesView(store)) };
  }
  if (resource === "probe") {
    if (method !== "GET") throw new HttpError(405, "GET /api/probe?service=G.S&address=ip:port");
    return { status: 200, json: await guarded(() => probe(store, query.get("service") ?? "", query.get("address") ?? "")) };
  }
  switch (method) {
    case "GET": {
      if (service !== undefined) throw new HttpError(404, "GET /api/routes?service=G.S (the service is a query parameter)");
      const name = query.get("service") ?? undefined;
      const { routes, invalid } = await guarded(() => listRoutes(store, name, query.get("all") === "1"));
      if (query.get("format") === "text") return { status: 200, text: formatRouteLines(routes) };
      return { status: 200, json: { routes: routes.map(routeJson), invalid } };
    }
    case "PUT": {
      if (service === undefined || address === undefined) throw new HttpError(404, "PUT /api/routes/<Group.Service>/<ip:port[@udp]>");
      const { weight, enabled } = await putBody(body);
      const written = await guarded(() =>
        setRoute(store, checkedName(service), address, weight === undefined ? undefined : checkedWeight(weight), enabled === undefined ? "keep" : enabled ? "enabled" : "disabled"),
      );
      return { status: 200, json: { route: routeJson(written) } };
    }
    case "DELETE": {
      if (service === undefined) throw new HttpError(404, "DELETE /api/routes/<Group.Service>[/<ip:port>]");
      const removed = await guarded(() => removeRoutes(store, service, address));
      if (removed === 0) throw new HttpError(404, `no route for ${service}${address === undefined ? "" : ` at ${address}`} in etcd (prefix ${store.prefix})`);
      return { status: 200, json: { removed } };
    }
    default:
      throw new HttpError(405, `${method} is not allowed on /api/routes (GET, PUT, DELETE)`);
  }
}

async function putBody(body: () => Promise<unknown>): Promise<{ weight?: number | string; enabled?: boolean }> {
  const doc = (await body()) ?? {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new HttpError(400, 'the body must be a JSON object like {"weight": 100, "enabled": true}');
  const { weight, enabled, ...rest } = doc as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new HttpError(400, `unknown field ${JSON.stringify(unknown[0])} (fields: weight, enabled)`);
  if (weight !== undefined && typeof weight !== "number" && typeof weight !== "string") throw new HttpError(400, "weight must be an integer ≥ 1");
  if (enabled !== undefined && typeof enabled !== "boolean") throw new HttpError(400, "enabled must be true or false");
  return { ...(weight === undefined ? {} : { weight }), ...(enabled === undefined ? {} : { enabled }) };
}

/** Every service with its instances (enabled first within an address). */
export async function servicesView(store: RouteStore): Promise<{ prefix: string; services: ServiceView[]; invalid: unknown[] }> {
  const { routes, invalid } = await listRoutes(store, undefined, true);
  const byName = new Map<string, RouteEntry[]>();
  for (const r of routes) byName.set(r.service, [...(byName.get(r.service) ?? []), r]);
  const services = [...byName].map(([name, list]) => ({
    name,
    kind: list.some((r) => r.lease !== undefined) ? ("standard" as const) : ("heterogeneous" as const),
    instances: list.map((r) => ({ address: r.address, protocol: r.protocol, weight: r.weight, enabled: r.enabled, registered: r.lease !== undefined })),
  }));
  return { prefix: store.prefix, services, invalid };
}

/** Probes an instance only if etcd lists it for the service (the console fetches no other address). */
async function probe(store: RouteStore, service: string, address: string): Promise<ProbeResult> {
  const { routes } = await listRoutes(store, checkedName(service), true);
  const route = routes.find((r) => r.address === address);
  if (route === undefined) throw new HttpError(404, `${service} has no instance ${address} in etcd`);
  if (route.protocol === "udp") return { health: "unreachable", reason: "UDP instance (no HTTP port)", metrics: {} };
  return probeInstance(route.address);
}
