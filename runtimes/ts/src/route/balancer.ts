/**
 * MSEC NLB load balancing (spec §7.3 selection, §7.4 weight adjustment), per
 * routing name, with the defaults of `nlb/src/comm/commstruct.h`.
 *
 * Pick: weighted random over alive servers by dynamic weight. When some
 * servers are dead, the total weight gets a dead pool of
 * `int(alive × DEAD_RETRY_RATIO + 1)`; a draw landing in it probes a random
 * dead server, at most `max(1, int(requests of last period × 0.01))` times per
 * period. A chosen server whose success ratio this period is below 0.6 with
 * at least `shapingRequestMin` requests is replaced by a uniformly random
 * server. All dead (or zero alive weight) → uniformly random server.
 *
 * Every `BALANCE_PERIOD_MS` (checked on pick and update — no timer, so no
 * handle keeps a process alive and tests drive it with the clock), each
 * server's period results adjust its weight:
 * * normal mode while at most half the servers are below half their static
 *   weight: base 0.98; otherwise protect mode: base = min(global success
 *   ratio, 0.98) and no decreases;
 * * ratio ≥ base → a dead server revives at `max(1, int(static × 0.1))`, an
 *   alive one grows by `max(1, int(static × 0.05))` up to static;
 * * ratio ≤ 0.00001 → dead (weight 0, moved to the tail);
 * * otherwise, normal mode only → `dynamic = int(dynamic × ratio²)`, 0 → dead;
 * * no requests → unchanged. An alive server with fewer than
 *   `shapingRequestMin` requests keeps its counters for the next period — the
 *   original's intended rule (its periodic path read the threshold as 0, so
 *   one failure in a quiet period killed a server; pass `shapingRequestMin: 0`
 *   for that behaviour).
 * Servers are kept alive-first, dead-last, as NLB keeps its array.
 */
import { type Route, routeAddress } from "./literal.js";
import type { RouteInstance } from "./resolver.js";

/** Weight adjustment period per service. */
export const BALANCE_PERIOD_MS = 5000;
/** Requests a server needs in a period before its success ratio is judged. */
export const SHAPING_REQUEST_MIN = 10;
/** Success ratio at or above which weight grows (normal mode base). */
export const SUCCESS_RATIO_BASE = 0.98;
/** Per-pick: below this success ratio the pick is replaced by a random server. */
export const SUCCESS_RATIO_MIN = 0.6;
/** A revived server restarts at this share of its static weight. */
export const RESUME_WEIGHT_RATIO = 0.1;
/** Share of total weight (and of requests, as probe tokens) given to dead servers. */
export const DEAD_RETRY_RATIO = 0.01;
/** A server below this share of its static weight counts as "low". */
export const WEIGHT_LOW_WATERMARK = 0.5;
/** More than this share of low servers switches to protect mode. */
export const WEIGHT_LOW_RATIO = 0.5;
/** Weight grows by this share of static weight per good period. */
export const WEIGHT_INCR_RATIO = 0.05;
/** At or below this success ratio a server is dead. */
export const DEAD_SUCCESS_RATIO = 0.00001;
/**
 * After a refused connection (nothing listens: the process is gone) a server
 * is dead at once and gets no picks at all — not even dead-server probes —
 * for this long; afterwards it is probed like any dead server. (msec-gen
 * addition: NLB only learns of a crash at the next weight adjustment.)
 */
export const REFUSED_HOLD_MS = 5000;

/** Weight state of one server, as `weights()` reports it. */
export interface ServerWeight {
  address: string;
  staticWeight: number;
  dynamicWeight: number;
  dead: boolean;
}

export interface BalancerOptions {
  /** Clock in ms; default `Date.now`. */
  now?: () => number;
  /** Random integer in `[0, n)`; default from `Math.random`. */
  randomInt?: (n: number) => number;
  /** See `SHAPING_REQUEST_MIN`. */
  shapingRequestMin?: number;
}

