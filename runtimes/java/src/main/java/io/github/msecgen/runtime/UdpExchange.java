package io.github.msecgen.runtime;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.util.Arrays;

/**
 * One SRPC call over UDP ({@code ip:port@udp}): the request is one datagram,
 * the reply is one datagram. No reply before the deadline → -10; a datagram
 * that is not exactly one frame → -3; a socket error → -13.
 */
final class UdpExchange {
    private UdpExchange() {}

    /** Largest datagram accepted as a reply (the UDP payload limit). */
    static final int MAX_DATAGRAM_BYTES = 65507;

    static byte[] exchange(Route route, byte[] frame, long deadline) {
        String address = route.address();
        if (frame.length > MAX_DATAGRAM_BYTES) {
            throw new SrpcException(SrpcCode.PARA_ERROR, "request of " + frame.length + " bytes does not fit in a datagram", address, false, false, null);
        }
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.connect(new InetSocketAddress(route.ip(), route.port()));
            socket.send(new DatagramPacket(frame, frame.length));
            byte[] buf = new byte[MAX_DATAGRAM_BYTES];
            DatagramPacket reply = new DatagramPacket(buf, buf.length);
            long remainingMs = (deadline - System.nanoTime()) / 1_000_000;
            if (remainingMs <= 0) throw new SrpcException(SrpcCode.TIMEOUT, "no reply before the deadline", address, true, false, null);
            socket.setSoTimeout((int) Math.min(remainingMs, Integer.MAX_VALUE));
            socket.receive(reply);
            byte[] data = Arrays.copyOf(buf, reply.getLength());
            if (Frame.check(data, data.length) != data.length) {
                throw new SrpcException(SrpcCode.INVALID_PKG, "reply datagram is not one SRPC frame", address, true, false, null);
            }
            return data;
        } catch (SocketTimeoutException e) {
            throw new SrpcException(SrpcCode.TIMEOUT, "no reply before the deadline", address, true, false, e);
        } catch (IOException e) {
            throw new SrpcException(SrpcCode.SEND_RECV_FAILED, e.getMessage(), address, true, false, e);
        }
    }
}
