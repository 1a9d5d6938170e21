package io.github.msecgen.runtime;

/** SRPC framework error codes and their MSEC texts (spec §2), as carried in {@code CRpcHead.err}. */
public final class SrpcCode {
    private SrpcCode() {}

    public static final int SUCCESS = 0;
    public static final int PARA_ERROR = -1;
    public static final int SYSTEM_ERROR = -2;
    public static final int INVALID_PKG = -3;
    public static final int INVALID_PKG_HEAD = -4;
    public static final int INVALID_PKG_BODY = -5;
    public static final int INVALID_METHOD_NAME = -6;
    public static final int HEADER_UNINIT = -7;
    public static final int BODY_UNINIT = -8;
    public static final int NO_MEMORY = -9;
    public static final int TIMEOUT = -10;
    public static final int NETWORK = -11;
    public static final int RECV_TIMEOUT = -12;
    public static final int SEND_RECV_FAILED = -13;
    public static final int INVALID_ENDPOINT = -14;
    public static final int GET_ROUTE_FAILED = -15;
    public static final int INVALID_SEQUENCE = -16;
    public static final int NO_BODY = -17;
    public static final int SERVICE_IMPL_FAILED = -18;
    public static final int BACKEND = -19;
    public static final int PHP_FAILED = -20;
    public static final int PYTHON_FAILED = -21;

    private static final String[] TEXTS = {
        "success",
        "invalid parameter",
        "system error",
        "invalid package",
        "invalid package header",
        "invalid package body",
        "invalid method name",
        "package header uninitialized",
        "package body uninitialized",
        "no memory",
        "timeout",
        "network error",
        "recevice timeout",
        "network sendrecv failed",
        "invalid endpoint",
        "get route failed",
        "invalid sequence",
        "no package body",
        "service implement failed",
        "backend process failed, use GetErrText get more information",
        "php error",
        "python error",
    };

    /** MSEC's {@code errmsg(code)} text, typos included; {@code "unkown error"} for codes it does not know. */
    public static String text(int code) {
        return code <= 0 && -code < TEXTS.length ? TEXTS[-code] : "unkown error";
    }
}
