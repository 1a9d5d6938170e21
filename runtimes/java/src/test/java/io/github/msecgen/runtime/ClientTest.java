package io.github.msecgen.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client against real loopback sockets: a scripted SRPC server in this process decides
 * when and what each request gets back, so the tests assert exact codes and orders.
 */
class ClientTest {
    /** One request as the server received it. */
    record Received(RpcHead head, byte[] body, OutputStream out) {}

    /** A loopback server handing every request frame to {@code onRequest} (on the connection's thread). */
    static final class ScriptedServer implements AutoCloseable {
        final ServerSocket listener;
        final List<Socket> sockets = new CopyOnWriteArrayList<>();
        final LinkedBlockingQueue<Received> requests = new LinkedBlockingQueue<>();
        volatile BiConsumer<Received, ScriptedServer> onRequest = (r, s) -> {};

        ScriptedServer() throws IOException {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread accept = new Thread(() -> {
                try {
                    for (;;) {
                        Socket s = listener.accept();
                        sockets.add(s);
                        Thread t = new Thread(() -> serve(s));
                        t.setDaemon(true);
                        t.start();
                    }
                } catch (IOException closed) {
                    // listener closed
                }
            });
            accept.setDaemon(true);
            accept.start();
        }

        String address() {
            return "127.0.0.1:" + listener.getLocalPort();
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                for (;;) {
                    byte[] fixed = in.readNBytes(9);
                    if (fixed.length < 9) return;
                    int headLen = Frame.getInt32(fixed, 1);
                    int bodyLen = Frame.getInt32(fixed, 5);
                    byte[] rest = in.readNBytes(headLen + bodyLen + 1);
                    byte[] frame = new byte[9 + rest.length];
                    System.arraycopy(fixed, 0, frame, 0, 9);
                    System.arraycopy(rest, 0, frame, 9, rest.length);
                    Frame.Decoded d = Frame.decode(frame);
                    Received r = new Received(d.head(), d.body(), out);
                    requests.add(r);
                    onRequest.accept(r, this);
                }
            } catch (IOException | RuntimeException e) {
                // connection ended
            }
        }

        static byte[] reply(Received r, byte[] body, Integer err, String errMsg) {
            RpcHead head = new RpcHead();
            head.sequence = r.head().sequence;
            head.methodName = r.head().methodName;
            head.err = err;
            head.errMsg = errMsg;
            return Frame.encode(head.encode(), body);
        }

