package io.github.msecgen.runtime;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Calls SRPC methods by service name: a literal address ({@code ip:port[@tcp|@udp]})
 * or a routing name ({@code Group.Service}) looked up in the routes file, with a
 * weighted random pick among its instances. TCP calls go over pooled persistent
 * connections; every call has a deadline; the reply's sequence must match the
 * request's (-16 otherwise); a reply with {@code CRpcHead.err != 0} throws
 * {@link SrpcException} with that code and the server's {@code err_msg}.
 *
 * <p>Thread-safe. Generated clients use {@link #shared()} unless given another.
 */
public final class SrpcClient implements AutoCloseable {
    private static final SrpcClient SHARED = new SrpcClient(new RoutesFile(null));

    private final RoutesFile routes;
    private final ConnectionPool pool = new ConnectionPool(ConnectionPool.DEFAULT_MAX_IDLE_PER_ADDRESS);
    private final AtomicLong sequence = new AtomicLong(ThreadLocalRandom.current().nextLong(1, 0x1_0000_0000L));
    private final ExecutorService asyncExecutor = Executors.newCachedThreadPool(task -> {
        Thread t = new Thread(task, "msec-srpc-call");
        t.setDaemon(true);
        return t;
    });

    /** A client resolving routing names with {@code routes}. */
    public SrpcClient(RoutesFile routes) {
        this.routes = routes;
    }

    /** The process-wide client (routes file from {@code $MSEC_ROUTES}, else {@code etc/routes.conf}). */
    public static SrpcClient shared() {
        return SHARED;
    }

    /**
     * Where a call to {@code service} goes now. Throws {@code SrpcException(-15)} when the
     * name is not a literal address and the routes file does not list it (or is malformed).
     */
    public Route resolve(String service) {
        Route literal = Route.parseLiteral(service);
        if (literal != null) return literal;
        List<RoutesFile.Instance> instances;
        try {
            instances = routes.resolve(service);
        } catch (RoutesFile.FormatException e) {
            throw new SrpcException(SrpcCode.GET_ROUTE_FAILED, e.getMessage(), service, false, false, e);
        }
        if (instances.isEmpty()) {
            throw new SrpcException(SrpcCode.GET_ROUTE_FAILED,
                "no route for \"" + service + "\" in routes file " + routes.currentPath(), service, false, false, null);
        }
        long total = 0;
        for (RoutesFile.Instance i : instances) total += i.weight();
        long pick = ThreadLocalRandom.current().nextLong(total);
        for (RoutesFile.Instance i : instances) {
            pick -= i.weight();
            if (pick < 0) return i.route();
        }
        return instances.get(instances.size() - 1).route();
    }

    /** Calls {@code method} (full wire name {@code package.Service.Method}) and parses the reply with {@code parser}. */
    public <R> R call(String service, String method, MessageLite request, Parser<R> parser, CallOptions options) {
        byte[] body = callRaw(service, method, request.toByteArray(), options);
        try {
            return parser.parseFrom(body);
        } catch (InvalidProtocolBufferException e) {
            throw new SrpcException(SrpcCode.INVALID_PKG_BODY, e.getMessage(), service, true, false, e);
        }
    }

    /** {@link #call} on a pooled daemon thread. The future fails with the {@link SrpcException}. */
    public <R> CompletableFuture<R> callAsync(String service, String method, MessageLite request, Parser<R> parser, CallOptions options) {
        return CompletableFuture.supplyAsync(() -> call(service, method, request, parser, options), asyncExecutor);
    }

    /** Sends {@code body} (already serialized) to {@code method} and returns the reply body bytes. */
    public byte[] callRaw(String service, String method, byte[] body, CallOptions options) {
        long deadline = System.nanoTime() + options.timeoutMs() * 1_000_000L;
        Route route = resolve(service);
        long seq = nextSequence();
        RpcHead head = new RpcHead();
        head.sequence = seq;
        head.coloring = options.coloring();
        head.colorId = ColorId.of(method);
        head.flowId = options.flowId() != null ? options.flowId() : ColorId.defaultFlowId(method, seq);
        head.caller = options.caller();
        head.methodName = method;
        byte[] request = Frame.encode(head.encode(), body);

        String address = route.address();
        byte[] replyFrame;
        Connection conn = null;
        if (route.transport() == Route.Transport.UDP) {
            replyFrame = UdpExchange.exchange(route, request, deadline);
        } else {
            conn = pool.borrow(route, deadline);
            replyFrame = conn.exchange(request, deadline);
        }
        Frame.Decoded reply;
        try {
            reply = Frame.decode(replyFrame);
        } catch (SrpcException e) {
            if (conn != null) conn.close();
            throw new SrpcException(e.code(), "reply from " + address, address, true, false, e);
        }
        if (reply.head().sequence != seq) {
            if (conn != null) conn.close();
            throw new SrpcException(SrpcCode.INVALID_SEQUENCE,
                "reply sequence " + Long.toUnsignedString(reply.head().sequence) + " for request " + Long.toUnsignedString(seq), address, true, false, null);
        }
        if (conn != null) pool.giveBack(conn);
        Integer err = reply.head().err;
        if (err != null && err != 0) {
            throw new SrpcException(err, reply.head().errMsg, address, true, true, null);
        }
        return reply.body();
    }

    /** Closes idle pooled connections and stops the async threads; for tests and shutdown. */
    @Override
    public void close() {
        pool.close();
        asyncExecutor.shutdown();
    }

    /** 32-bit sequences from a random start, never 0 (MSEC peers store them as uint32 values). */
    private long nextSequence() {
        for (;;) {
            long s = sequence.getAndIncrement() & 0xFFFF_FFFFL;
            if (s != 0) return s;
        }
    }
}
