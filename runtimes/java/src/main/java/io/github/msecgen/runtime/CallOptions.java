package io.github.msecgen.runtime;

/**
 * Options of one call and how they fill the request head (spec §1.6). Immutable:
 * {@code CallOptions.DEFAULT.withTimeoutMs(2000).withCaller("VOA.MainLogic")}.
 */
public final class CallOptions {
    /**
     * Default call timeout: 800 ms, as MSEC's C++ {@code CallMethod} and the TypeScript
     * runtime (scripts that call slow services pass a larger {@code timeoutMs}).
     */
    public static final int DEFAULT_TIMEOUT_MS = 800;
    /** Caller name when neither the options nor {@code $MSEC_SERVICE_NAME} name one. */
    public static final String DEFAULT_CALLER = "java.client";
    /** Environment variable naming this process's service ({@code Group.Service}), used as the caller name. */
    public static final String SERVICE_NAME_ENV = "MSEC_SERVICE_NAME";

    /** 800 ms, caller from the environment, no colouring, flow id derived from the sequence. */
    public static final CallOptions DEFAULT = new CallOptions(DEFAULT_TIMEOUT_MS, null, 0, null, 0);

    private final int timeoutMs;
    private final String caller;
    private final int coloring;
    private final Long flowId;
    private final int retries;

    private CallOptions(int timeoutMs, String caller, int coloring, Long flowId, int retries) {
        if (timeoutMs <= 0) throw new IllegalArgumentException("timeoutMs must be > 0, got " + timeoutMs);
        if (retries < 0) throw new IllegalArgumentException("retries must be >= 0, got " + retries);
        this.timeoutMs = timeoutMs;
        this.caller = caller;
        this.coloring = coloring;
        this.flowId = flowId;
        this.retries = retries;
    }

    /** Budget for the whole call (connect, send, receive) in milliseconds. */
    public CallOptions withTimeoutMs(int timeoutMs) {
        return new CallOptions(timeoutMs, caller, coloring, flowId, retries);
    }

    /** {@code CRpcHead.caller}; default {@code $MSEC_SERVICE_NAME}, else {@code "java.client"}. */
    public CallOptions withCaller(String caller) {
        return new CallOptions(timeoutMs, caller, coloring, flowId, retries);
    }

    /** {@code CRpcHead.coloring}: 1 logs this call chain at every level; default 0. */
    public CallOptions withColoring(int coloring) {
        return new CallOptions(timeoutMs, caller, coloring, flowId, retries);
    }

    /** {@code CRpcHead.flow_id} (unsigned 64-bit in a long), e.g. the flow id of the request being served. */
    public CallOptions withFlowId(long flowId) {
        return new CallOptions(timeoutMs, caller, coloring, flowId, retries);
    }

    /**
     * Extra picks after a <em>refused connection</em> (default 0, as MSEC): the one failure where
     * the request certainly never reached a server, so it cannot run twice. Routing names only
     * (never literal addresses); timeouts, resets and server errors are never retried; every
     * attempt shares the call's timeout.
     */
    public CallOptions withRetries(int retries) {
        return new CallOptions(timeoutMs, caller, coloring, flowId, retries);
    }

    /** Extra attempts after refused connections (see {@link #withRetries}). */
    public int retries() {
        return retries;
    }

    public int timeoutMs() {
        return timeoutMs;
    }

    /** The caller name this call sends. */
    public String caller() {
        if (caller != null) return caller;
        String env = System.getenv(SERVICE_NAME_ENV);
        return env == null || env.isEmpty() ? DEFAULT_CALLER : env;
    }

    public int coloring() {
        return coloring;
    }

    /** The flow id, or {@code null} to use {@code colorId(method) XOR sequence}. */
    public Long flowId() {
        return flowId;
    }
}
