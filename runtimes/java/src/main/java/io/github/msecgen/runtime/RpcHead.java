package io.github.msecgen.runtime;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code srpc.CRpcHead} (spec §1.5), encoded and decoded by hand so the caller
 * needs no generated code for it. Proto2 semantics: a field that is set
 * (non-null) is written even when it is 0 or empty; fields are written in
 * field-number order, as MSEC's C++ and Java peers do. 64-bit fields hold
 * their unsigned value in a {@code long} (use {@link Long#toUnsignedString}).
 */
public final class RpcHead {
    /** Field 10, required: per-call sequence, echoed by the server. */
    public long sequence;
    /** Field 20: 1 forces logging at every level along the call chain. */
    public Integer coloring;
    /** Field 21: djb2 of the method name ({@link ColorId}). */
    public Long colorId;
    /** Field 30: end-to-end request id. */
    public Long flowId;
    /** Field 40: framework error code (spec §2). */
    public Integer err;
    /** Field 41: business return value (unused by MSEC servers). */
    public Integer result;
    /** Field 42: error text. */
    public String errMsg;
    /** Field 50: caller service name. */
    public String caller;
    /** Field 51, required: full wire method name {@code package.Service.Method}. */
    public String methodName;
    /** Field 60, repeated: call stack of method names. */
    public List<String> callerStack = new ArrayList<>();
    /**
     * Field 70 (msec-gen addition): the caller's remaining budget in milliseconds when the
     * request was written; absent or 0 = no deadline. MSEC peers skip it as an unknown field.
     */
    public Integer timeoutMs;

    private static final int WIRE_VARINT = 0;
    private static final int WIRE_FIXED64 = 1;
    private static final int WIRE_LEN = 2;
    private static final int WIRE_START_GROUP = 3;
    private static final int WIRE_END_GROUP = 4;
    private static final int WIRE_FIXED32 = 5;
    /** Deepest group nesting skipped inside a head before it is called malformed. */
    private static final int MAX_GROUP_DEPTH = 16;

    /** The protobuf encoding of this head. Throws {@code SrpcException(-7)} when {@code methodName} is null. */
    public byte[] encode() {
        if (methodName == null) {
            throw new SrpcException(SrpcCode.HEADER_UNINIT, "method_name is not set");
        }
        // Strings as UTF-8 first, so the head is sized exactly and written into one array.
        byte[] errMsgBytes = utf8(errMsg);
        byte[] callerBytes = utf8(caller);
        byte[] methodBytes = utf8(methodName);
        byte[][] stackBytes = new byte[callerStack.size()][];
        for (int i = 0; i < stackBytes.length; i++) stackBytes[i] = utf8(callerStack.get(i));
        int size = varintFieldSize(10, sequence);
        if (coloring != null) size += varintFieldSize(20, coloring.longValue());
        if (colorId != null) size += varintFieldSize(21, colorId);
        if (flowId != null) size += varintFieldSize(30, flowId);
        if (err != null) size += varintFieldSize(40, err.longValue());
        if (result != null) size += varintFieldSize(41, result.longValue());
        if (errMsgBytes != null) size += bytesFieldSize(42, errMsgBytes);
        if (callerBytes != null) size += bytesFieldSize(50, callerBytes);
        size += bytesFieldSize(51, methodBytes);
        for (byte[] entry : stackBytes) size += bytesFieldSize(60, entry);
        if (timeoutMs != null) size += varintFieldSize(70, Integer.toUnsignedLong(timeoutMs));
        byte[] out = new byte[size];
        int at = writeVarintField(out, 0, 10, sequence);
        if (coloring != null) at = writeVarintField(out, at, 20, coloring.longValue());
        if (colorId != null) at = writeVarintField(out, at, 21, colorId);
        if (flowId != null) at = writeVarintField(out, at, 30, flowId);
        if (err != null) at = writeVarintField(out, at, 40, err.longValue());
        if (result != null) at = writeVarintField(out, at, 41, result.longValue());
        if (errMsgBytes != null) at = writeBytesField(out, at, 42, errMsgBytes);
        if (callerBytes != null) at = writeBytesField(out, at, 50, callerBytes);
        at = writeBytesField(out, at, 51, methodBytes);
        for (byte[] entry : stackBytes) at = writeBytesField(out, at, 60, entry);
        if (timeoutMs != null) writeVarintField(out, at, 70, Integer.toUnsignedLong(timeoutMs));
        return out;
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Decodes {@code buf[from, to)}. Unknown fields are skipped; a head that
     * does not parse or lacks {@code sequence} / {@code method_name} throws
     * {@code SrpcException(-4)}.
     */
    public static RpcHead decode(byte[] buf, int from, int to) {
        RpcHead head = new RpcHead();
        boolean hasSequence = false;
        int[] pos = {from};
        while (pos[0] < to) {
            long key = readVarint(buf, pos, to);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 0) throw invalid("field number 0");
            if (wire == WIRE_VARINT && isVarintField(field)) {
                long v = readVarint(buf, pos, to);
                switch (field) {
                    case 10: head.sequence = v; hasSequence = true; break;
                    case 20: head.coloring = (int) v; break;
                    case 21: head.colorId = v; break;
                    case 30: head.flowId = v; break;
                    case 40: head.err = (int) v; break;
                    case 70: head.timeoutMs = (int) v; break;
                    default: head.result = (int) v; break;
                }
            } else if (wire == WIRE_LEN && isBytesField(field)) {
                String s = readString(buf, pos, to);
                switch (field) {
                    case 42: head.errMsg = s; break;
                    case 50: head.caller = s; break;
                    case 51: head.methodName = s; break;
                    default: head.callerStack.add(s); break;
                }
            } else {
                skip(buf, pos, to, field, wire, 0);
            }
        }
        if (!hasSequence) throw invalid("required field sequence is missing");
        if (head.methodName == null) throw invalid("required field method_name is missing");
        return head;
    }

    private static boolean isVarintField(int field) {
        return field == 10 || field == 20 || field == 21 || field == 30 || field == 40 || field == 41 || field == 70;
    }

    private static boolean isBytesField(int field) {
        return field == 42 || field == 50 || field == 51 || field == 60;
    }

    private static SrpcException invalid(String why) {
        return new SrpcException(SrpcCode.INVALID_PKG_HEAD, why);
    }

    private static int varintSize(long value) {
        int n = 1;
        while ((value & ~0x7FL) != 0) {
            n++;
            value >>>= 7;
        }
        return n;
    }

    private static int varintFieldSize(int field, long value) {
        return varintSize((long) field << 3) + varintSize(value);
    }

    private static int bytesFieldSize(int field, byte[] bytes) {
        return varintSize((long) field << 3) + varintSize(bytes.length) + bytes.length;
    }

    /** Writes the field at {@code at} and returns the offset after it. */
    private static int writeVarintField(byte[] out, int at, int field, long value) {
        at = writeVarint(out, at, ((long) field << 3) | WIRE_VARINT);
        return writeVarint(out, at, value);
    }

    private static int writeBytesField(byte[] out, int at, int field, byte[] bytes) {
        at = writeVarint(out, at, ((long) field << 3) | WIRE_LEN);
        at = writeVarint(out, at, bytes.length);
        System.arraycopy(bytes, 0, out, at, bytes.length);
        return at + bytes.length;
    }

    /** Negative int32 values are written sign-extended to 10 bytes, as protobuf does. */
    private static int writeVarint(byte[] out, int at, long value) {
        while ((value & ~0x7FL) != 0) {
            out[at++] = (byte) ((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out[at++] = (byte) value;
        return at;
    }

    private static long readVarint(byte[] buf, int[] pos, int to) {
        long value = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos[0] >= to) throw invalid("truncated varint");
            int b = buf[pos[0]++] & 0xFF;
            if (shift == 63 && b > 1) throw invalid("varint longer than 64 bits");
            value |= (long) (b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw invalid("varint longer than 10 bytes");
    }

    private static String readString(byte[] buf, int[] pos, int to) {
        long len = readVarint(buf, pos, to);
        if (len < 0 || len > to - pos[0]) throw invalid("length-delimited field runs past the head");
        String s = new String(buf, pos[0], (int) len, StandardCharsets.UTF_8);
        pos[0] += (int) len;
        return s;
    }

    private static void skip(byte[] buf, int[] pos, int to, int field, int wire, int depth) {
        switch (wire) {
            case WIRE_VARINT:
                readVarint(buf, pos, to);
                return;
            case WIRE_FIXED64:
                advance(pos, to, 8);
                return;
            case WIRE_FIXED32:
                advance(pos, to, 4);
                return;
            case WIRE_LEN: {
                long len = readVarint(buf, pos, to);
                if (len < 0 || len > to - pos[0]) throw invalid("length-delimited field runs past the head");
                pos[0] += (int) len;
                return;
            }
            case WIRE_START_GROUP: {
                if (depth >= MAX_GROUP_DEPTH) throw invalid("groups nested too deeply");
                for (;;) {
                    long key = readVarint(buf, pos, to);
                    int inner = (int) (key >>> 3);
                    int innerWire = (int) (key & 7);
                    if (innerWire == WIRE_END_GROUP) {
                        if (inner != field) throw invalid("mismatched end group");
                        return;
                    }
                    skip(buf, pos, to, inner, innerWire, depth + 1);
                }
            }
            default:
                throw invalid("wire type " + wire);
        }
    }

    private static void advance(int[] pos, int to, int n) {
        if (to - pos[0] < n) throw invalid("truncated fixed-width field");
        pos[0] += n;
    }
}
