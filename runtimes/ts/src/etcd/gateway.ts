/**
 * A small etcd v3 client over etcd's JSON gateway (`/v3/...`, HTTP POST with
 * base64 keys and values) using Node's built-in `fetch` and `node:http` — no
 * dependency. It covers what routing needs: put, prefix range and delete,
 * leases with keep-alive, and a prefix watch (a streaming POST whose reply is
 * one JSON object per line, on its own `node:http` connection whose socket is
 * unref'd: an open watch never keeps the process alive).
 *
 * Requests go to the endpoint that last answered and move on to the next one
 * when an endpoint cannot be reached, so a cluster with one member down keeps
 * working. Only network failures move on; an answer from etcd (even an error)
 * is final.
 *
 * Lives in the top-level `etcd/` folder, shared by the runtime and the CLI.
 */
import { type IncomingMessage, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** Budget of one unary request to one endpoint. */
export const ETCD_REQUEST_TIMEOUT_MS = 2000;

/** A network failure on every endpoint (as opposed to an error answered by etcd). */
export class EtcdUnreachableError extends Error {
  constructor(readonly endpoints: readonly string[], readonly causes: readonly string[]) {
    super(`etcd unreachable (${causes.join("; ")})`);
    this.name = "EtcdUnreachableError";
  }
}

/** An error answered by etcd (HTTP status ≠ 200). */
export class EtcdResponseError extends Error {
  constructor(readonly status: number, message: string) {
    super(`etcd answered ${status}: ${message}`);
    this.name = "EtcdResponseError";
  }
}

/** One key-value pair, decoded. */
export interface EtcdKeyValue {
  key: string;
  value: string;
  modRevision: number;
  lease: string | undefined;
}

/** One change seen by a watch. */
export interface EtcdEvent {
  type: "put" | "delete";
  key: string;
  value: string;
}

/** Parses `MSEC_ETCD_ENDPOINTS`-style text: comma-separated URLs; throws on anything else. */
export function parseEndpoints(text: string): string[] {
  const endpoints = text
    .split(",")
    .map((s) => s.trim().replace(/\/+$/, ""))
    .filter((s) => s !== "");
  if (endpoints.length === 0) throw new Error("no etcd endpoints given");
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/\s]+$/.test(e)) throw new Error(`invalid etcd endpoint "${e}" (expected http://host:port)`);
  }
  return endpoints;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: string | undefined) => Buffer.from(text ?? "", "base64").toString("utf8");

/** The end of the range of every key starting with `prefix` (etcd's `range_end`). */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, "utf8");
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return end.toString("base64");
    }
  }
  return Buffer.from([0]).toString("base64");
}

interface RawKv {
  key?: string;
  value?: string;
  mod_revision?: string;
  lease?: string;
}

/** etcd v3 over its JSON gateway. */
export class EtcdGateway {
  readonly endpoints: readonly string[];
  private current = 0;

  constructor(endpoints: readonly string[]) {
    if (endpoints.length === 0) throw new Error("no etcd endpoints given");
    this.endpoints = endpoints.map((e) => e.replace(/\/+$/, ""));
  }

