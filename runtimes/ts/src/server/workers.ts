/**
 * `[SRPC] workers=N`: one service instance served by N worker processes on
 * the same port, through `node:cluster`.
 *
 * Why cluster: Node 20's `net.Server` has no `reusePort`, so separate
 * processes cannot each bind the port; cluster lets every worker call
 * `listen()` on the same address. Its scheduling policy is set to
 * `SCHED_NONE` (unless `NODE_CLUSTER_SCHED_POLICY` says otherwise): the main
 * process opens the listening socket once and every worker accepts from it,
 * so the kernel gives each connection to one of the workers waiting, and a
 * connection waiting in the queue is never lost when a worker dies. With
 * Node's default on Linux, `SCHED_RR`, the main process accepts each
 * connection and passes it to a worker over IPC; a connection passed to a
 * worker that has just died (before the main process saw it exit) stays open
 * in the main process, never answered — found by the kill -9 test, where it
 * happened every other run. Workers are started with `UV_TCP_SINGLE_ACCEPT=1`
 * (libuv then takes one connection per wake-up and yields), which spreads
 * connections between the workers; the split is still the kernel's, not a
 * strict rotation, and a connection stays with its worker for its life.
 * UDP works the same way under both policies: each worker's `dgram` bind
 * receives the one socket the main process opened, and the kernel gives each
 * datagram to one of the workers reading it.
 *
 * The main process serves no calls. It forks the workers, prints the
 * `listening on …` line once all of them listen, registers the instance in
 * etcd once (the workers do not), restarts a worker that exits (backoff
 * doubling from 100 ms to 10 s, reset after a worker has run 10 s; logged),
 * gathers `/metrics` — a worker asked for it sends a request to the main
 * process, which collects every live worker's own text, sums it
 * (`metrics-aggregate.ts`) and adds `msec_workers` — and on SIGTERM/SIGINT
 * tells every worker to drain (each stops accepting, finishes its calls,
 * exits 0), then exits 0. A worker's counters leave the sum when it dies
 * (its replacement starts at zero), as a counter reset in Prometheus terms.
 */
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import type { Logger } from "../log.js";
import { aggregateMetrics, workersGauge } from "./metrics-aggregate.js";

/** The environment variable set in the processes this module forks. */
const WORKER_ENV = "MSEC_WORKER";
/** First restart delay after a worker exits; doubles per quick exit up to `MAX_RESTART_DELAY_MS`. */
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 10_000;
/** A worker that ran this long before exiting resets the backoff. */
const STABLE_AFTER_MS = 10_000;
/** How long the main process waits for the workers' metrics before answering with those that came. */
const COLLECT_TIMEOUT_MS = 2_000;
/** Most workers accepted (a typo guard: each worker is a whole process). */
const MAX_WORKERS = 256;
/** Extra time the main process gives workers past their drain before it kills them. */
const DRAIN_GRACE_MS = 5_000;

/** Messages between the main process and its workers (all tagged `msec`). */
type WorkerMessage =
  | { msec: "listening"; host: string; port: number }
  | { msec: "metrics-request"; id: number }
  | { msec: "metrics-text"; id: number; text: string };
type MainMessage =
  | { msec: "drain" }
  | { msec: "metrics-collect"; id: number }
  | { msec: "metrics-answer"; id: number; text: string };

/**
 * `[SRPC] workers` (or the `workers` option): a positive integer, or `auto`
 * for `os.availableParallelism()`; absent or empty: 1. Anything else throws
 * an error naming the key.
 */
export function parseWorkers(value: string | number | undefined, key = "[SRPC] workers"): number {
  if (value === undefined || value === "") return 1;
  if (value === "auto") return availableParallelism();
  const text = String(value).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new Error(`${key}: want a whole number from 1 to ${MAX_WORKERS} or "auto", got "${String(value)}"`);
  }
  return n;
}

/** True in a worker process forked by `startWorkers`. */
export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] !== undefined;
}

