package io.github.msecgen.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;

/**
 * MSEC NLB load balancing (spec §7.3 selection, §7.4 weight adjustment) per
 * routing name, with the defaults of {@code nlb/src/comm/commstruct.h}. A port
 * of the TypeScript runtime's {@code Balancer} ({@code runtimes/ts/src/route/balancer.ts}):
 * the same rules, the same draws from the random source in the same order, so
 * scripted tests give the same weights in both.
 *
 * <p><b>Pick</b>: weighted random over alive servers by dynamic weight. When some
 * servers are dead, the total gets a dead pool of {@code int(alive × 0.01 + 1)};
 * a draw landing in it probes a random dead server, at most
 * {@code max(1, int(requests of last period × 0.01))} times per period. A chosen
 * server whose success ratio this period is below 0.6 with at least
 * {@code shapingRequestMin} requests is replaced by a uniformly random server.
 * All dead (or zero alive weight) → a uniformly random server.
 *
 * <p><b>Every {@value #BALANCE_PERIOD_MS} ms</b> (checked on pick and update — no
 * timer, so tests drive it with the clock) each server's period results adjust
 * its weight: normal mode while at most half the servers are below half their
 * static weight (base 0.98), otherwise protect mode (base = min(global success
 * ratio, 0.98), no decreases); ratio ≥ base → a dead server revives at
 * {@code max(1, int(static × 0.1))}, an alive one grows by
 * {@code max(1, int(static × 0.05))} up to static; ratio ≤ 0.00001 → dead;
 * otherwise (normal mode) {@code dynamic = int(dynamic × ratio²)}, 0 → dead; no
 * requests → unchanged. Servers are kept alive first, dead last.
 *
 * <p><b>Deviation from MSEC, on purpose</b> (as in the TypeScript and Python
 * runtimes): an alive server with fewer than {@code shapingRequestMin} (10)
 * requests in a period is not judged; its counts carry over. MSEC's periodic
 * path read the threshold as 0, so one failure in a quiet period killed a
 * server; {@code new Balancer(clock, random, 0)} reproduces that.
 *
 * <p><b>msec-gen addition</b>: {@link #markRefused} — after a refused connection a
 * server is dead at once and gets no picks at all for {@value #REFUSED_HOLD_MS} ms.
 *
 * <p>Thread-safe (every method locks the balancer).
 */
public final class Balancer {
    /** Weight adjustment period per service. */
    public static final long BALANCE_PERIOD_MS = 5000;
    /** Requests a server needs in a period before its success ratio is judged. */
    public static final int SHAPING_REQUEST_MIN = 10;
    /** Success ratio at or above which weight grows (normal mode base). */
    public static final double SUCCESS_RATIO_BASE = 0.98;
    /** Per pick: below this success ratio the pick is replaced by a random server. */
    public static final double SUCCESS_RATIO_MIN = 0.6;
    /** A revived server restarts at this share of its static weight. */
    public static final double RESUME_WEIGHT_RATIO = 0.1;
    /** Share of total weight (and of requests, as probe tokens) given to dead servers. */
    public static final double DEAD_RETRY_RATIO = 0.01;
    /** A server below this share of its static weight counts as "low". */
    public static final double WEIGHT_LOW_WATERMARK = 0.5;
    /** More than this share of low servers switches to protect mode. */
    public static final double WEIGHT_LOW_RATIO = 0.5;
    /** Weight grows by this share of static weight per good period. */
    public static final double WEIGHT_INCR_RATIO = 0.05;
    /** At or below this success ratio a server is dead. */
    public static final double DEAD_SUCCESS_RATIO = 0.00001;
    /** After a refused connection a server gets no picks (not even probes) for this long. */
    public static final long REFUSED_HOLD_MS = 5000;

    /** Weight state of one server, as {@link #weights} reports it. */
    public record ServerWeight(String address, int staticWeight, int dynamicWeight, boolean dead) {}

    private static final class ServerState {
        final Route route;
        final String address;
        final int staticWeight;
        int dynamic;
        boolean dead;
        long deadSince;
        long success;
        long failed;
        long costMs;
        /** No picks before this time (see {@link #REFUSED_HOLD_MS}); 0 = none. */
        long heldUntil;

        ServerState(RouteInstance instance) {
            this.route = instance.route();
            this.address = instance.address();
            this.staticWeight = instance.weight();
            this.dynamic = instance.weight();
        }
    }

    private static final class ServiceState {
        List<ServerState> servers;
        long adjustedAt;
        long deadRetryLeft = 1;
        String signature;
    }

    private final Map<String, ServiceState> services = new HashMap<>();
    private final LongSupplier nowMs;
    private final LongUnaryOperator randomBelow;
    private final int shapingRequestMin;

