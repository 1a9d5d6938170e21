package io.github.msecgen.runtime;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Persistent TCP connections per address. A call borrows an idle connection (or
 * opens one), and gives it back when the call succeeded or the server answered
 * with an error code; a connection whose call failed on the network is closed,
 * and the next call reconnects. Idle connections the server has closed are
 * noticed when borrowed and replaced.
 */
final class ConnectionPool implements AutoCloseable {
    /** Idle connections kept per address; more are closed when given back. */
    static final int DEFAULT_MAX_IDLE_PER_ADDRESS = 8;

    private final int maxIdlePerAddress;
    private final Map<String, ArrayDeque<Connection>> idle = new HashMap<>();
    private boolean closed;

    ConnectionPool(int maxIdlePerAddress) {
        this.maxIdlePerAddress = maxIdlePerAddress;
    }

    /** An open connection to {@code route}: an idle one that is still usable, else a new one. */
    Connection borrow(Route route, long deadline) {
        String address = route.address();
        for (;;) {
            Connection conn;
            synchronized (this) {
                ArrayDeque<Connection> queue = idle.get(address);
                conn = queue == null ? null : queue.pollLast();
            }
            if (conn == null) return Connection.open(route, deadline);
            if (!conn.isStale()) return conn;
            conn.close();
        }
    }

    /** Takes back a connection whose call completed with a whole reply. */
    void giveBack(Connection conn) {
        synchronized (this) {
            if (!closed) {
                ArrayDeque<Connection> queue = idle.computeIfAbsent(conn.address, k -> new ArrayDeque<>());
                if (queue.size() < maxIdlePerAddress) {
                    queue.addLast(conn);
                    return;
                }
            }
        }
        conn.close();
    }

    /** Idle connections per address (diagnostics and tests). */
    synchronized Map<String, Integer> idleCounts() {
        Map<String, Integer> counts = new HashMap<>();
        idle.forEach((address, queue) -> counts.put(address, queue.size()));
        return counts;
    }

    /** Closes every idle connection; connections in use close when their call ends. */
    @Override
    public void close() {
        ArrayDeque<Connection> all = new ArrayDeque<>();
        synchronized (this) {
            closed = true;
            idle.values().forEach(all::addAll);
            idle.clear();
        }
        all.forEach(Connection::close);
    }
}
