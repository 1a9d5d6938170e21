package io.github.msecgen.runtime;

/**
 * Completeness check of a heterogeneous service's reply (MSEC's {@code callmethod_tcp}
 * callback), called with everything received so far after each read.
 */
@FunctionalInterface
public interface ReplyCheck {
    /**
     * Looks at {@code received[0, length)}: returns {@code < 0} when the reply is malformed,
     * {@code 0} when more bytes are needed, or the reply's total length ({@code > 0}) once
     * it is whole. Must not keep {@code received}: the buffer is reused and grows.
     */
    int check(byte[] received, int length);
}
