package io.github.msecgen.runtime;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Calls SRPC methods by service name: a literal address ({@code ip:port[@tcp|@udp]})
 * or a routing name ({@code Group.Service}) resolved by the client's resolvers
 * (etcd when configured, then the routes file) and picked by MSEC's NLB
 * {@link Balancer}, which hears every call's outcome.
 *
 * <p>TCP calls are multiplexed by sequence number on one persistent connection per
 * address (replies matched in any order); each call has a timeout covering route,
 * connect, write and reply, and sends its remaining budget as {@code CRpcHead.timeout_ms}
 * (field 70). A reply with {@code CRpcHead.err != 0} fails with {@link SrpcException}
 * carrying that code and the server's {@code err_msg}. Refused connections are retried
 * on another pick only when {@link CallOptions#withRetries} asks.
 *
 * <p>What the balancer hears: a reply from the server — even one with {@code err != 0} —
 * is a success with its latency (as MSEC's {@code CallMethod}); a refused connection
 * takes the server out at once ({@link Balancer#markRefused}); any other transport
 * failure (timeout, reset, malformed reply) is a failure.
 *
 * <p>Thread-safe. Generated clients use {@link #shared()} unless given another.
 */
public final class SrpcClient implements AutoCloseable {
    private static SrpcClient shared;

    private final List<Resolver> resolvers;
    private final Balancer balancer;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final ScheduledThreadPoolExecutor timers;
    private final ConnectionPool pool;
    /** Service names seen, each to its literal {@link Route} or {@link #NOT_LITERAL} (at most {@value #LITERALS_KEPT}). */
    private final Map<String, Object> literals = new ConcurrentHashMap<>();
    private static final Object NOT_LITERAL = new Object();
    private static final int LITERALS_KEPT = 1024;
    private final AtomicLong sequence = new AtomicLong(ThreadLocalRandom.current().nextLong(1, 0x1_0000_0000L));
    private final ExecutorService asyncExecutor = Executors.newCachedThreadPool(task -> {
        Thread t = new Thread(task, "msec-srpc-call");
        t.setDaemon(true);
        return t;
    });

    /** A client resolving routing names with {@code routes} only. */
    public SrpcClient(RoutesFile routes) {
        this(List.of(routes), new Balancer(), ConnectionPool.DEFAULT_POOL_SIZE);
    }

    /**
     * A client asking {@code resolvers} in order (the first that lists a name wins), picking
     * with {@code balancer}, with {@code poolSize} connections per address (calls spread
     * round-robin; 1 carries any number of concurrent calls).
     */
    public SrpcClient(List<Resolver> resolvers, Balancer balancer, int poolSize) {
        this.resolvers = List.copyOf(resolvers);
        this.balancer = balancer;
        this.timers = new ScheduledThreadPoolExecutor(1, task -> {
            Thread t = new Thread(task, "msec-srpc-timer");
            t.setDaemon(true);
            return t;
        });
        this.timers.setRemoveOnCancelPolicy(true);
        this.pool = new ConnectionPool(poolSize, timers, asyncExecutor);
    }

    /**
     * A client configured as a service's callers are: an {@link EtcdResolver} when
     * {@code $MSEC_ETCD_ENDPOINTS} or {@code [ROUTE] etcd} in {@code etc/config.ini} names
     * endpoints (prefix {@code $MSEC_ETCD_PREFIX}, else {@code [ROUTE] etcd_prefix}, else
     * {@code /msec}), then the routes file ({@link RoutesFile#defaultPath()}). Throws
     * {@link IllegalArgumentException} naming the setting when the endpoints are malformed.
     */
    public static SrpcClient fromEnvironment() {
        EtcdSettings etcd = EtcdSettings.fromEnvironment();
        List<Resolver> resolvers = new ArrayList<>();
        EtcdResolver etcdResolver = null;
        if (etcd != null) {
            etcdResolver = new EtcdResolver(etcd.endpoints(), etcd.prefix());
            resolvers.add(etcdResolver);
        }
        resolvers.add(new RoutesFile(null));
        SrpcClient client = new SrpcClient(resolvers, new Balancer(), ConnectionPool.DEFAULT_POOL_SIZE);
        if (etcdResolver != null) client.owned.add(etcdResolver);
        return client;
    }

    /**
     * The process-wide client, built by {@link #fromEnvironment()} on first use. Malformed etcd
     * settings throw its {@link IllegalArgumentException} on every call until fixed.
     */
    public static synchronized SrpcClient shared() {
        if (shared == null) shared = fromEnvironment();
        return shared;
    }

    /** The balancer picking among routing names' instances (its {@link Balancer#weights} show the state). */
    public Balancer balancer() {
        return balancer;
    }

    /** The resolvers asked in order. */
    public List<Resolver> resolvers() {
        return resolvers;
    }

    /** Open connections per address (diagnostics and tests). */
    public Map<String, Integer> openConnections() {
        return pool.openCounts();
    }

    /**
     * Where a call to {@code service} goes now: a literal as written, else the balancer's pick
     * among the instances of the first resolver that lists it. Throws {@code SrpcException(-15)}
     * naming the service and every place it looked.
     */
    public Route resolve(String service) {
        Route literal = literal(service);
        if (literal != null) return literal;
        for (Resolver resolver : resolvers) {
            List<RouteInstance> instances = resolver.resolve(service);
            if (instances != null && !instances.isEmpty()) {
                Route picked = balancer.pick(service, instances);
                if (picked != null) return picked;
            }
        }
        StringBuilder looked = new StringBuilder();
        for (Resolver resolver : resolvers) {
            if (looked.length() > 0) looked.append(", ");
            looked.append(resolver.describe());
        }
        throw new SrpcException(SrpcCode.GET_ROUTE_FAILED, "no route for " + service + " (looked in: " + looked + ")", service, false, false, null);
    }

    /** Calls {@code method} (full wire name {@code package.Service.Method}) and parses the reply with {@code parser}. */
    public <R> R call(String service, String method, MessageLite request, Parser<R> parser, CallOptions options) {
        return parse(service, callRaw(service, method, request.toByteArray(), options), parser);
    }

    /**
     * {@link #call}, asynchronously: the request is written before this returns (connecting
     * first when needed); the future completes on a pooled daemon thread and fails with the
     * {@link SrpcException} ({@link CompletableFuture#get()} throws it as the cause).
     */
    public <R> CompletableFuture<R> callAsync(String service, String method, MessageLite request, Parser<R> parser, CallOptions options) {
        // TCP replies (and failures) complete on the pool already, the replies of one read in one
        // task (Connection.send's offReader); a future failed before this returns completes in the caller.
        long deadline = System.nanoTime() + options.timeoutMs() * 1_000_000L;
        return attempt(service, method, request.toByteArray(), options, deadline, 0, true)
            .thenApply(body -> parse(service, body, parser));
    }

    /** Sends {@code body} (already serialized) to {@code method} and returns the reply body bytes. */
    public byte[] callRaw(String service, String method, byte[] body, CallOptions options) {
        try {
            return callRawAsync(service, method, body, options).get();
        } catch (ExecutionException e) {
            throw asSrpc(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SrpcException(SrpcCode.TIMEOUT, "interrupted while waiting for the reply", service, true, false, e);
        }
    }

    /**
     * {@link #callRaw}, asynchronously. The future completes on the connection's reader thread:
     * use {@code …Async} stages for work that blocks.
     */
    public CompletableFuture<byte[]> callRawAsync(String service, String method, byte[] body, CallOptions options) {
        long deadline = System.nanoTime() + options.timeoutMs() * 1_000_000L;
        return attempt(service, method, body, options, deadline, 0, false);
    }

    /** {@code offReader}: complete on {@link #asyncExecutor}, never on the reader or timer thread. */
    private CompletableFuture<byte[]> attempt(String service, String method, byte[] body, CallOptions options, long deadline, int attempt, boolean offReader) {
        return callOnce(service, method, body, options, deadline, offReader).exceptionallyCompose(err -> {
            SrpcException e = asSrpc(err);
            boolean refused = e.code() == SrpcCode.SEND_RECV_FAILED && !e.requestSent() && !e.fromServer();
            if (!refused || attempt >= options.retries() || System.nanoTime() >= deadline || literal(service) != null) {
                return CompletableFuture.failedFuture(e);
            }
            return attempt(service, method, body, options, deadline, attempt + 1, offReader);
        });
    }

    /** One attempt: route, send, wait for the reply, report the outcome to the balancer. */
    private CompletableFuture<byte[]> callOnce(String service, String method, byte[] body, CallOptions options, long deadline, boolean offReader) {
        Route route;
        try {
            route = resolve(service);
        } catch (SrpcException e) {
            return CompletableFuture.failedFuture(e);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(new SrpcException(SrpcCode.GET_ROUTE_FAILED, "get route for " + service + ": " + e, service, false, false, e));
        }
        String address = route.address();
        if (deadline - System.nanoTime() <= 0) {
            return CompletableFuture.failedFuture(new SrpcException(SrpcCode.TIMEOUT,
                "no time left to call " + service + " before the deadline", address, false, false, null));
        }
        RpcHead head = new RpcHead();
        head.coloring = options.coloring();
        head.colorId = ColorId.of(method);
        head.flowId = options.flowId();
        head.caller = options.caller();
        head.methodName = method;
        long seq = nextSequence();
        long started = System.nanoTime();
        Connection.Request request = new Connection.Request(head, body, deadline);
        CompletableFuture<Frame.Decoded> reply;
        if (route.transport() == Route.Transport.UDP) {
            reply = CompletableFuture.supplyAsync(() -> udp(route, seq, request), asyncExecutor);
        } else {
            Connection conn = pool.existing(address);
            if (conn == null) {
                try {
                    conn = pool.connect(route, deadline);
                } catch (SrpcException e) {
                    report(service, route, e, started);
                    return CompletableFuture.failedFuture(e);
                }
            }
            reply = conn.send(seq, request, offReader);
        }
        return reply.handle((decoded, err) -> {
            SrpcException failure = err != null ? asSrpc(err) : null;
            if (failure == null) {
                Integer code = decoded.head().err;
                if (code != null && code != 0) failure = new SrpcException(code, decoded.head().errMsg, address, true, true, null);
            }
            report(service, route, failure, started);
            if (failure != null) throw failure;
            return decoded.body();
        });
    }

    /**
     * Calls a heterogeneous (non-SRPC) TCP service (MSEC's {@code callmethod_tcp}): resolves
     * {@code service} (a literal {@code ip:port} or a routing name, picked by the balancer,
     * which hears the outcome), connects, writes {@code request} and returns the first
     * {@code check > 0} bytes of the reply. One connection per call; {@link CallOptions#timeoutMs()}
     * covers route, connect, write and reply; {@link CallOptions#withRetries} retries refused
     * connections of routing names. Throws {@link SrpcException}: -15 no route; -13 refused,
     * reset or closed before the reply was whole; -3 the check returned {@code < 0} or threw;
     * -10 timeout with nothing received, -12 with part of the reply received.
     */
    public byte[] callTcp(String service, byte[] request, ReplyCheck check, CallOptions options) {
        long deadline = System.nanoTime() + options.timeoutMs() * 1_000_000L;
        for (int attempt = 0;; attempt++) {
            Route picked = resolve(service);
            // Always TCP, whatever transport the route lists (as MSEC's callmethod_tcp).
            Route route = picked.transport() == Route.Transport.TCP ? picked : new Route(picked.ip(), picked.port(), Route.Transport.TCP);
            long started = System.nanoTime();
            try {
                byte[] reply = TcpExchange.exchange(route, request, check, deadline);
                report(service, route, null, started);
                return reply;
            } catch (SrpcException e) {
                report(service, route, e, started);
                boolean refused = e.code() == SrpcCode.SEND_RECV_FAILED && !e.requestSent();
                if (!refused || attempt >= options.retries() || System.nanoTime() >= deadline || literal(service) != null) throw e;
            }
        }
    }

    /**
     * {@link #callTcp} with the length-prefixed JSON protocol ({@link JsonTcp}): sends
     * {@code json} and returns the reply's JSON text. Fails as {@code callTcp}, and with -3
     * when the reply body is not JSON.
     */
    public String callJsonTcp(String service, String json, CallOptions options) {
        byte[] reply = callTcp(service, JsonTcp.encode(json), JsonTcp::check, options);
        String text = JsonTcp.decode(reply);
        try {
            Json.parse(text);
        } catch (RuntimeException e) {
            throw new SrpcException(SrpcCode.INVALID_PKG, "reply is not JSON: " + e.getMessage(), service, true, false, e);
        }
        return text;
    }

    private Frame.Decoded udp(Route route, long seq, Connection.Request request) {
        RpcHead head = request.head();
        head.sequence = seq;
        long remainingMs = (request.deadlineNanos() - System.nanoTime() + 999_999) / 1_000_000;
        head.timeoutMs = (int) Math.max(1, Math.min(remainingMs, Integer.MAX_VALUE));
        if (head.flowId == null) head.flowId = ColorId.defaultFlowId(head.methodName, seq);
        byte[] replyFrame = UdpExchange.exchange(route, Frame.encode(head.encode(), request.body()), request.deadlineNanos());
        String address = route.address();
        Frame.Decoded reply;
        try {
            reply = Frame.decode(replyFrame);
        } catch (SrpcException e) {
            throw new SrpcException(e.code(), "reply from " + address, address, true, false, e);
        }
        if (reply.head().sequence != seq) {
            throw new SrpcException(SrpcCode.INVALID_SEQUENCE,
                "reply sequence " + Long.toUnsignedString(reply.head().sequence) + " for request " + Long.toUnsignedString(seq), address, true, false, null);
        }
        return reply;
    }

    /** Tells the balancer how a call to a routing name went; literal names are not reported (as MSEC). */
    private void report(String service, Route route, SrpcException failure, long startedNanos) {
        if (literal(service) != null) return;
        String address = route.address();
        if (failure == null || failure.fromServer()) {
            balancer.update(service, address, 0, (System.nanoTime() - startedNanos) / 1_000_000);
        } else if (failure.code() == SrpcCode.SEND_RECV_FAILED && !failure.requestSent() && route.transport() == Route.Transport.TCP) {
            balancer.markRefused(service, address); // nothing listens there: stop picking it now
        } else {
            balancer.update(service, address, 1, 0);
        }
    }

    private static <R> R parse(String service, byte[] body, Parser<R> parser) {
        try {
            return parser.parseFrom(body);
        } catch (InvalidProtocolBufferException e) {
            throw new SrpcException(SrpcCode.INVALID_PKG_BODY, e.getMessage(), service, true, false, e);
        }
    }

    private static SrpcException asSrpc(Throwable err) {
        Throwable t = err;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
        if (t instanceof SrpcException s) return s;
        return new SrpcException(SrpcCode.SYSTEM_ERROR, String.valueOf(t), "", true, false, t);
    }

    /** Closes every connection (calls in flight fail with -13), stops the etcd watch it started and its threads. */
    @Override
    public void close() {
        pool.close();
        timers.shutdownNow();
        asyncExecutor.shutdown();
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing: nothing left to report to
            }
        }
    }

    /** {@link Route#parseLiteral} of {@code service}, remembered (each call asks up to three times). */
    private Route literal(String service) {
        Object known = literals.get(service);
        if (known != null) return known instanceof Route r ? r : null;
        Route parsed = Route.parseLiteral(service);
        if (literals.size() < LITERALS_KEPT) literals.put(service, parsed != null ? parsed : NOT_LITERAL);
        return parsed;
    }

    /** 32-bit sequences from a random start, never 0 (MSEC peers store them as uint32 values). */
    private long nextSequence() {
        for (;;) {
            long s = sequence.getAndIncrement() & 0xFFFF_FFFFL;
            if (s != 0) return s;
        }
    }
}
