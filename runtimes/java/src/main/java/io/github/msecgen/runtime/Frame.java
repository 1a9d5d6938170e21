package io.github.msecgen.runtime;

/**
 * SRPC framing (spec §1.1): {@code 0x28 | head_len (int32 BE) | body_len (int32 BE) | head | body | 0x29}.
 */
public final class Frame {
    private Frame() {}

    /** First byte of every frame, ASCII {@code (}. */
    public static final byte STX = 0x28;
    /** Last byte of every frame, ASCII {@code )}. */
    public static final byte ETX = 0x29;
    /** Offset of the head: STX and the two lengths. */
    public static final int HEAD_OFFSET = 9;
    /** Bytes a frame adds around head and body (STX, two lengths, ETX). */
    public static final int OVERHEAD = 10;

    /** A decoded frame: the head and the body bytes (may be empty). */
    public record Decoded(RpcHead head, byte[] body) {}

    /** The frame carrying {@code head} and {@code body}. */
    public static byte[] encode(byte[] head, byte[] body) {
        byte[] out = new byte[OVERHEAD + head.length + body.length];
        encodeInto(out, 0, head, body);
        return out;
    }

    /** Writes the frame at {@code out[at]} (room for it is the caller's care); returns the offset after it. */
    static int encodeInto(byte[] out, int at, byte[] head, byte[] body) {
        out[at] = STX;
        putInt32(out, at + 1, head.length);
        putInt32(out, at + 5, body.length);
        System.arraycopy(head, 0, out, at + HEAD_OFFSET, head.length);
        System.arraycopy(body, 0, out, at + HEAD_OFFSET + head.length, body.length);
        int end = at + OVERHEAD + head.length + body.length;
        out[end - 1] = ETX;
        return end;
    }

    /**
     * MSEC's {@code SrpcCheckPkgLen} on {@code buf[0, len)} (spec §1.2), in its order:
     * -1 when {@code len <= 0}; 0 (need more) when {@code len <= 10}; -3 when the first
     * byte is not STX, a length is negative or both are 0; 0 while the frame is
     * incomplete; -3 when its last byte is not ETX; else the frame length (bytes
     * after it belong to the next frame). A frame longer than {@code Integer.MAX_VALUE}
     * cannot be held in a Java array and is reported as -3.
     */
    public static long check(byte[] buf, int len) {
        return check(buf, 0, len);
    }

    /** {@link #check(byte[], int)} on the {@code len} bytes of {@code buf} starting at {@code off}. */
    public static long check(byte[] buf, int off, int len) {
        if (len <= 0) return SrpcCode.PARA_ERROR;
        if (len <= OVERHEAD) return 0;
        if (buf[off] != STX) return SrpcCode.INVALID_PKG;
        long headLen = getInt32(buf, off + 1);
        long bodyLen = getInt32(buf, off + 5);
        long total = OVERHEAD + headLen + bodyLen;
        if (headLen < 0 || bodyLen < 0 || total <= OVERHEAD) return SrpcCode.INVALID_PKG;
        if (total > Integer.MAX_VALUE) return SrpcCode.INVALID_PKG;
        if (len < total) return 0;
        if (buf[off + (int) total - 1] != ETX) return SrpcCode.INVALID_PKG;
        return total;
    }

    /**
     * Decodes exactly one frame (MSEC's {@code SrpcUnpackPkg}, spec §1.3): {@code frame}
     * must be the whole frame and nothing else. Throws {@code SrpcException(-3)} for
     * bad framing and {@code SrpcException(-4)} for a head that does not parse.
     */
    public static Decoded decode(byte[] frame) {
        int len = frame.length;
        if (len <= OVERHEAD || frame[0] != STX || frame[len - 1] != ETX) {
            throw new SrpcException(SrpcCode.INVALID_PKG, "");
        }
        long headLen = getInt32(frame, 1);
        long bodyLen = getInt32(frame, 5);
        if (headLen <= 0 || bodyLen < 0 || OVERHEAD + headLen + bodyLen != len) {
            throw new SrpcException(SrpcCode.INVALID_PKG, "");
        }
        int bodyStart = HEAD_OFFSET + (int) headLen;
        RpcHead head = RpcHead.decode(frame, HEAD_OFFSET, bodyStart);
        byte[] body = new byte[(int) bodyLen];
        System.arraycopy(frame, bodyStart, body, 0, body.length);
        return new Decoded(head, body);
    }

    private static void putInt32(byte[] buf, int at, int value) {
        buf[at] = (byte) (value >>> 24);
        buf[at + 1] = (byte) (value >>> 16);
        buf[at + 2] = (byte) (value >>> 8);
        buf[at + 3] = (byte) value;
    }

    /** Signed big-endian int32 at {@code at}. */
    static int getInt32(byte[] buf, int at) {
        return (buf[at] & 0xFF) << 24 | (buf[at + 1] & 0xFF) << 16 | (buf[at + 2] & 0xFF) << 8 | (buf[at + 3] & 0xFF);
    }
}