/** Sends over the IPC channel; `process.send` is undefined outside a worker. */
function send(target: Worker | NodeJS.Process, message: WorkerMessage | MainMessage): void {
  try {
    if (target === process) process.send?.(message);
    else (target as Worker).send(message);
  } catch {
    // The other side is gone; its exit is handled where it is observed.
  }
}

function isMessage<T extends { msec: string }>(message: unknown): message is T {
  return typeof message === "object" && message !== null && typeof (message as { msec?: unknown }).msec === "string";
}

/** A worker's side of the link: reports listening, answers metrics collection, drains when told. */
export interface WorkerLink {
  /** The instance's `/metrics` text (all workers summed), from the main process. */
  instanceMetrics(): Promise<string>;
  /** Tells the main process this worker listens. */
  listening(host: string, port: number): void;
}

/**
 * Sets up a worker: `ownMetrics` gives this worker's text when the main
 * process collects, `drain` runs when the main process says to stop.
 */
export function connectWorker(ownMetrics: () => string, drain: () => void): WorkerLink {
  let nextId = 1;
  const waiting = new Map<number, (text: string) => void>();
  process.on("message", (message: unknown) => {
    if (!isMessage<MainMessage>(message)) return;
    if (message.msec === "drain") drain();
    else if (message.msec === "metrics-collect") send(process, { msec: "metrics-text", id: message.id, text: ownMetrics() });
    else if (message.msec === "metrics-answer") {
      waiting.get(message.id)?.(message.text);
      waiting.delete(message.id);
    }
  });
  return {
    instanceMetrics() {
      const id = nextId++;
      return new Promise<string>((resolve) => {
        // Should the main process not answer, this worker's own text is better than no answer.
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(ownMetrics());
        }, COLLECT_TIMEOUT_MS * 2);
        waiting.set(id, (text) => {
          clearTimeout(timer);
          resolve(text);
        });
        send(process, { msec: "metrics-request", id });
      });
    },
    listening(host, port) {
      send(process, { msec: "listening", host, port });
    },
  };
}

export interface StartWorkersOptions {
  workers: number;
  /** How long each worker may drain on SIGTERM (`[SRPC] drain_timeout_ms`). */
  drainTimeoutMs: number;
  logger: Logger;
}

/** The main process's handle on its workers. */
export interface WorkerGroup {
  /** Where the workers listen (resolved once all of them do). */
  readonly address: { host: string; port: number };
  /** Tells every worker to drain; resolves when all exited (true when all exited 0). */
  drain(): Promise<boolean>;
}

/**
 * Forks `workers` copies of this process (same script and arguments, with
 * `MSEC_WORKER` set) and resolves once all of them listen; rejects, killing
 * the others, if one exits before it listens (a bad port, a bad config).
 */