  /** POSTs `body` to `path` on the first reachable endpoint; resolves with the parsed reply. */
  async request<T>(path: string, body: unknown): Promise<T> {
    const causes: string[] = [];
    for (let tried = 0; tried < this.endpoints.length; tried++) {
      const at = (this.current + tried) % this.endpoints.length;
      const endpoint = this.endpoints[at]!;
      let res: Response;
      let text: string;
      try {
        res = await fetch(endpoint + path, {
          method: "POST",
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(ETCD_REQUEST_TIMEOUT_MS),
        });
        text = await res.text();
      } catch (err) {
        causes.push(`${endpoint}: ${describeNetworkError(err)}`);
        continue;
      }
      this.current = at;
      if (res.status !== 200) {
        let message = text;
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          // not JSON: keep the text
        }
        throw new EtcdResponseError(res.status, message);
      }
      return JSON.parse(text) as T;
    }
    throw new EtcdUnreachableError(this.endpoints, causes);
  }

  /** Writes `key`, attached to `lease` when given. */
  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.request("/v3/kv/put", lease === undefined ? { key: b64(key), value: b64(value) } : { key: b64(key), value: b64(value), lease });
  }

  /** Every key starting with `prefix`, and the store revision the answer reflects. */
  async getPrefix(prefix: string): Promise<{ revision: number; kvs: EtcdKeyValue[] }> {
    const reply = await this.request<{ header?: { revision?: string }; kvs?: RawKv[] }>("/v3/kv/range", {
      key: b64(prefix),
      range_end: prefixRangeEnd(prefix),
    });
    return {
      revision: Number(reply.header?.revision ?? 0),
      kvs: (reply.kvs ?? []).map((kv) => ({
        key: unb64(kv.key),
        value: unb64(kv.value),
        modRevision: Number(kv.mod_revision ?? 0),
        lease: kv.lease,
      })),
    };
  }

  /** Deletes `key`; resolves with the number of keys deleted. */
  async delete(key: string): Promise<number> {
    const reply = await this.request<{ deleted?: string }>("/v3/kv/deleterange", { key: b64(key) });
    return Number(reply.deleted ?? 0);
  }

  /** Deletes every key starting with `prefix`; resolves with the number deleted. */
  async deletePrefix(prefix: string): Promise<number> {
    const reply = await this.request<{ deleted?: string }>("/v3/kv/deleterange", { key: b64(prefix), range_end: prefixRangeEnd(prefix) });
    return Number(reply.deleted ?? 0);
  }

  /** Grants a lease of `ttlSeconds`; resolves with its id (a decimal string: ids exceed 2^53). */
  async grantLease(ttlSeconds: number): Promise<string> {
    const reply = await this.request<{ ID?: string }>("/v3/lease/grant", { TTL: ttlSeconds });
    if (reply.ID === undefined) throw new Error("etcd granted no lease id");
    return reply.ID;
  }

  /** Renews a lease once; resolves with its new TTL in seconds, 0 when the lease no longer exists. */
  async keepAlive(lease: string): Promise<number> {
    // The gateway answers a streaming call; one request line gets one result line.
    const reply = await this.request<{ result?: { TTL?: string } }>("/v3/lease/keepalive", { ID: lease });
    return Number(reply.result?.TTL ?? 0);
  }

  /** Revokes a lease, deleting its keys. A lease that already expired is not an error. */
  async revokeLease(lease: string): Promise<void> {
    try {
      await this.request("/v3/lease/revoke", { ID: lease });
    } catch (err) {
      if (!(err instanceof EtcdResponseError && /lease not found/.test(err.message))) throw err;
    }
  }

  /**
   * Watches every key starting with `prefix` from `fromRevision`, calling
   * `onEvents` for each batch. Resolves when `signal` aborts; rejects when the
   * stream breaks or etcd cancels the watch (e.g. the revision was compacted) —
   * the caller then reads the prefix again and watches anew. `onCreated` runs
   * once etcd confirmed the watch.
   */
  async watchPrefix(
    prefix: string,
    fromRevision: number,
    onEvents: (events: EtcdEvent[], revision: number) => void,
    signal: AbortSignal,
    onCreated?: () => void,
  ): Promise<void> {
    const causes: string[] = [];
    for (let tried = 0; tried < this.endpoints.length; tried++) {
      const at = (this.current + tried) % this.endpoints.length;
      const endpoint = this.endpoints[at]!;
      let res: IncomingMessage;
      try {
        res = await openWatchStream(
          endpoint,
          JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixRangeEnd(prefix), start_revision: String(fromRevision) } }),
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        causes.push(`${endpoint}: ${describeNetworkError(err)}`);
        continue;
      }
      this.current = at;
      if (res.statusCode !== 200) {
        let text = "";
        try {
          for await (const chunk of res) text += (chunk as Buffer).toString("utf8");
        } catch {
          // the status is what matters
        }
        throw new EtcdResponseError(res.statusCode ?? 0, text);
      }
      await readWatchStream(res, onEvents, signal, onCreated);
      return;
    }
    throw new EtcdUnreachableError(this.endpoints, causes);
  }
}

/**
 * POSTs a watch request to `endpoint` on a connection of its own and resolves
 * with the streaming reply once its head arrived. The socket is unref'd, so a
 * program whose calls are done exits even though the watch is still open
 * (`fetch` offers no way to unref its connection).
 */
function openWatchStream(endpoint: string, body: string, signal: AbortSignal): Promise<IncomingMessage> {
  const url = new URL(`${endpoint}/v3/watch`);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: "POST", agent: false, signal, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      resolve,
    );
    req.on("socket", (socket) => socket.unref());
    req.on("error", reject);
    req.end(body);
  });
}

interface WatchLine {
  result?: {
    header?: { revision?: string };
    created?: boolean;
    canceled?: boolean;
    cancel_reason?: string;
    compact_revision?: string;
    events?: Array<{ type?: string; kv?: RawKv }>;
  };
  error?: { message?: string };
}

async function readWatchStream(
  body: AsyncIterable<Uint8Array>,
  onEvents: (events: EtcdEvent[], revision: number) => void,
  signal: AbortSignal,
  onCreated?: () => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for await (const chunk of body) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line === "") continue;
        const msg = JSON.parse(line) as WatchLine;
        if (msg.error) throw new Error(`etcd watch failed: ${msg.error.message ?? line}`);
        const result = msg.result;
        if (!result) continue;
        if (result.canceled) throw new Error(`etcd canceled the watch: ${result.cancel_reason ?? `compacted at ${result.compact_revision}`}`);
        if (result.created) onCreated?.();
        if (result.events && result.events.length > 0) {
          onEvents(
            result.events.map((e) => ({
              type: e.type === "DELETE" ? "delete" : "put",
              key: unb64(e.kv?.key),
              value: unb64(e.kv?.value),
            })),
            Number(result.header?.revision ?? 0),
          );
        }
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
  if (!signal.aborted) throw new Error("etcd closed the watch stream");
}

/** `fetch failed` hides the reason in `cause`; surface it (e.g. `ECONNREFUSED`). */
function describeNetworkError(err: unknown): string {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError") return `no answer within ${ETCD_REQUEST_TIMEOUT_MS} ms`;
  // fetch puts the reason in `cause`; node:http errors carry it as `code` (the watch).
  return e.cause?.code ?? e.cause?.message ?? e.code ?? e.message;
}
