package io.github.msecgen.runtime;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Arrays;

/**
 * One persistent TCP connection to an SRPC server, used by one call at a time
 * (the pool hands it out and takes it back). Every wait is bounded by the
 * call's deadline.
 *
 * <p>Failure mapping (spec §2 codes): connect or reply not done by the deadline →
 * -10, or -12 when part of the reply had arrived; refused, reset or closed → -13
 * ({@code requestSent} false when the connection never came up); a byte stream
 * that is not SRPC or a reply larger than {@link #MAX_REPLY_BYTES} → -3. After
 * any failure the connection is closed: a late reply would otherwise be read by
 * the next call.
 */
final class Connection implements AutoCloseable {
    /** Largest reply frame accepted (16 MiB, the TypeScript client's default). */
    static final int MAX_REPLY_BYTES = 16 * 1024 * 1024;

    final String address;
    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;

    private Connection(String address, SocketChannel channel, Selector selector, SelectionKey key) {
        this.address = address;
        this.channel = channel;
        this.selector = selector;
        this.key = key;
    }

    /** Connects to {@code route} before {@code deadline} ({@link System#nanoTime()} scale). */
    static Connection open(Route route, long deadline) {
        String address = route.address();
        SocketChannel channel = null;
        Selector selector = null;
        try {
            channel = SocketChannel.open();
            channel.configureBlocking(false);
            channel.socket().setTcpNoDelay(true);
            selector = Selector.open();
            SelectionKey key = channel.register(selector, SelectionKey.OP_CONNECT);
            if (!channel.connect(new InetSocketAddress(route.ip(), route.port()))) {
                while (!channel.finishConnect()) {
                    if (!await(selector, deadline)) {
                        throw new SrpcException(SrpcCode.TIMEOUT, "connect to " + address + " timed out", address, false, false, null);
                    }
                }
            }
            key.interestOps(0);
            return new Connection(address, channel, selector, key);
        } catch (IOException e) {
            closeQuietly(channel, selector);
            throw new SrpcException(SrpcCode.SEND_RECV_FAILED, "connect to " + address + ": " + e.getMessage(), address, false, false, e);
        } catch (RuntimeException e) {
            closeQuietly(channel, selector);
            throw e;
        }
    }

    /**
     * True when the server has closed this idle connection (or sent bytes nobody asked
     * for): it must not carry another call. Does not block.
     */
    boolean isStale() {
        try {
            ByteBuffer probe = ByteBuffer.allocate(1);
            return channel.read(probe) != 0;
        } catch (IOException e) {
            return true;
        }
    }

    /** Sends {@code frame} and returns the complete reply frame, all before {@code deadline}. */
    byte[] exchange(byte[] frame, long deadline) {
        try {
            ByteBuffer out = ByteBuffer.wrap(frame);
            while (out.hasRemaining()) {
                if (channel.write(out) == 0) {
                    key.interestOps(SelectionKey.OP_WRITE);
                    if (!await(selector, deadline)) throw fail(SrpcCode.TIMEOUT, "request not sent before the deadline", null);
                }
            }
            key.interestOps(SelectionKey.OP_READ);
            byte[] reply = new byte[256];
            int received = 0;
            for (;;) {
                long checked = received == 0 ? 0 : Frame.check(reply, received);
                if (checked < 0) throw fail(SrpcCode.INVALID_PKG, "reply is not an SRPC frame", null);
                if (checked > 0) {
                    if (checked != received) throw fail(SrpcCode.INVALID_PKG, "bytes after the reply frame", null);
                    key.interestOps(0);
                    return reply.length == received ? reply : Arrays.copyOf(reply, received);
                }
                if (received >= Frame.OVERHEAD) {
                    long total = Frame.OVERHEAD + (long) Frame.getInt32(reply, 1) + Frame.getInt32(reply, 5);
                    if (total > MAX_REPLY_BYTES) throw fail(SrpcCode.INVALID_PKG, "reply frame of " + total + " bytes exceeds " + MAX_REPLY_BYTES, null);
                    if (total > reply.length) reply = Arrays.copyOf(reply, (int) total);
                } else if (received == reply.length) {
                    reply = Arrays.copyOf(reply, reply.length * 2);
                }
                int n = channel.read(ByteBuffer.wrap(reply, received, reply.length - received));
                if (n < 0) {
                    throw fail(SrpcCode.SEND_RECV_FAILED, received == 0 ? "connection closed by peer" : "connection closed by peer inside a reply", null);
                }
                if (n == 0 && !await(selector, deadline)) {
                    throw fail(received == 0 ? SrpcCode.TIMEOUT : SrpcCode.RECV_TIMEOUT,
                        received == 0 ? "no reply before the deadline" : "reply incomplete at the deadline (" + received + " bytes)", null);
                }
                received += Math.max(n, 0);
            }
        } catch (IOException e) {
            throw fail(SrpcCode.SEND_RECV_FAILED, e.getMessage(), e);
        }
    }

    private SrpcException fail(int code, String detail, Throwable cause) {
        close();
        return new SrpcException(code, detail, address, true, false, cause);
    }

    /** Waits for the registered interest until {@code deadline}; false when the deadline passed. */
    private static boolean await(Selector selector, long deadline) throws IOException {
        long remainingMs = (deadline - System.nanoTime()) / 1_000_000;
        if (remainingMs <= 0) return false;
        selector.select(remainingMs);
        selector.selectedKeys().clear();
        return true;
    }

    @Override
    public void close() {
        closeQuietly(channel, selector);
    }

    private static void closeQuietly(SocketChannel channel, Selector selector) {
        try {
            if (selector != null) selector.close();
        } catch (IOException ignored) {
            // closing: nothing left to report to
        }
        try {
            if (channel != null) channel.close();
        } catch (IOException ignored) {
            // closing: nothing left to report to
        }
    }
}
