package io.github.msecgen.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Resolver} fed by etcd (key layout of {@code docs/routing-etcd.md}):
 *
 * <pre>
 * &lt;prefix&gt;/services/&lt;Group.Service&gt;/&lt;ip:port&gt;  →  {"ip":"10.0.0.2","port":7963,"protocol":"tcp","weight":100}
 * </pre>
 *
 * A daemon thread reads everything under {@code <prefix>/services/} once, then follows a
 * prefix watch. {@link #resolve} answers from this local cache — no etcd round trip per
 * call — and a change is in the cache as soon as the watch delivers it. The first
 * {@code resolve} waits for the first read of etcd (or its failure), at most
 * {@value #FIRST_LOAD_WAIT_MS} ms.
 *
 * <p>When etcd is unreachable the last known routes keep serving; the thread retries every
 * {@value #RETRY_MS} ms, trying every endpoint in turn, and reads the prefix again after
 * reconnecting. A name it does not know falls through to the next resolver; the -15 message
 * then describes this resolver as {@code etcd <endpoints> prefix <p> (unreachable: …; no
 * routes cached)}. Values that do not parse are skipped.
 */
public final class EtcdResolver implements Resolver, AutoCloseable {
    /** Pause before reconnecting after etcd was unreachable. */
    public static final long RETRY_MS = 250;
    /** How long the first {@code resolve} waits for the first read of etcd. */
    public static final long FIRST_LOAD_WAIT_MS = 3000;
    /** Weight of a value without {@code weight}. */
    public static final int DEFAULT_WEIGHT = 100;

    private final EtcdGateway gateway;
    private final String prefix;
    private final String root;
    /** service → address → instance, in key order. */
    private final Map<String, Map<String, RouteInstance>> cache = new HashMap<>();
    private final CountDownLatch firstTry = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean stopped;
    private volatile boolean watching;
    private volatile boolean loaded;
    private volatile String error;
    private volatile InputStream stream;

    /** Starts resolving from {@code endpoints} (e.g. {@code http://127.0.0.1:2379}) under {@code prefix} (e.g. {@code /msec}). */
    public EtcdResolver(List<String> endpoints, String prefix) {
        this.gateway = new EtcdGateway(endpoints);
        this.prefix = prefix;
        this.root = servicesPrefix(prefix);
        this.thread = new Thread(this::run, "msec-etcd-watch");
        thread.setDaemon(true);
        thread.start();
    }

    /** {@code <prefix>/services/}, the folder every service lives under. */
    public static String servicesPrefix(String prefix) {
        return prefix.replaceAll("/+$", "") + "/services/";
    }

    @Override
    public List<RouteInstance> resolve(String service) {
        if (!loaded) {
            try {
                firstTry.await(FIRST_LOAD_WAIT_MS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (cache) {
            Map<String, RouteInstance> instances = cache.get(service);
            return instances == null ? List.of() : List.copyOf(instances.values());
        }
    }

    @Override
    public String describe() {
        String where = "etcd " + String.join(",", gateway.endpoints()) + " prefix " + prefix;
        String e = error;
        if (e != null && !watching) return where + " (unreachable: " + e + (loaded ? "; serving cached routes" : "; no routes cached") + ")";
        return where;
    }

    /** True while the watch is established. */
    public boolean connected() {
        return watching;
    }

    /** The last connection error, {@code null} while connected. */
    public String lastError() {
        return watching ? null : error;
    }

    /** Every service in the cache and its instances, sorted by name. */
    public Map<String, List<RouteInstance>> snapshot() {
        Map<String, List<RouteInstance>> out = new TreeMap<>();
        synchronized (cache) {
            cache.forEach((name, m) -> out.put(name, List.copyOf(m.values())));
        }
        return out;
    }

    /** Stops watching; the cache stays as it was. */
    @Override
    public void close() {
        stopped = true;
        InputStream s = stream;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing: nothing left to report to
            }
        }
        thread.interrupt();
    }

    private void run() {
        while (!stopped) {
            try {
                EtcdGateway.Range range = gateway.getPrefix(root);
                synchronized (cache) {
                    cache.clear();
                    for (EtcdGateway.KeyValue kv : range.kvs()) apply(false, kv.key(), kv.value());
                }
                loaded = true;
                firstTry.countDown();
                gateway.watchPrefix(root, range.revision() + 1, events -> {
                    synchronized (cache) {
                        for (EtcdGateway.Event e : events) apply(e.delete(), e.key(), e.value());
                    }
                }, s -> stream = s, () -> {
                    watching = true;
                    error = null;
                });
            } catch (IOException | RuntimeException e) {
                error = e.getMessage();
            }
            firstTry.countDown();
            boolean wasWatching = watching;
            watching = false;
            if (stopped) return;
            if (wasWatching) {
                error = "etcd watch stream broke: " + (error != null ? error : "closed by etcd");
                continue; // a working watch broke: reconnect at once (another endpoint may answer)
            }
            try {
                Thread.sleep(RETRY_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Applies one put or delete under the services folder to the cache (caller holds the lock). */
    private void apply(boolean delete, String key, String value) {
        if (!key.startsWith(root)) return;
        String rest = key.substring(root.length());
        int slash = rest.indexOf('/');
        if (slash <= 0 || slash == rest.length() - 1) return;
        String service = rest.substring(0, slash);
        String address = rest.substring(slash + 1);
        Map<String, RouteInstance> instances = cache.get(service);
        if (delete) {
            if (instances != null) {
                instances.remove(address);
                if (instances.isEmpty()) cache.remove(service);
            }
            return;
        }
        RouteInstance parsed = parseValue(value);
        if (parsed == null) {
            if (instances != null) instances.remove(address);
            return;
        }
        if (instances == null) {
            instances = new LinkedHashMap<>();
            cache.put(service, instances);
        }
        instances.put(address, parsed);
    }

    /**
     * Parses a stored value {@code {"ip","port","protocol"?,"weight"?}}; {@code null} when it is not a
     * valid instance (ip a non-empty string, port 1..65535, protocol tcp|udp, weight an integer &gt; 0).
     */
    static RouteInstance parseValue(String text) {
        Object parsed;
        try {
            parsed = Json.parse(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (!(parsed instanceof Map<?, ?> v)) return null;
        Object ip = v.get("ip");
        Object port = v.get("port");
        Object protocol = v.containsKey("protocol") ? v.get("protocol") : "tcp";
        Object weight = v.containsKey("weight") ? v.get("weight") : (long) DEFAULT_WEIGHT;
        if (!(ip instanceof String ipText) || ipText.isEmpty()) return null;
        if (!(port instanceof Long p) || p < 1 || p > 65535) return null;
        if (!"tcp".equals(protocol) && !"udp".equals(protocol)) return null;
        if (!(weight instanceof Long w) || w <= 0 || w > Integer.MAX_VALUE) return null;
        Route route = new Route(ipText, p.intValue(), "udp".equals(protocol) ? Route.Transport.UDP : Route.Transport.TCP);
        return new RouteInstance(route, w.intValue());
    }

    /** Instances in the order of {@code snapshot}, for tests. */
    List<String> addresses(String service) {
        List<String> out = new ArrayList<>();
        for (RouteInstance i : resolve(service)) out.add(i.address());
        return out;
    }
}