interface ServerState {
  readonly route: Route;
  readonly address: string;
  readonly staticWeight: number;
  dynamic: number;
  dead: boolean;
  deadSince: number;
  success: number;
  failed: number;
  costMs: number;
  /** No picks before this time (see `REFUSED_HOLD_MS`); 0 = none. */
  heldUntil: number;
}

interface ServiceState {
  servers: ServerState[];
  adjustedAt: number;
  deadRetryLeft: number;
  /** Identity of the instance list the state was built from. */
  signature: string;
}

function signatureOf(instances: readonly RouteInstance[]): string {
  return instances.map((i) => `${routeAddress(i)}@${i.type}=${i.weight}`).join(" ");
}

/** Balancer state for every routing name it has seen. */
export class Balancer {
  private readonly services = new Map<string, ServiceState>();
  private readonly now: () => number;
  private readonly randomInt: (n: number) => number;
  readonly shapingRequestMin: number;

  constructor(options: BalancerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.randomInt = options.randomInt ?? ((n) => Math.floor(Math.random() * n));
    this.shapingRequestMin = options.shapingRequestMin ?? SHAPING_REQUEST_MIN;
  }

  /** Chooses one of `instances` for `name`; `undefined` when the list is empty. */
  pick(name: string, instances: readonly RouteInstance[]): Route | undefined {
    if (instances.length === 0) return undefined;
    const svc = this.service(name, instances);
    this.tick(name);
    const now = this.now();
    const unheld = svc.servers.filter((s) => s.heldUntil <= now);
    const candidates = unheld.length > 0 ? unheld : svc.servers;
    const alive = candidates.filter((s) => !s.dead);
    const dead = candidates.filter((s) => s.dead);
    const aliveWeight = alive.reduce((sum, s) => sum + s.dynamic, 0);
    if (alive.length === 0 || aliveWeight <= 0) {
      return candidates[this.randomInt(candidates.length)]!.route;
    }
    const total = aliveWeight + (dead.length > 0 ? Math.floor(aliveWeight * DEAD_RETRY_RATIO + 1) : 0);
    if (this.randomInt(total) >= aliveWeight && svc.deadRetryLeft > 0) {
      svc.deadRetryLeft--;
      return dead[this.randomInt(dead.length)]!.route;
    }
    let r = this.randomInt(aliveWeight);
    let chosen = alive[alive.length - 1]!;
    for (const s of alive) {
      if (r < s.dynamic) {
        chosen = s;
        break;
      }
      r -= s.dynamic;
    }
    const requests = chosen.success + chosen.failed;
    if (requests >= this.shapingRequestMin && requests > 0 && chosen.success / requests < SUCCESS_RATIO_MIN) {
      chosen = candidates[this.randomInt(candidates.length)]!;
    }
    return chosen.route;
  }

  /**
   * A connection to `address` was refused: the server is dead now and held
   * out of picks for `REFUSED_HOLD_MS`. Returns false when the service or
   * address is unknown to the balancer.
   */
  markRefused(name: string, address: string): boolean {
    const svc = this.services.get(name);
    const server = svc?.servers.find((s) => s.address === address);
    if (svc === undefined || server === undefined) return false;
    const now = this.now();
    server.failed++;
    server.dead = true;
    server.dynamic = 0;
    server.deadSince = now;
    server.heldUntil = now + REFUSED_HOLD_MS;
    svc.servers = [...svc.servers.filter((s) => !s.dead), ...svc.servers.filter((s) => s.dead)];
    return true;
  }

  /**
   * Reports one call's outcome: `failed` ≥ 1 failures, 0 = one success that
   * took `costMs`. `address` is `ip:port`, or a bare `ip` matching any port
   * of that host (MSEC reports by IP). Returns false when the service or the
   * address is unknown to the balancer.
   */
  update(name: string, address: string, failed: number, costMs: number): boolean {
    const svc = this.services.get(name);
    if (svc === undefined) return false;
    const server = svc.servers.find((s) => s.address === address || s.route.ip === address);
    if (server === undefined) return false;
    if (failed > 0) {
      server.failed += failed;
    } else {
      server.success++;
      server.costMs += costMs;
    }
    this.tick(name);
    return true;
  }

