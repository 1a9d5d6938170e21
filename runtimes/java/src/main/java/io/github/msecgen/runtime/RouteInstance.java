package io.github.msecgen.runtime;

/**
 * One instance of a routing name as a resolver lists it (routes file, etcd):
 * where it is and its static weight (an integer &gt; 0; MSEC's default is 100).
 */
public record RouteInstance(Route route, int weight) {
    public RouteInstance {
        if (route == null) throw new IllegalArgumentException("route is null");
        if (weight <= 0) throw new IllegalArgumentException("weight must be > 0, got " + weight + " for " + route.address());
    }

    /** {@code ip:port} (IPv6 bracketed), the address the balancer and error reports use. */
    public String address() {
        return route.address();
    }
}