export function startWorkers(options: StartWorkersOptions): Promise<WorkerGroup> {
  const { logger } = options;
  const live = new Map<number, Worker>();
  const startedAt = new Map<number, number>();
  /** Worker id → its index (`MSEC_WORKER`), kept by its replacement. */
  const indexOf = new Map<number, number>();
  /** Workers that listen (and so answer metrics collection). */
  const ready = new Set<number>();
  let restartDelay = FIRST_RESTART_DELAY_MS;
  let stopping = false;
  let address: { host: string; port: number } | undefined;
  let nextCollectId = 1;
  const collections = new Map<number, { pending: Set<number>; texts: string[]; done: () => void }>();

  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  const fork = (index: number): Worker => {
    const worker = cluster.fork({
      [WORKER_ENV]: String(index),
      // libuv then accepts one connection per wake-up and yields, so the workers share the queue.
      UV_TCP_SINGLE_ACCEPT: process.env.UV_TCP_SINGLE_ACCEPT ?? "1",
    });
    live.set(worker.id, worker);
    indexOf.set(worker.id, index);
    startedAt.set(worker.id, performance.now());
    worker.on("message", (message: unknown) => {
      if (!isMessage<WorkerMessage>(message)) return;
      if (message.msec === "listening") ready.add(worker.id);
      else if (message.msec === "metrics-request") collect(worker, message.id);
      else if (message.msec === "metrics-text") {
        const collection = collections.get(message.id);
        if (collection?.pending.delete(worker.id)) {
          collection.texts.push(message.text);
          if (collection.pending.size === 0) collection.done();
        }
      }
    });
    return worker;
  };

  /** Gathers every live worker's text and answers `asker` with their sum. */
  const collect = (asker: Worker, askerId: number): void => {
    const id = nextCollectId++;
    const texts: string[] = [];
    // A worker still starting has nothing to count yet and may not be listening for messages.
    const pending = new Set([...live.keys()].filter((workerId) => ready.has(workerId)));
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      if (!collections.delete(id)) return;
      clearTimeout(timer);
      send(asker, { msec: "metrics-answer", id: askerId, text: aggregateMetrics(texts) + workersGauge(live.size) });
    };
    collections.set(id, { pending, texts, done });
    timer = setTimeout(done, COLLECT_TIMEOUT_MS);
    for (const workerId of pending) send(live.get(workerId)!, { msec: "metrics-collect", id });
    if (pending.size === 0) done();
  };

  const dropFromCollections = (workerId: number): void => {
    for (const collection of collections.values()) {
      if (collection.pending.delete(workerId) && collection.pending.size === 0) collection.done();
    }
  };

  return new Promise<WorkerGroup>((resolve, reject) => {
    const listening = new Set<number>();
    let failed = false;
    for (let i = 0; i < options.workers; i++) {
      const worker = fork(i);
      worker.on("message", (message: unknown) => {
        if (!isMessage<WorkerMessage>(message) || message.msec !== "listening" || address !== undefined) return;
        listening.add(worker.id);
        if (listening.size === options.workers) {
          address = { host: message.host, port: message.port };
          resolve(group);
        }
      });
    }
    const group: WorkerGroup = {
      get address() {
        return address!;
      },
      drain() {
        stopping = true;
        const exits = [...live.values()].map(
          (worker) => new Promise<boolean>((done) => worker.once("exit", (code) => done(code === 0))),
        );
        for (const worker of live.values()) send(worker, { msec: "drain" });
        const killer = setTimeout(() => {
          logger.error("workers still running after the drain timeout; killing them", { workers: live.size });
          for (const worker of live.values()) worker.process.kill("SIGKILL");
        }, options.drainTimeoutMs + DRAIN_GRACE_MS);
        return Promise.all(exits).then((codes) => {
          clearTimeout(killer);
          return codes.every((ok) => ok);
        });
      },
    };
    cluster.on("exit", (worker, code, signal) => {
      if (!live.delete(worker.id)) return;
      ready.delete(worker.id);
      dropFromCollections(worker.id);
      const index = indexOf.get(worker.id) ?? 0;
      indexOf.delete(worker.id);
      if (address === undefined) {
        // A worker that cannot start (port taken, bad config) will not start on retry either.
        if (!failed) {
          failed = true;
          for (const other of live.values()) other.process.kill("SIGKILL");
          reject(new Error(`worker process ${worker.process.pid} exited (${signal ?? `code ${code}`}) before listening`));
        }
        return;
      }
      if (stopping) return;
      const ranMs = performance.now() - (startedAt.get(worker.id) ?? 0);
      startedAt.delete(worker.id);
      if (ranMs >= STABLE_AFTER_MS) restartDelay = FIRST_RESTART_DELAY_MS;
      const delay = restartDelay;
      restartDelay = Math.min(restartDelay * 2, MAX_RESTART_DELAY_MS);
      logger.error("worker process exited; restarting it", {
        pid: worker.process.pid,
        code,
        signal,
        restartInMs: delay,
        workersServing: live.size,
      });
      setTimeout(() => {
        if (stopping) return;
        const replacement = fork(index);
        replacement.once("message", (message: unknown) => {
          if (isMessage<WorkerMessage>(message) && message.msec === "listening") {
            logger.info("worker process restarted", { pid: replacement.process.pid });
          }
        });
      }, delay);
    });
  });
}
