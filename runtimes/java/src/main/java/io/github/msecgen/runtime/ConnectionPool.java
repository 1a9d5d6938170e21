package io.github.msecgen.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Persistent multiplexed TCP connections per address: up to {@code poolSize}
 * per address (default 1, as the TypeScript client), calls spread round-robin.
 * A connection closed by either side is dropped when next looked at, and the
 * next call to that address opens a new one. Connections are opened by the
 * calling thread (one at a time per address; others wait for it).
 */
final class ConnectionPool implements AutoCloseable {
    /** Connections per address unless configured otherwise. */
    static final int DEFAULT_POOL_SIZE = 1;

    private static final class Slots {
        final Connection[] connections;
        int next;

        Slots(int size) {
            connections = new Connection[size];
        }
    }

    private final int poolSize;
    private final ScheduledExecutorService timers;
    private final Executor completions;
    private final Map<String, Slots> byAddress = new HashMap<>();
    private boolean closed;

    ConnectionPool(int poolSize, ScheduledExecutorService timers, Executor completions) {
        if (poolSize < 1) throw new IllegalArgumentException("poolSize must be >= 1, got " + poolSize);
        this.poolSize = poolSize;
        this.timers = timers;
        this.completions = completions;
    }

    /** An open connection to {@code address} ({@link Route#address()}), or {@code null} when a new one must be opened for the next slot. */
    Connection existing(String address) {
        synchronized (this) {
            Slots slots = byAddress.computeIfAbsent(address, k -> new Slots(poolSize));
            Connection c = slots.connections[slots.next];
            if (c != null && !c.isClosed()) {
                slots.next = (slots.next + 1) % poolSize;
                return c;
            }
            return null;
        }
    }

    /**
     * The connection of the next slot for {@code route}, opened now if it is missing or closed.
     * Throws {@link SrpcException} (-13 refused, -10 not connected in time).
     */
    Connection connect(Route route, long deadlineNanos) {
        String address = route.address();
        Slots slots;
        int slot;
        synchronized (this) {
            if (closed) throw new SrpcException(SrpcCode.SEND_RECV_FAILED, "client closed", address, false, false, null);
            slots = byAddress.computeIfAbsent(address, k -> new Slots(poolSize));
            slot = slots.next;
            slots.next = (slots.next + 1) % poolSize;
        }
        // One connect at a time per address: concurrent first calls share the connection.
        synchronized (slots) {
            Connection c;
            synchronized (this) {
                c = slots.connections[slot];
            }
            if (c != null && !c.isClosed()) return c;
            Connection opened = Connection.open(route, deadlineNanos, timers, completions);
            boolean keep;
            synchronized (this) {
                keep = !closed;
                if (keep) slots.connections[slot] = opened;
            }
            if (!keep) {
                opened.close();
                throw new SrpcException(SrpcCode.SEND_RECV_FAILED, "client closed", address, false, false, null);
            }
            return opened;
        }
    }

    /** Open connections per address (diagnostics and tests). */
    synchronized Map<String, Integer> openCounts() {
        Map<String, Integer> counts = new HashMap<>();
        byAddress.forEach((address, slots) -> {
            int n = 0;
            for (Connection c : slots.connections) if (c != null && !c.isClosed()) n++;
            if (n > 0) counts.put(address, n);
        });
        return counts;
    }

    /** Closes every connection; calls in flight fail with -13. */
    @Override
    public void close() {
        List<Connection> all = new ArrayList<>();
        synchronized (this) {
            closed = true;
            for (Slots slots : byAddress.values()) {
                for (Connection c : slots.connections) if (c != null) all.add(c);
            }
            byAddress.clear();
        }
        all.forEach(Connection::close);
    }
}