    /** The production balancer: wall clock in ms, {@link ThreadLocalRandom}, threshold {@value #SHAPING_REQUEST_MIN}. */
    public Balancer() {
        this(System::currentTimeMillis, n -> ThreadLocalRandom.current().nextLong(n), SHAPING_REQUEST_MIN);
    }

    /**
     * A balancer on a given clock and random source (tests script picks and periods this way).
     *
     * @param nowMs clock in milliseconds (any origin; only differences count)
     * @param randomBelow returns a random integer in {@code [0, n)} for {@code n > 0}
     * @param shapingRequestMin see {@link #SHAPING_REQUEST_MIN}; 0 reproduces MSEC's periodic path
     */
    public Balancer(LongSupplier nowMs, LongUnaryOperator randomBelow, int shapingRequestMin) {
        if (shapingRequestMin < 0) throw new IllegalArgumentException("shapingRequestMin must be >= 0, got " + shapingRequestMin);
        this.nowMs = nowMs;
        this.randomBelow = randomBelow;
        this.shapingRequestMin = shapingRequestMin;
    }

    /** Requests a server needs in a period before it is judged. */
    public int shapingRequestMin() {
        return shapingRequestMin;
    }

    /** Chooses one of {@code instances} for {@code name}; {@code null} when the list is empty. */
    public synchronized Route pick(String name, List<RouteInstance> instances) {
        if (instances.isEmpty()) return null;
        ServiceState svc = service(name, instances);
        tick(name);
        long now = nowMs.getAsLong();
        List<ServerState> candidates = new ArrayList<>(svc.servers.size());
        for (ServerState s : svc.servers) if (s.heldUntil <= now) candidates.add(s);
        if (candidates.isEmpty()) candidates = svc.servers;
        List<ServerState> alive = new ArrayList<>(candidates.size());
        List<ServerState> dead = new ArrayList<>();
        long aliveWeight = 0;
        for (ServerState s : candidates) {
            if (s.dead) {
                dead.add(s);
            } else {
                alive.add(s);
                aliveWeight += s.dynamic;
            }
        }
        if (alive.isEmpty() || aliveWeight <= 0) {
            return candidates.get(random(candidates.size())).route;
        }
        long total = aliveWeight + (dead.isEmpty() ? 0 : (long) Math.floor(aliveWeight * DEAD_RETRY_RATIO + 1));
        if (random(total) >= aliveWeight && svc.deadRetryLeft > 0) {
            svc.deadRetryLeft--;
            return dead.get(random(dead.size())).route;
        }
        long r = random(aliveWeight);
        ServerState chosen = alive.get(alive.size() - 1);
        for (ServerState s : alive) {
            if (r < s.dynamic) {
                chosen = s;
                break;
            }
            r -= s.dynamic;
        }
        long requests = chosen.success + chosen.failed;
        if (requests >= shapingRequestMin && requests > 0 && (double) chosen.success / requests < SUCCESS_RATIO_MIN) {
            chosen = candidates.get(random(candidates.size()));
        }
        return chosen.route;
    }

    /**
     * A connection to {@code address} was refused: the server is dead now and held out
     * of picks for {@link #REFUSED_HOLD_MS}. False when the service or address is unknown.
     */
    public synchronized boolean markRefused(String name, String address) {
        ServiceState svc = services.get(name);
        if (svc == null) return false;
        ServerState server = null;
        for (ServerState s : svc.servers) {
            if (s.address.equals(address)) {
                server = s;
                break;
            }
        }
        if (server == null) return false;
        long now = nowMs.getAsLong();
        server.failed++;
        server.dead = true;
        server.dynamic = 0;
        server.deadSince = now;
        server.heldUntil = now + REFUSED_HOLD_MS;
        svc.servers = aliveFirst(svc.servers);
        return true;
    }

    /**
     * Reports one call's outcome: {@code failed} ≥ 1 failures, 0 = one success that took
     * {@code costMs}. {@code address} is {@code ip:port}, or a bare {@code ip} matching any
     * port of that host (MSEC reports by IP). False when the service or address is unknown.
     */
    public synchronized boolean update(String name, String address, int failed, long costMs) {
        ServiceState svc = services.get(name);
        if (svc == null) return false;
        ServerState server = null;
        for (ServerState s : svc.servers) {
            if (s.address.equals(address) || s.route.ip().equals(address)) {
                server = s;
                break;
            }
        }
        if (server == null) return false;
        if (failed > 0) {
            server.failed += failed;
        } else {
            server.success++;
            server.costMs += costMs;
        }
        tick(name);
        return true;
    }

