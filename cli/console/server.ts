/**
 * The console's HTTP server (node:http): the page's static assets from
 * cli/console/assets/ (shipped in the package, no network at run time) and
 * the JSON API under /api/ (docs/console.md):
 *
 * * `GET /api/meta` — languages and options per kind, whether etcd is configured;
 * * `POST /api/generate` — generate-api.ts;
 * * `/api/routes`, `/api/services`, `/api/probe` — routes-api.ts.
 *
 * Every request passes request-guard.ts first (Host / Origin checks).
 * Generation runs one request at a time: it is CPU-bound and this is a
 * single-user tool on a developer's machine.
 */
import { promises as fs } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { generatorVersion, packageRoot } from "../../generator/package-root.js";
import { LANGUAGE_OPTIONS } from "../../generator/language-options.js";
import { targetLanguages } from "../../generator/target-registry.js";
import type { TargetKind } from "../../generator/target.js";
import { UserError } from "../../generator/user-error.js";
import { type RouteStore, connectRoutes } from "../route-store.js";
import { longName } from "../generate-options.js";
import { parseGenerateRequest, requestOptions, runGenerate } from "./generate-api.js";
import { HttpError, formatBytes, readBody, sendError, sendJson } from "./http-messages.js";
import { allowedHostNames, refusal } from "./request-guard.js";
import { routesApi } from "./routes-api.js";

/** Default upload limit: far above any real set of `.proto` files, far below what hurts a laptop. */
export const DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
/** Largest JSON body of the route endpoints. */
const MAX_ROUTE_BODY_BYTES = 16 * 1024;

export interface ConsoleOptions {
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: any free port). */
  readonly port?: number;
  /** etcd endpoints (`URL[,URL]`); without them the services view is off. */
  readonly etcd?: string | undefined;
  readonly prefix?: string | undefined;
  /** A folder of `.proto` files imports may come from. */
  readonly protos?: string | undefined;
  /** Upload limit in bytes. */
  readonly maxUploadBytes?: number;
}

export interface RunningConsole {
  /** `http://127.0.0.1:PORT/` (the address to open). */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** The folder of index.html, app.js and the rest. */
export function assetsFolder(): string {
  return path.join(packageRoot(), "cli", "console", "assets");
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Starts the console; resolves once it listens. */
export async function startConsole(options: ConsoleOptions = {}): Promise<RunningConsole> {
  const host = options.host ?? "127.0.0.1";
  const maxUpload = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const store = options.etcd === undefined ? undefined : connectRoutes({ etcd: options.etcd, prefix: options.prefix });
  const protos = options.protos === undefined ? undefined : path.resolve(options.protos);
  if (protos !== undefined) {
    const stat = await fs.stat(protos).catch(() => undefined);
    if (stat?.isDirectory() !== true) throw new UserError(`--protos ${options.protos}: not a directory`);
  }
  const assets = assetsFolder();
  let queue: Promise<unknown> = Promise.resolve();
  let port = 0;
  let allowed = new Set<string>();

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendError(res, e);
      process.stderr.write(`msec-gen console: internal error on ${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      if (!res.headersSent) sendError(res, new HttpError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const why = refusal(req, allowed, port);
    if (why !== undefined) {
      // drain a refused upload so the client reads the answer
      req.resume();
      throw new HttpError(403, why);
    }
    const url = new URL(req.url ?? "/", "http://console.invalid");
    const method = req.method ?? "GET";
    if (!url.pathname.startsWith("/api/")) return serveAsset(res, method, url.pathname);
    const segments = url.pathname.slice("/api/".length).split("/").filter((s) => s !== "").map(decodeSegment);
    if (segments[0] === "meta" && segments.length === 1) {
      if (method !== "GET") throw new HttpError(405, "GET /api/meta");
      return sendJson(res, 200, meta(store, protos, maxUpload));
    }
    if (segments[0] === "generate" && segments.length === 1) {
      if (method !== "POST") throw new HttpError(405, "POST /api/generate with the .proto text (text/plain) or a JSON body");
      const body = await readBody(req, maxUpload);
      const request = parseGenerateRequest(url.searchParams, req.headers["content-type"] ?? "text/plain", body);
      const run = queue.then(() => runGenerate(request, protos));
      queue = run.catch(() => {});
      const result = await run;
      res.writeHead(200, {
        "content-type": "application/gzip",
        "content-length": result.bytes.length,
        "content-disposition": `attachment; filename="${result.fileName}"`,
        "cache-control": "no-store",
        ...(result.warnings.length === 0 ? {} : { "x-msec-gen-warnings": encodeURIComponent(JSON.stringify(result.warnings)) }),
      });
      res.end(result.bytes);
      return;
    }
    const body = async () => {
      const bytes = await readBody(req, MAX_ROUTE_BODY_BYTES);
      if (bytes.length === 0) return undefined;
      try {
        return JSON.parse(bytes.toString("utf8")) as unknown;
      } catch (e) {
        throw new HttpError(400, `the body is not JSON: ${(e as Error).message}`);
      }
    };
    const answer = await routesApi(store, method, segments, url.searchParams, body);
    if (answer === undefined) throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
    if ("text" in answer) {
      res.writeHead(answer.status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(answer.text);
    } else sendJson(res, answer.status, answer.json);
  }

  async function serveAsset(res: ServerResponse, method: string, pathname: string): Promise<void> {
    if (method !== "GET" && method !== "HEAD") throw new HttpError(405, `${method} is not allowed here`);
    const name = pathname === "/" ? "index.html" : pathname.slice(1);
    if (!/^[a-z0-9-]+\.(html|js|css|svg)$/.test(name)) throw new HttpError(404, `not found: ${pathname}`);
    let data: Buffer;
    try {
      data = await fs.readFile(path.join(assets, name));
    } catch {
      throw new HttpError(404, `not found: ${pathname}`);
    }
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[path.extname(name)]!,
      "content-length": data.length,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "content-security-policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    });
    res.end(method === "HEAD" ? undefined : data);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  allowed = allowedHostNames(host);
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `bad percent-encoding in the path: ${s}`);
  }
}

/** What the page needs to build its forms. */
function meta(store: RouteStore | undefined, protos: string | undefined, maxUpload: number): unknown {
  const kinds: Record<string, unknown> = {};
  for (const kind of ["caller", "server"] as TargetKind[]) {
    kinds[kind] = {
      languages: targetLanguages(kind),
      options: requestOptions(kind)
        .filter((o) => o.key !== "name" && o.key !== "lang")
        .map((o) => ({
          name: longName(o),
          description: o.description(kind),
          lang: LANGUAGE_OPTIONS.find((row) => row.key === o.key)?.lang ?? null,
          repeatable: o.repeatable === true,
          ...(typeof o.defaultValue === "string" ? { default: o.defaultValue } : {}),
        })),
    };
  }
  return {
    version: generatorVersion(),
    kinds,
    etcd: store === undefined ? null : { endpoints: store.endpoints, prefix: store.prefix },
    protos: protos ?? null,
    maxUploadBytes: maxUpload,
    maxUpload: formatBytes(maxUpload),
  };
}
