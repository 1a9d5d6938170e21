package io.github.msecgen.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Arrays;

/**
 * One call to a heterogeneous (non-SRPC) TCP service: connect, write the request, read
 * until the {@link ReplyCheck} says the reply is whole. One connection per call, as MSEC's
 * Python and PHP callers did: such services define their own framing, so a connection
 * cannot be assumed reusable.
 */
final class TcpExchange {
    private TcpExchange() {}

    /** First receive buffer size; it doubles as needed (as MSEC's TCP clients grow theirs). */
    static final int INITIAL_RECEIVE_BYTES = 64 * 1024;

    /**
     * The first {@code check > 0} bytes of the reply. Throws {@link SrpcException}: -13 refused
     * (requestSent false), reset, or closed before the reply was whole; -3 the check returned
     * {@code < 0} or threw; -10 the deadline passed with nothing received, -12 with part of it.
     */
    static byte[] exchange(Route route, byte[] request, ReplyCheck check, long deadlineNanos) {
        String address = route.address();
        boolean connected = false;
        byte[] buf = new byte[INITIAL_RECEIVE_BYTES];
        int received = 0;
        try (Socket socket = new Socket()) {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(route.ip(), route.port()), remainingMs(deadlineNanos, address, false, 0));
            connected = true;
            socket.getOutputStream().write(request);
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            for (;;) {
                if (received == buf.length) buf = Arrays.copyOf(buf, buf.length * 2);
                socket.setSoTimeout(remainingMs(deadlineNanos, address, true, received));
                int n = in.read(buf, received, buf.length - received);
                if (n < 0) {
                    throw new SrpcException(SrpcCode.SEND_RECV_FAILED,
                        "peer " + address + " closed the connection after " + received + " bytes of the reply", address, true, false, null);
                }
                received += n;
                int complete;
                try {
                    complete = check.check(buf, received);
                } catch (RuntimeException e) {
                    throw new SrpcException(SrpcCode.INVALID_PKG, "reply check failed: " + e.getMessage(), address, true, false, e);
                }
                if (complete < 0) {
                    throw new SrpcException(SrpcCode.INVALID_PKG,
                        "reply from " + address + " rejected by the completeness check (" + complete + ")", address, true, false, null);
                }
                if (complete > 0 && complete <= received) return Arrays.copyOf(buf, complete);
            }
        } catch (SocketTimeoutException e) {
            throw timeout(address, connected, received, e);
        } catch (ConnectException e) {
            throw new SrpcException(SrpcCode.SEND_RECV_FAILED, address + ": " + e.getMessage(), address, false, false, e);
        } catch (IOException e) {
            throw new SrpcException(SrpcCode.SEND_RECV_FAILED, address + ": " + e.getMessage(), address, connected, false, e);
        }
    }

    /** Milliseconds left (at least 1: 0 means "wait forever" to java.net), or the timeout failure. */
    private static int remainingMs(long deadlineNanos, String address, boolean connected, int received) {
        long ms = (deadlineNanos - System.nanoTime()) / 1_000_000;
        if (ms <= 0) throw timeout(address, connected, received, null);
        return (int) Math.min(ms, Integer.MAX_VALUE);
    }

    private static SrpcException timeout(String address, boolean connected, int received, Throwable cause) {
        return received > 0
            ? new SrpcException(SrpcCode.RECV_TIMEOUT, received + " bytes of the reply from " + address + " before the deadline", address, true, false, cause)
            : new SrpcException(SrpcCode.TIMEOUT, "no reply from " + address + " before the deadline", address, connected, false, cause);
    }
}
