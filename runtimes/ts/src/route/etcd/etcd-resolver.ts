/**
 * A `Resolver` fed by etcd: it reads every route under the prefix once, then
 * keeps a local cache current with a prefix watch. `resolve` never goes to
 * etcd — it answers from the cache — so a call costs no etcd round trip and
 * a change reaches callers as soon as the watch delivers it (milliseconds).
 *
 * When etcd cannot be reached the last known routes keep serving; the
 * resolver retries every `ETCD_RETRY_MS`, and after reconnecting reads the
 * prefix again (what changed meanwhile replaces the cache). A name it does
 * not know falls through to the next resolver (the routes file); the -15
 * error then lists this resolver as `etcd … (unreachable: …)` when etcd is
 * down, so the cause is in the message.
 */
import type { Resolver, RouteInstance } from "../resolver.js";
import { EtcdGateway } from "../../etcd/gateway.js";
import { DEFAULT_ETCD_PREFIX, parseInstanceKey, parseInstanceValue, servicesPrefix } from "../../etcd/key-layout.js";

/** Pause before reconnecting after the watch broke or etcd was unreachable. */
export const ETCD_RETRY_MS = 250;
/** How long the first `resolve` waits for the first read of etcd (or its failure) before answering from an empty cache. */
export const ETCD_FIRST_LOAD_WAIT_MS = 3000;

export interface EtcdResolverOptions {
  /** etcd client URLs, e.g. `["http://127.0.0.1:2379"]`. */
  endpoints: readonly string[];
  /** Key prefix of this msec instance; default `/msec`. */
  prefix?: string;
  /** Receives malformed values found under the prefix (they are skipped). */
  onInvalid?: (key: string, reason: string) => void;
}

/**
 * An etcd resolver; `close()` stops its watch. The watch does not keep the
 * process alive (its socket is unref'd): a program exits when its own work is
 * done, whether or not it closed the resolver.
 */
export interface EtcdResolver extends Resolver {
  /** The etcd client URLs it reads. */
  readonly endpoints: readonly string[];
  /** The key prefix it reads. */
  readonly prefix: string;
  /** Resolves after the first successful read of etcd (rejects never; see `lastError`). */
  readonly ready: Promise<void>;
  /** True while the watch is established. */
  connected(): boolean;
  /** The last connection error, `undefined` while connected. */
  lastError(): string | undefined;
  /** Every service in the cache and its instances. */
  snapshot(): Map<string, RouteInstance[]>;
  /** Stops watching; the cache stays as it was. */
  close(): void;
}

/** Starts an etcd resolver (the watch runs in the background until `close()`). */
export function createEtcdResolver(options: EtcdResolverOptions): EtcdResolver {
  const gateway = new EtcdGateway(options.endpoints);
  const prefix = options.prefix ?? DEFAULT_ETCD_PREFIX;
  const root = servicesPrefix(prefix);
  /** service → address → instance */
  const cache = new Map<string, Map<string, RouteInstance>>();
  const stop = new AbortController();
  let watching = false;
  let error: string | undefined;
  let loaded = false;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let markTried!: () => void;
  /** Settles after the first read of etcd succeeded or failed. */
  const firstTry = new Promise<void>((resolve) => (markTried = resolve));

  function apply(type: "put" | "delete", key: string, value: string): void {
    const where = parseInstanceKey(prefix, key);
    if (!where) return;
    let instances = cache.get(where.service);
    if (type === "delete") {
      instances?.delete(where.address);
      if (instances?.size === 0) cache.delete(where.service);
      return;
    }
    let parsed;
    try {
      parsed = parseInstanceValue(value);
    } catch (err) {
      options.onInvalid?.(key, (err as Error).message);
      instances?.delete(where.address);
      return;
    }
    if (!instances) cache.set(where.service, (instances = new Map()));
    instances.set(where.address, { ip: parsed.ip, port: parsed.port, type: parsed.protocol, weight: parsed.weight });
  }

  async function run(): Promise<void> {
    while (!stop.signal.aborted) {
      try {
        const { revision, kvs } = await gateway.getPrefix(root);
        cache.clear();
        for (const kv of kvs) apply("put", kv.key, kv.value);
        loaded = true;
        markReady();
        markTried();
        await gateway.watchPrefix(
          root,
          revision + 1,
          (events) => {
            for (const e of events) apply(e.type, e.key, e.value);
          },
          stop.signal,
          () => {
            watching = true;
            error = undefined;
          },
        );
      } catch (err) {
        error = (err as Error).message;
      }
      markTried();
      const wasWatching = watching;
      watching = false;
      if (stop.signal.aborted) return;
      // A watch that was working broke: reconnect at once (another endpoint may answer);
      // otherwise etcd was unreachable: wait before trying again.
      if (wasWatching) {
        error = `etcd watch stream broke: ${error ?? "closed by etcd"}`;
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ETCD_RETRY_MS);
        t.unref();
        stop.signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
  }

  // The watch runs on an unref'd socket and the retry pause on an unref'd timer: neither keeps the process alive.
  void run();

  return {
    endpoints: gateway.endpoints,
    prefix,
    ready,
    async resolve(service) {
      if (!loaded) {
        await Promise.race([firstTry, new Promise<void>((r) => setTimeout(r, ETCD_FIRST_LOAD_WAIT_MS).unref())]);
      }
      const instances = cache.get(service);
      return instances === undefined ? undefined : [...instances.values()];
    },
    describe() {
      const where = `etcd ${gateway.endpoints.join(",")} prefix ${prefix}`;
      if (error !== undefined && !watching) return `${where} (unreachable: ${error}${loaded ? "; serving cached routes" : "; no routes cached"})`;
      return where;
    },
    connected: () => watching,
    lastError: () => (watching ? undefined : error),
    snapshot: () => new Map([...cache].map(([name, m]) => [name, [...m.values()]])),
    close() {
      stop.abort();
    },
  };
}