        static void write(OutputStream out, byte[] bytes) {
            try {
                synchronized (out) {
                    out.write(bytes);
                    out.flush();
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket s : sockets) s.close();
        }
    }

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : cleanup) c.close();
    }

    private ScriptedServer server() throws IOException {
        ScriptedServer s = new ScriptedServer();
        cleanup.add(s);
        return s;
    }

    private SrpcClient client(Path routes) {
        SrpcClient c = new SrpcClient(new RoutesFile(routes));
        cleanup.add(c);
        return c;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static SrpcException failure(CompletableFuture<?> f) throws InterruptedException {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof SrpcException, "cause: " + e.getCause());
        return (SrpcException) e.getCause();
    }

    @Test
    void manyCallsShareOneConnectionAndRepliesAreMatchedInAnyOrder(@TempDir Path dir) throws Exception {
        ScriptedServer server = server();
        // Hold every request until all 5 arrived, then answer them in reverse order.
        List<Received> held = new CopyOnWriteArrayList<>();
        server.onRequest = (r, s) -> {
            held.add(r);
            if (held.size() == 5) {
                for (int i = 4; i >= 0; i--) {
                    Received h = held.get(i);
                    ScriptedServer.write(h.out(), ScriptedServer.reply(h, h.body(), null, null));
                }
            }
        };
        SrpcClient client = client(dir.resolve("none.conf"));
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            calls.add(client.callRawAsync(server.address(), "echo.EchoService.Echo", utf8("call " + i), CallOptions.DEFAULT.withTimeoutMs(5000)));
        }
        for (int i = 0; i < 5; i++) assertArrayEquals(utf8("call " + i), calls.get(i).get(10, TimeUnit.SECONDS));
        assertEquals(1, server.sockets.size(), "one connection carried every call");
        assertEquals(java.util.Map.of(server.address(), 1), client.openConnections());
        // Sequences count up by one per call; each head carries the remaining budget (field 70).
        long first = held.get(0).head().sequence;
        for (Received r : held) {
            assertTrue(r.head().timeoutMs != null && r.head().timeoutMs > 4000 && r.head().timeoutMs <= 5000, "timeout_ms " + r.head().timeoutMs);
            assertEquals(ColorId.of("echo.EchoService.Echo") ^ r.head().sequence, r.head().flowId);
            assertEquals("java.client", r.head().caller);
        }
        List<Long> seqs = new ArrayList<>();
        for (Received r : held) seqs.add(r.head().sequence - first);
        seqs.sort(null);
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), seqs);
    }

    @Test
    void fiveHundredConcurrentCallsFromEightThreadsOnOneConnectionEachGetTheirOwnReply(@TempDir Path dir) throws Exception {
        ScriptedServer server = server();
        server.onRequest = (r, s) -> ScriptedServer.write(r.out(), ScriptedServer.reply(r, r.body(), null, null));
        SrpcClient client = client(dir.resolve("none.conf"));
        List<CompletableFuture<byte[]>> calls = new CopyOnWriteArrayList<>();
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int from = t;
            Thread sender = new Thread(() -> {
                for (int i = from; i < 500; i += 8) {
                    calls.add(client.callRawAsync(server.address(), "m.S.M", utf8("n" + i), CallOptions.DEFAULT.withTimeoutMs(10_000))
                        .thenApply(body -> utf8(new String(body, StandardCharsets.UTF_8) + "@" + from)));
                }
            });
            sender.start();
            senders.add(sender);
        }
        for (Thread sender : senders) sender.join();
        List<String> replies = new ArrayList<>();
        for (CompletableFuture<byte[]> f : calls) replies.add(new String(f.get(20, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        replies.sort(null);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 500; i++) expected.add("n" + i + "@" + (i % 8));
        expected.sort(null);
        assertEquals(expected, replies);
        assertEquals(500, server.requests.size());
        assertEquals(1, server.sockets.size());
    }

    @Test
    void serverErrorsTimeoutsPartialRepliesAndLateRepliesHaveTheirCodes(@TempDir Path dir) throws Exception {
        ScriptedServer server = server();
        server.onRequest = (r, s) -> {
            String text = new String(r.body(), StandardCharsets.UTF_8);
            switch (text) {
                case "err" -> ScriptedServer.write(r.out(), ScriptedServer.reply(r, new byte[0], -6, "no such method"));
                case "partial" -> {
                    byte[] whole = ScriptedServer.reply(r, utf8("late"), null, null);
                    ScriptedServer.write(r.out(), java.util.Arrays.copyOf(whole, whole.length - 3));
                    sleep(1500);
                    ScriptedServer.write(r.out(), java.util.Arrays.copyOfRange(whole, whole.length - 3, whole.length));
                }
                case "silent" -> { }
                default -> ScriptedServer.write(r.out(), ScriptedServer.reply(r, r.body(), null, null));
            }
        };
        SrpcClient client = client(dir.resolve("none.conf"));
        String a = server.address();
        SrpcException e = assertThrows(SrpcException.class, () -> client.callRaw(a, "m.S.M", utf8("err"), CallOptions.DEFAULT));
        assertEquals(-6, e.code());
        assertEquals("invalid method name: no such method", e.getMessage());
        assertTrue(e.fromServer());

        e = assertThrows(SrpcException.class, () -> client.callRaw(a, "m.S.M", utf8("silent"), CallOptions.DEFAULT.withTimeoutMs(200)));
        assertEquals(SrpcCode.TIMEOUT, e.code());
        assertTrue(e.requestSent());

        e = assertThrows(SrpcException.class, () -> client.callRaw(a, "m.S.M", utf8("partial"), CallOptions.DEFAULT.withTimeoutMs(1000)));
        assertEquals(SrpcCode.RECV_TIMEOUT, e.code(), e.getMessage());
        // The late rest of that reply is dropped quietly; the connection keeps working.
        Thread.sleep(800);
        assertArrayEquals(utf8("ok"), client.callRaw(a, "m.S.M", utf8("ok"), CallOptions.DEFAULT.withTimeoutMs(5000)));
        assertEquals(1, server.sockets.size());
    }

    @Test
    void aReplyWithAWrongSequenceFailsTheOnlyCallWithMinus16AndGarbageFailsWithMinus3(@TempDir Path dir) throws Exception {
        ScriptedServer server = server();
        server.onRequest = (r, s) -> {
            String text = new String(r.body(), StandardCharsets.UTF_8);
            if (text.equals("garbage")) {
                ScriptedServer.write(r.out(), utf8("HTTP/1.1 400 Bad Request\r\n\r\n"));
            } else if (text.equals("huge")) {
                // A frame header announcing a 17 MiB body: refused before any of it is buffered.
                ScriptedServer.write(r.out(), new byte[] {0x28, 0, 0, 0, 10, 0x01, 0x10, 0, 0});
            } else if (text.equals("big")) {
                ScriptedServer.write(r.out(), ScriptedServer.reply(r, new byte[3 * 1024 * 1024], null, null));
            } else {
                RpcHead head = new RpcHead();
                head.sequence = r.head().sequence + 1000;
                head.methodName = r.head().methodName;
                ScriptedServer.write(r.out(), Frame.encode(head.encode(), r.body()));
            }
        };
        SrpcClient client = client(dir.resolve("none.conf"));
        SrpcException e = assertThrows(SrpcException.class, () -> client.callRaw(server.address(), "m.S.M", utf8("x"), CallOptions.DEFAULT.withTimeoutMs(2000)));
        assertEquals(SrpcCode.INVALID_SEQUENCE, e.code());
        e = assertThrows(SrpcException.class, () -> client.callRaw(server.address(), "m.S.M", utf8("garbage"), CallOptions.DEFAULT.withTimeoutMs(2000)));
        assertEquals(SrpcCode.INVALID_PKG, e.code());
        assertEquals(3 * 1024 * 1024, client.callRaw(server.address(), "m.S.M", utf8("big"), CallOptions.DEFAULT.withTimeoutMs(5000)).length,
            "a 3 MiB reply on a fresh connection");
        e = assertThrows(SrpcException.class, () -> client.callRaw(server.address(), "m.S.M", utf8("huge"), CallOptions.DEFAULT.withTimeoutMs(2000)));
        assertEquals(SrpcCode.INVALID_PKG, e.code());
        assertTrue(e.getMessage().endsWith("bytes from " + server.address() + " exceeds 16777216"), e.getMessage());
    }

    @Test
    void connectionLossFailsEveryCallInFlightWithMinus13AndTheNextCallReconnects(@TempDir Path dir) throws Exception {
        ScriptedServer server = server();
        server.onRequest = (r, s) -> {
            if (new String(r.body(), StandardCharsets.UTF_8).equals("close")) {
                for (Socket sock : s.sockets) {
                    try {
                        sock.close();
                    } catch (IOException ignored) {
                        // test server
                    }
                }
            } else if (!new String(r.body(), StandardCharsets.UTF_8).equals("hold")) {
                ScriptedServer.write(r.out(), ScriptedServer.reply(r, r.body(), null, null));
            }
        };
        SrpcClient client = client(dir.resolve("none.conf"));
        String a = server.address();
        CompletableFuture<byte[]> held = client.callRawAsync(a, "m.S.M", utf8("hold"), CallOptions.DEFAULT.withTimeoutMs(5000));
        while (server.requests.size() < 1) Thread.sleep(5);
        CompletableFuture<byte[]> closing = client.callRawAsync(a, "m.S.M", utf8("close"), CallOptions.DEFAULT.withTimeoutMs(5000));
        assertEquals(SrpcCode.SEND_RECV_FAILED, failure(held).code());
        assertEquals(SrpcCode.SEND_RECV_FAILED, failure(closing).code());
        assertTrue(failure(held).requestSent());
        assertArrayEquals(utf8("again"), client.callRaw(a, "m.S.M", utf8("again"), CallOptions.DEFAULT.withTimeoutMs(2000)));
        assertEquals(2, server.sockets.size());
    }

    @Test
    void refusedConnectionsFailWithMinus13AreRetriedOnlyWhenAskedAndTakeTheServerOut(@TempDir Path dir) throws Exception {
        ScriptedServer up = server();
        up.onRequest = (r, s) -> ScriptedServer.write(r.out(), ScriptedServer.reply(r, r.body(), null, null));
        int deadPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = probe.getLocalPort();
        }
        Path routes = dir.resolve("routes.conf");
        Files.writeString(routes, "T.Dead 127.0.0.1:" + deadPort + "\nT.Mixed 127.0.0.1:" + deadPort + "\nT.Mixed " + up.address() + "\n");
        // Scripted random: always the first draw → the dead server first while it is alive.
        Balancer balancer = new Balancer(System::currentTimeMillis, n -> 0, Balancer.SHAPING_REQUEST_MIN);
        SrpcClient client = new SrpcClient(List.of(new RoutesFile(routes)), balancer, 1);
        cleanup.add(client);

        SrpcException e = assertThrows(SrpcException.class, () -> client.callRaw("127.0.0.1:" + deadPort, "m.S.M", utf8("x"), CallOptions.DEFAULT.withRetries(3)));
        assertEquals(SrpcCode.SEND_RECV_FAILED, e.code());
        assertFalse(e.requestSent());

        e = assertThrows(SrpcException.class, () -> client.callRaw("T.Mixed", "m.S.M", utf8("x"), CallOptions.DEFAULT));
        assertEquals(SrpcCode.SEND_RECV_FAILED, e.code(), "no retry unless asked");
        assertEquals(List.of(new Balancer.ServerWeight(up.address(), 100, 100, false), new Balancer.ServerWeight("127.0.0.1:" + deadPort, 100, 0, true)),
            balancer.weights("T.Mixed"), "refused → dead at once, moved to the tail");
        // Held out: the next pick goes to the live server even with the same draws.
        assertArrayEquals(utf8("y"), client.callRaw("T.Mixed", "m.S.M", utf8("y"), CallOptions.DEFAULT));

        // A fresh balancer picks the dead server first; retries=1 moves on to the live one.
        Balancer fresh = new Balancer(System::currentTimeMillis, n -> 0, Balancer.SHAPING_REQUEST_MIN);
        SrpcClient retrying = new SrpcClient(List.of(new RoutesFile(routes)), fresh, 1);
        cleanup.add(retrying);
        assertArrayEquals(utf8("z"), retrying.callRaw("T.Mixed", "m.S.M", utf8("z"), CallOptions.DEFAULT.withRetries(1)));
        assertTrue(fresh.weights("T.Mixed").get(1).dead());

        e = assertThrows(SrpcException.class, () -> client.callRaw("T.Nowhere", "m.S.M", utf8("x"), CallOptions.DEFAULT));
        assertEquals(SrpcCode.GET_ROUTE_FAILED, e.code());
        assertEquals("get route failed: no route for T.Nowhere (looked in: routes file " + routes + ")", e.getMessage());
    }

    @Test
    void everyOutcomeReachesTheBalancer(@TempDir Path dir) throws Exception {
        ScriptedServer server = server();
        server.onRequest = (r, s) -> {
            String text = new String(r.body(), StandardCharsets.UTF_8);
            if (text.equals("err")) ScriptedServer.write(r.out(), ScriptedServer.reply(r, new byte[0], -18, null));
            else if (!text.equals("silent")) ScriptedServer.write(r.out(), ScriptedServer.reply(r, r.body(), null, null));
        };
        Path routes = dir.resolve("routes.conf");
        Files.writeString(routes, "T.One " + server.address() + "\n");
        long[] now = {0};
        Balancer balancer = new Balancer(() -> now[0], n -> 0, Balancer.SHAPING_REQUEST_MIN);
        SrpcClient client = new SrpcClient(List.of(new RoutesFile(routes)), balancer, 1);
        cleanup.add(client);
        for (int i = 0; i < 7; i++) client.callRaw("T.One", "m.S.M", utf8("ok"), CallOptions.DEFAULT);
        assertEquals(-18, assertThrows(SrpcException.class, () -> client.callRaw("T.One", "m.S.M", utf8("err"), CallOptions.DEFAULT)).code());
        for (int i = 0; i < 2; i++) {
            assertEquals(-10, assertThrows(SrpcException.class,
                () -> client.callRaw("T.One", "m.S.M", utf8("silent"), CallOptions.DEFAULT.withTimeoutMs(100))).code());
        }
        // 8 successes (a server error is an answer) and 2 failures: 80 % → 100 × 0.8² = 64.
        now[0] = 5000;
        balancer.tick("T.One");
        assertEquals(List.of(new Balancer.ServerWeight(server.address(), 100, 64, false)), balancer.weights("T.One"));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