    /** Adjusts {@code name}'s weights if a period has passed since the last adjustment. */
    public synchronized void tick(String name) {
        ServiceState svc = services.get(name);
        if (svc == null) return;
        long now = nowMs.getAsLong();
        if (now - svc.adjustedAt < BALANCE_PERIOD_MS) return;
        svc.adjustedAt = now;
        adjust(svc, now);
    }

    /** Current weights of {@code name} in the balancer's order (alive first); empty for an unknown name. */
    public synchronized List<ServerWeight> weights(String name) {
        ServiceState svc = services.get(name);
        if (svc == null) return List.of();
        List<ServerWeight> out = new ArrayList<>(svc.servers.size());
        for (ServerState s : svc.servers) out.add(new ServerWeight(s.address, s.staticWeight, s.dynamic, s.dead));
        return List.copyOf(out);
    }

    private int random(int n) {
        return (int) random((long) n);
    }

    private long random(long n) {
        long v = randomBelow.applyAsLong(n);
        if (v < 0 || v >= n) throw new IllegalStateException("random source returned " + v + ", not in [0, " + n + ")");
        return v;
    }

    private static String transportName(Route route) {
        return route.transport() == Route.Transport.UDP ? "udp" : "tcp";
    }

    private static String signatureOf(List<RouteInstance> instances) {
        StringBuilder sb = new StringBuilder();
        for (RouteInstance i : instances) {
            if (sb.length() > 0) sb.append(' ');
            sb.append(i.address()).append('@').append(transportName(i.route())).append('=').append(i.weight());
        }
        return sb.toString();
    }

    /** State for {@code name}, rebuilt when its instance list changed (servers kept when address and weight match). */
    private ServiceState service(String name, List<RouteInstance> instances) {
        String signature = signatureOf(instances);
        ServiceState svc = services.get(name);
        if (svc != null && svc.signature.equals(signature)) return svc;
        Map<String, ServerState> old = new HashMap<>();
        if (svc != null) for (ServerState s : svc.servers) old.put(s.address + "@" + transportName(s.route), s);
        List<ServerState> servers = new ArrayList<>(instances.size());
        for (RouteInstance i : instances) {
            ServerState prev = old.get(i.address() + "@" + transportName(i.route()));
            servers.add(prev != null && prev.staticWeight == i.weight() ? prev : new ServerState(i));
        }
        svc = new ServiceState();
        svc.servers = servers;
        svc.adjustedAt = nowMs.getAsLong();
        svc.signature = signature;
        services.put(name, svc);
        return svc;
    }

    private void adjust(ServiceState svc, long now) {
        List<ServerState> servers = svc.servers;
        int low = 0;
        for (ServerState s : servers) if ((double) s.dynamic / s.staticWeight < WEIGHT_LOW_WATERMARK) low++;
        boolean normal = (double) low / servers.size() <= WEIGHT_LOW_RATIO;
        long totalSuccess = 0;
        long totalRequests = 0;
        for (ServerState s : servers) {
            totalSuccess += s.success;
            totalRequests += s.success + s.failed;
        }
        double base = normal
            ? SUCCESS_RATIO_BASE
            : Math.min(totalRequests > 0 ? (double) totalSuccess / totalRequests : 1, SUCCESS_RATIO_BASE);
        for (ServerState s : servers) {
            long requests = s.success + s.failed;
            if (requests == 0 || (!s.dead && requests < shapingRequestMin)) continue;
            double ratio = (double) s.success / requests;
            if (ratio >= base) {
                if (s.dead) {
                    s.dead = false;
                    s.dynamic = Math.max(1, (int) Math.floor(s.staticWeight * RESUME_WEIGHT_RATIO));
                } else if (s.dynamic != s.staticWeight) {
                    s.dynamic = Math.min(s.staticWeight, s.dynamic + Math.max(1, (int) Math.floor(s.staticWeight * WEIGHT_INCR_RATIO)));
                }
            } else if (ratio <= DEAD_SUCCESS_RATIO) {
                s.dead = true;
                s.dynamic = 0;
                s.deadSince = now;
            } else if (normal) {
                s.dynamic = (int) Math.floor(s.dynamic * ratio * ratio);
                if (s.dynamic == 0) {
                    s.dead = true;
                    s.deadSince = now;
                }
            }
            s.success = 0;
            s.failed = 0;
            s.costMs = 0;
        }
        svc.deadRetryLeft = Math.max(1, (long) Math.floor(totalRequests * DEAD_RETRY_RATIO));
        svc.servers = aliveFirst(servers);
    }

    private static List<ServerState> aliveFirst(List<ServerState> servers) {
        List<ServerState> out = new ArrayList<>(servers.size());
        for (ServerState s : servers) if (!s.dead) out.add(s);
        for (ServerState s : servers) if (s.dead) out.add(s);
        return out;
    }
}
