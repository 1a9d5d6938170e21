package io.github.msecgen.runtime;

/**
 * The failure of an SRPC call: {@link #code()} is the SRPC code (spec §2) —
 * a negative framework code from the client (-10 timeout, -13 connection
 * lost, -15 no route, …) or the {@code CRpcHead.err} the server answered with.
 * The message is MSEC's text of the code, then {@code ": detail"} when there is one.
 */
public class SrpcException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int code;
    private final String address;
    private final boolean requestSent;
    private final boolean fromServer;

    public SrpcException(int code, String detail) {
        this(code, detail, "", true, false, null);
    }

    public SrpcException(int code, String detail, String address, boolean requestSent, boolean fromServer, Throwable cause) {
        super(detail == null || detail.isEmpty() ? SrpcCode.text(code) : SrpcCode.text(code) + ": " + detail, cause);
        this.code = code;
        this.address = address;
        this.requestSent = requestSent;
        this.fromServer = fromServer;
    }

    /** The SRPC code, e.g. -6 for an unknown method. */
    public int code() {
        return code;
    }

    /** The {@code ip:port} called, or the service name when the failure is not tied to one address. */
    public String address() {
        return address;
    }

    /** False when the request certainly did not reach the server (e.g. connection refused), so resending is safe. */
    public boolean requestSent() {
        return requestSent;
    }

    /** True when the server answered with this code in {@code CRpcHead.err}. */
    public boolean fromServer() {
        return fromServer;
    }
}
