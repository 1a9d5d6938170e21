package io.github.msecgen.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.StringValue;
import io.github.msecgen.runtime.ClientTest.Received;
import io.github.msecgen.runtime.ClientTest.ScriptedServer;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How {@link SrpcClient#callAsync} completes: the replies one read brings complete in one task on
 * the client's pool (never on the reader thread), requests their callbacks send are written even
 * when a callback blocks, and the connection's one deadline timer expires calls in deadline order.
 */
class AsyncBatchTest {
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : cleanup) c.close();
    }

    private ScriptedServer server() throws Exception {
        ScriptedServer s = new ScriptedServer();
        cleanup.add(s);
        return s;
    }

    private SrpcClient client(Path dir) {
        SrpcClient c = new SrpcClient(new RoutesFile(dir.resolve("none.conf")));
        cleanup.add(c);
        return c;
    }

    private static StringValue text(String s) {
        return StringValue.of(s);
    }

    /** Answers the first {@code hold} requests together, in one write, and every later one at once. */
    private static void answerFirstTogether(ScriptedServer server, int hold) {
        List<Received> held = new CopyOnWriteArrayList<>();
        server.onRequest = (r, s) -> {
            if (held.size() >= hold) {
                ScriptedServer.write(r.out(), ScriptedServer.reply(r, r.body(), null, null));
                return;
            }
            held.add(r);
            if (held.size() == hold) {
                ByteArrayOutputStream together = new ByteArrayOutputStream();
                for (Received h : held) together.writeBytes(ScriptedServer.reply(h, h.body(), null, null));
                ScriptedServer.write(r.out(), together.toByteArray());
            }
        };
    }

    @Test
    void repliesReadTogetherCompleteOnThePoolAndTheirCallbacksCallsAreAllWritten(@TempDir Path dir) throws Exception {
        ScriptedServer server = server();
        answerFirstTogether(server, 3);
        SrpcClient client = client(dir);
        CallOptions options = CallOptions.DEFAULT.withTimeoutMs(10_000);
        List<String> threads = new CopyOnWriteArrayList<>();
        List<CompletableFuture<String>> chained = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String name = "first " + i;
            chained.add(client.callAsync(server.address(), "m.S.M", text(name), StringValue.parser(), options)
                .thenCompose(reply -> {
                    threads.add(Thread.currentThread().getName());
                    // Sent from the batch's callback: held until the batch ends, then written.
                    return client.callAsync(server.address(), "m.S.M", text(reply.getValue() + " then"), StringValue.parser(), options);
                })
                .thenApply(StringValue::getValue));
        }
        for (int i = 0; i < 3; i++) assertEquals("first " + i + " then", chained.get(i).get(10, TimeUnit.SECONDS));
        assertEquals(List.of("msec-srpc-call", "msec-srpc-call", "msec-srpc-call"), threads);
        assertEquals(6, server.requests.size());
        assertEquals(1, server.sockets.size());
    }

    @Test
    void aCallbackThatBlocksOnAnotherCallStillGetsItsRequestWritten(@TempDir Path dir) throws Exception {
        ScriptedServer server = server();
        answerFirstTogether(server, 2);
        SrpcClient client = client(dir);
        CallOptions options = CallOptions.DEFAULT.withTimeoutMs(10_000);
        CountDownLatch asyncReplied = new CountDownLatch(1);
        // First callback: a blocking call, then waits (not through a future) for an async call's reply.
        CompletableFuture<String> blocking = client.callAsync(server.address(), "m.S.M", text("a"), StringValue.parser(), options)
            .thenApply(reply -> {
                byte[] sync = client.callRaw(server.address(), "m.S.M", text("sync").toByteArray(), options);
                client.callAsync(server.address(), "m.S.M", text("async"), StringValue.parser(), options)
                    .thenRun(asyncReplied::countDown);
                try {
                    assertTrue(asyncReplied.await(10, TimeUnit.SECONDS), "the async call's reply arrived");
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return reply.getValue() + "+" + parseText(sync);
            });
        CompletableFuture<StringValue> other = client.callAsync(server.address(), "m.S.M", text("b"), StringValue.parser(), options);
        assertEquals("a+sync", blocking.get(10, TimeUnit.SECONDS));
        assertEquals("b", other.get(10, TimeUnit.SECONDS).getValue());
        assertEquals(4, server.requests.size());
    }

    @Test
    void eachCallExpiresAtItsOwnDeadlineWhateverTheOrderTheyWereSent(@TempDir Path dir) throws Exception {
        ScriptedServer server = server(); // never answers
        SrpcClient client = client(dir);
        List<String> order = new CopyOnWriteArrayList<>();
        CompletableFuture<?> slow = client.callAsync(server.address(), "m.S.M", text("slow"), StringValue.parser(), CallOptions.DEFAULT.withTimeoutMs(3000))
            .whenComplete((r, err) -> order.add("slow " + code(err)));
        CompletableFuture<?> fast = client.callAsync(server.address(), "m.S.M", text("fast"), StringValue.parser(), CallOptions.DEFAULT.withTimeoutMs(300))
            .whenComplete((r, err) -> order.add("fast " + code(err)));
        assertEquals(-10, code(failureOf(fast)));
        assertFalse(slow.isDone(), "the later deadline has not passed");
        assertEquals(-10, code(failureOf(slow)));
        assertEquals(List.of("fast -10", "slow -10"), order);
        assertEquals(1, server.sockets.size());
    }

    private static String parseText(byte[] body) {
        try {
            return StringValue.parseFrom(body).getValue();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Throwable failureOf(CompletableFuture<?> f) throws InterruptedException {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("not completed in 10 s");
        }
        throw new AssertionError("completed without an error");
    }

    private static int code(Throwable err) {
        Throwable t = err;
        while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) t = t.getCause();
        return t instanceof SrpcException s ? s.code() : 0;
    }
}
