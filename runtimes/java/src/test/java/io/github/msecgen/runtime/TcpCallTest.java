package io.github.msecgen.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Calls to heterogeneous TCP services ({@link SrpcClient#callTcp}, {@link SrpcClient#callJsonTcp})
 * against real loopback sockets: a scripted peer reads each request and answers as the test says
 * (in pieces, partly, never, or by closing).
 */
class TcpCallTest {
    /** What the peer does with one connection, given the request bytes it has read. */
    interface Script {
        void answer(byte[] request, Socket socket) throws Exception;
    }

    /** A loopback peer: reads {@code requestBytes} bytes of each connection, then runs the script. */
    static final class Peer implements AutoCloseable {
        final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final LinkedBlockingQueue<byte[]> requests = new LinkedBlockingQueue<>();
        final List<Socket> sockets = new ArrayList<>();

        Peer(int requestBytes, Script script) throws IOException {
            Thread accept = new Thread(() -> {
                try {
                    for (;;) {
                        Socket s = listener.accept();
                        synchronized (sockets) {
                            sockets.add(s);
                        }
                        Thread t = new Thread(() -> {
                            try {
                                byte[] request = s.getInputStream().readNBytes(requestBytes);
                                requests.add(request);
                                script.answer(request, s);
                            } catch (Exception e) {
                                // the connection ended
                            }
                        });
                        t.setDaemon(true);
                        t.start();
                    }
                } catch (IOException e) {
                    // listener closed
                }
            });
            accept.setDaemon(true);
            accept.start();
        }

        String address() {
            return "127.0.0.1:" + listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            synchronized (sockets) {
                for (Socket s : sockets) s.close();
            }
        }
    }

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : cleanup) c.close();
    }

    private Peer peer(int requestBytes, Script script) throws IOException {
        Peer p = new Peer(requestBytes, script);
        cleanup.add(p);
        return p;
    }

    private SrpcClient client(Path routes) {
        SrpcClient c = new SrpcClient(List.of(new RoutesFile(routes)), new Balancer(System::currentTimeMillis, n -> 0, Balancer.SHAPING_REQUEST_MIN), 1);
        cleanup.add(c);
        return c;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void send(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes);
        out.flush();
    }

    /** "LEN:<n>;" then n bytes — the framing of the scripted services below. */
    private static final ReplyCheck LENGTH_PREFIXED = (buf, length) -> {
        String text = new String(buf, 0, length, StandardCharsets.US_ASCII);
        int semi = text.indexOf(';');
        if (!text.startsWith("LEN:") && length >= 4) return -7;
        if (semi < 0) return 0;
        int total = semi + 1 + Integer.parseInt(text.substring(4, semi));
        return length >= total ? total : 0;
    };

    @Test
    void aReplySentOneByteAtATimeIsReassembledAndBytesAfterItAreLeftOut(@TempDir Path dir) throws Exception {
        CountDownLatch checks = new CountDownLatch(1);
        Peer p = peer(5, (request, s) -> {
            byte[] reply = utf8("LEN:5;" + new String(request, StandardCharsets.US_ASCII) + "TRAILING");
            for (byte b : reply) {
                send(s, new byte[] {b});
                Thread.sleep(1);
            }
            checks.await(5, TimeUnit.SECONDS);
        });
        int[] calls = {0};
        ReplyCheck counting = (buf, length) -> {
            calls[0]++;
            return LENGTH_PREFIXED.check(buf, length);
        };
        byte[] reply = client(dir.resolve("none.conf")).callTcp(p.address(), utf8("hello"), counting, CallOptions.DEFAULT.withTimeoutMs(5000));
        checks.countDown();
        assertArrayEquals(utf8("LEN:5;hello"), reply);
        assertArrayEquals(utf8("hello"), p.requests.poll(5, TimeUnit.SECONDS));
        assertTrue(calls[0] >= 2, "the check ran on partial replies: " + calls[0]);
    }

    @Test
    void aReplyLargerThanTheFirstBufferGrowsIt(@TempDir Path dir) throws Exception {
        int size = TcpExchange.INITIAL_RECEIVE_BYTES * 3 + 17;
        byte[] body = new byte[size];
        for (int i = 0; i < size; i++) body[i] = (byte) ('a' + i % 26);
        Peer p = peer(1, (request, s) -> {
            send(s, utf8("LEN:" + size + ";"));
            send(s, body);
        });
        byte[] reply = client(dir.resolve("none.conf")).callTcp(p.address(), utf8("x"), LENGTH_PREFIXED, CallOptions.DEFAULT.withTimeoutMs(5000));
        String prefix = "LEN:" + size + ";";
        assertEquals(prefix.length() + size, reply.length);
        assertEquals((byte) ('a' + (size - 1) % 26), reply[reply.length - 1]);
    }

    @Test
    void timeoutsCloseAndMalformedRepliesHaveTheirCodes(@TempDir Path dir) throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        cleanup.add(release::countDown);
        SrpcClient client = client(dir.resolve("none.conf"));
        CallOptions quick = CallOptions.DEFAULT.withTimeoutMs(150);

        Peer silent = peer(1, (request, s) -> release.await());
        SrpcException e = assertThrows(SrpcException.class, () -> client.callTcp(silent.address(), utf8("x"), LENGTH_PREFIXED, quick));
        assertEquals(SrpcCode.TIMEOUT, e.code());
        assertTrue(e.requestSent());
        assertEquals("timeout: no reply from " + silent.address() + " before the deadline", e.getMessage());

        Peer partial = peer(1, (request, s) -> {
            send(s, utf8("LEN:10;abc"));
            release.await();
        });
        e = assertThrows(SrpcException.class, () -> client.callTcp(partial.address(), utf8("x"), LENGTH_PREFIXED, quick));
        assertEquals(SrpcCode.RECV_TIMEOUT, e.code());
        assertEquals(SrpcCode.text(-12) + ": 10 bytes of the reply from " + partial.address() + " before the deadline", e.getMessage());

        Peer closing = peer(1, (request, s) -> {
            send(s, utf8("LEN:10;ab"));
            s.close();
        });
        e = assertThrows(SrpcException.class, () -> client.callTcp(closing.address(), utf8("x"), LENGTH_PREFIXED, CallOptions.DEFAULT.withTimeoutMs(5000)));
        assertEquals(SrpcCode.SEND_RECV_FAILED, e.code());
        assertTrue(e.getMessage().endsWith("peer " + closing.address() + " closed the connection after 9 bytes of the reply"), e.getMessage());

        Peer garbage = peer(1, (request, s) -> send(s, utf8("HTTP/1.1 400 Bad Request\r\n")));
        e = assertThrows(SrpcException.class, () -> client.callTcp(garbage.address(), utf8("x"), LENGTH_PREFIXED, CallOptions.DEFAULT.withTimeoutMs(5000)));
        assertEquals(SrpcCode.INVALID_PKG, e.code());
        assertTrue(e.getMessage().endsWith("rejected by the completeness check (-7)"), e.getMessage());

        Peer any = peer(1, (request, s) -> send(s, utf8("LEN:x;")));
        e = assertThrows(SrpcException.class, () -> client.callTcp(any.address(), utf8("x"), LENGTH_PREFIXED, CallOptions.DEFAULT.withTimeoutMs(5000)));
        assertEquals(SrpcCode.INVALID_PKG, e.code());
        assertTrue(e.getMessage().contains("reply check failed: For input string: \"x\""), e.getMessage());
    }

    @Test
    void refusedConnectionsAreMinus13NotSentRetriedOnlyWhenAskedAndTakeTheServerOut(@TempDir Path dir) throws Exception {
        Peer up = peer(1, (request, s) -> send(s, utf8("LEN:1;" + new String(request, StandardCharsets.US_ASCII))));
        int deadPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = probe.getLocalPort();
        }
        String dead = "127.0.0.1:" + deadPort;
        Path routes = dir.resolve("routes.conf");
        Files.writeString(routes, "T.Mixed " + dead + "\nT.Mixed " + up.address() + "\n");
        SrpcClient client = client(routes);

        SrpcException e = assertThrows(SrpcException.class, () -> client.callTcp(dead, utf8("x"), LENGTH_PREFIXED, CallOptions.DEFAULT.withRetries(2)));
        assertEquals(SrpcCode.SEND_RECV_FAILED, e.code());
        assertFalse(e.requestSent());
        assertEquals(0, client.balancer().weights("T.Mixed").size(), "literal addresses are not reported");

        // The balancer draws the dead instance first; retries=1 moves on to the live one.
        assertArrayEquals(utf8("LEN:1;y"), client.callTcp("T.Mixed", utf8("y"), LENGTH_PREFIXED, CallOptions.DEFAULT.withRetries(1)));
        assertEquals(List.of(new Balancer.ServerWeight(up.address(), 100, 100, false), new Balancer.ServerWeight(dead, 100, 0, true)),
            client.balancer().weights("T.Mixed"));

        e = assertThrows(SrpcException.class, () -> client.callTcp("T.Nowhere", utf8("x"), LENGTH_PREFIXED, CallOptions.DEFAULT));
        assertEquals(SrpcCode.GET_ROUTE_FAILED, e.code());
    }

    @Test
    void jsonTcpFramesWithATenCharacterLengthAndReadsTheReply(@TempDir Path dir) throws Exception {
        assertArrayEquals(utf8("13        {\"q\":\"héé\"}"), JsonTcp.encode("{\"q\":\"héé\"}"));
        byte[] whole = utf8("2         {}extra");
        assertEquals(0, JsonTcp.check(whole, 9));
        assertEquals(0, JsonTcp.check(whole, 11));
        assertEquals(12, JsonTcp.check(whole, 12));
        assertEquals(12, JsonTcp.check(whole, whole.length));
        assertEquals(-1, JsonTcp.check(utf8(" 2        {}"), 12));
        assertEquals(-1, JsonTcp.check(utf8("2 2       {}"), 12));
        assertEquals(-1, JsonTcp.check(utf8("abcdefghij{}"), 12));

        Peer jsoup = peer(10 + 18, (request, s) -> {
            String asked = new String(request, 10, request.length - 10, StandardCharsets.UTF_8);
            byte[] reply = JsonTcp.encode("{\"asked\":" + asked + ",\"title\":\"Ünïcode\"}");
            send(s, java.util.Arrays.copyOfRange(reply, 0, 4));
            Thread.sleep(20);
            send(s, java.util.Arrays.copyOfRange(reply, 4, reply.length));
        });
        SrpcClient client = client(dir.resolve("none.conf"));
        String reply = client.callJsonTcp(jsoup.address(), "{\"url\":\"http://a\"}", CallOptions.DEFAULT.withTimeoutMs(5000));
        assertEquals("{\"asked\":{\"url\":\"http://a\"},\"title\":\"Ünïcode\"}", reply);

        Peer notJson = peer(10 + 2, (request, s) -> send(s, JsonTcp.encode("{nope")));
        SrpcException e = assertThrows(SrpcException.class, () -> client.callJsonTcp(notJson.address(), "{}", CallOptions.DEFAULT.withTimeoutMs(5000)));
        assertEquals(SrpcCode.INVALID_PKG, e.code());
        assertTrue(e.getMessage().contains("reply is not JSON"), e.getMessage());
    }

}
