package io.github.msecgen.runtime;

import java.nio.charset.StandardCharsets;

/** MSEC's per-method colour id and the default flow id of a request (spec §1.6). */
public final class ColorId {
    private ColorId() {}

    /**
     * djb2 of the UTF-8 bytes of {@code name}: start 5381, {@code h = h * 33 + c} with an
     * unsigned 32-bit accumulator and each byte added as a <em>signed</em> char, as
     * MSEC's C++ {@code gen_colorid} does. Result in 0..2^32-1.
     */
    public static long of(String name) {
        int h = 5381;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = h * 33 + b;
        }
        return Integer.toUnsignedLong(h);
    }

    /** {@code colorId(method) XOR sequence}: the flow id of a request that does not inherit one. */
    public static long defaultFlowId(String method, long sequence) {
        return of(method) ^ sequence;
    }
}