  /** Adjusts `name`'s weights if a period has passed since the last adjustment. */
  tick(name: string): void {
    const svc = this.services.get(name);
    if (svc === undefined) return;
    const now = this.now();
    if (now - svc.adjustedAt < BALANCE_PERIOD_MS) return;
    svc.adjustedAt = now;
    this.adjust(svc, now);
  }

  /** Current weights of `name` in the balancer's order (alive first), for diagnostics and tests. */
  weights(name: string): ServerWeight[] {
    return (this.services.get(name)?.servers ?? []).map((s) => ({
      address: s.address,
      staticWeight: s.staticWeight,
      dynamicWeight: s.dynamic,
      dead: s.dead,
    }));
  }

  /** State for `name`, rebuilt when its instance list changed (servers kept when address and weight match). */
  private service(name: string, instances: readonly RouteInstance[]): ServiceState {
    const signature = signatureOf(instances);
    let svc = this.services.get(name);
    if (svc !== undefined && svc.signature === signature) return svc;
    const old = new Map((svc?.servers ?? []).map((s) => [`${s.address}@${s.route.type}`, s]));
    const servers = instances.map((i): ServerState => {
      const prev = old.get(`${routeAddress(i)}@${i.type}`);
      if (prev !== undefined && prev.staticWeight === i.weight) return prev;
      return {
        route: { ip: i.ip, port: i.port, type: i.type },
        address: routeAddress(i),
        staticWeight: i.weight,
        dynamic: i.weight,
        dead: false,
        deadSince: 0,
        success: 0,
        failed: 0,
        costMs: 0,
        heldUntil: 0,
      };
    });
    svc = { servers, adjustedAt: this.now(), deadRetryLeft: 1, signature };
    this.services.set(name, svc);
    return svc;
  }

  private adjust(svc: ServiceState, now: number): void {
    const servers = svc.servers;
    const low = servers.filter((s) => s.dynamic / s.staticWeight < WEIGHT_LOW_WATERMARK).length;
    const normal = low / servers.length <= WEIGHT_LOW_RATIO;
    let totalSuccess = 0;
    let totalRequests = 0;
    for (const s of servers) {
      totalSuccess += s.success;
      totalRequests += s.success + s.failed;
    }
    const base = normal
      ? SUCCESS_RATIO_BASE
      : Math.min(totalRequests > 0 ? totalSuccess / totalRequests : 1, SUCCESS_RATIO_BASE);
    for (const s of servers) {
      const requests = s.success + s.failed;
      if (requests === 0 || (!s.dead && requests < this.shapingRequestMin)) continue;
      const ratio = s.success / requests;
      if (ratio >= base) {
        if (s.dead) {
          s.dead = false;
          s.dynamic = Math.max(1, Math.floor(s.staticWeight * RESUME_WEIGHT_RATIO));
        } else if (s.dynamic !== s.staticWeight) {
          s.dynamic = Math.min(s.staticWeight, s.dynamic + Math.max(1, Math.floor(s.staticWeight * WEIGHT_INCR_RATIO)));
        }
      } else if (ratio <= DEAD_SUCCESS_RATIO) {
        s.dead = true;
        s.dynamic = 0;
        s.deadSince = now;
      } else if (normal) {
        s.dynamic = Math.floor(s.dynamic * ratio * ratio);
        if (s.dynamic === 0) {
          s.dead = true;
          s.deadSince = now;
        }
      }
      s.success = 0;
      s.failed = 0;
      s.costMs = 0;
    }
    svc.deadRetryLeft = Math.max(1, Math.floor(totalRequests * DEAD_RETRY_RATIO));
    svc.servers = [...servers.filter((s) => !s.dead), ...servers.filter((s) => s.dead)];
  }
}
