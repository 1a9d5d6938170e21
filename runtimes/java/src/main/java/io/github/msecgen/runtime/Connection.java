package io.github.msecgen.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One persistent TCP connection to an SRPC server carrying many calls at once.
 * Requests are queued and written in batches (see {@link #drain}); a daemon reader thread reads reply
 * frames and matches them to calls by the sequence the server echoes, in any
 * order. Each call's future completes with its reply frame, or fails with an
 * {@link SrpcException} (spec §2 codes):
 *
 * <ul>
 *   <li>deadline passed → -10, or -12 when part of that call's reply had arrived
 *       (the frame being received carries its sequence, or it is the only call in
 *       flight). A request not fully written by its deadline closes the connection
 *       (a partial frame would corrupt the stream);</li>
 *   <li>connect refused → -13 with {@code requestSent} false; reset or closed →
 *       -13 for every call in flight; the pool then drops the connection and the
 *       next call reconnects;</li>
 *   <li>a reply whose sequence matches no call in flight: dropped quietly when it
 *       belongs to a call that already timed out (the last
 *       {@value #ABANDONED_SEQUENCES_KEPT} such sequences are remembered); otherwise,
 *       with exactly one call in flight, that call fails with -16; otherwise it is
 *       dropped and logged. A head that does not parse (-4) is attributed the same way;</li>
 *   <li>a byte stream that is not SRPC, or a frame over {@link #MAX_REPLY_BYTES} →
 *       -3 for every call in flight, and the connection is closed.</li>
 * </ul>
 */
final class Connection implements AutoCloseable {
    /** Largest reply frame accepted (16 MiB, the TypeScript client's default). */
    static final int MAX_REPLY_BYTES = 16 * 1024 * 1024;
    /** Size of the reader's buffer between large replies. */
    private static final int INITIAL_BUFFER_BYTES = 64 * 1024;
    /** Sequences of timed-out calls remembered so their late replies are dropped quietly. */
    static final int ABANDONED_SEQUENCES_KEPT = 1024;

    /**
     * Set while a thread completes a batch of replies (see {@link #completeBatch}): requests its
     * callbacks send on that connection are queued and written together when the batch ends (one
     * write for the batch, not one per call). Should a callback block (say, waiting for the reply
     * to a request it sent), the watchdog ({@link #watchCork}) writes the held requests within
     * {@value #CORK_WATCHDOG_MS}-{@value #CORK_WATCHDOG_MS_MAX} ms.
     */
    private static final class Cork {
        final Connection connection;
        final long id;
        /** True once a request waits for the batch's end. */
        boolean holding;

        Cork(Connection connection, long id) {
            this.connection = connection;
            this.id = id;
        }
    }

    /** Watchdog period: a batch holding requests over two ticks has them written. */
    private static final long CORK_WATCHDOG_MS = 1;
    private static final long CORK_WATCHDOG_MS_MAX = 2 * CORK_WATCHDOG_MS;
    /** Idle ticks (no batch holding requests) after which the watchdog stops until needed. */
    private static final int CORK_WATCHDOG_IDLE_TICKS = 1000;

    private static final ThreadLocal<Cork> CORKED = new ThreadLocal<>();
    private static final System.Logger LOG = System.getLogger("io.github.msecgen.runtime");
    /** {@code CRpcHead.sequence} (field 10, varint) tag byte; encoders write it first. */
    private static final int SEQUENCE_TAG = 0x50;

    /** What a call sends besides the sequence; the head is completed when the request is written. */
    record Request(RpcHead head, byte[] body, long deadlineNanos) {}

    private record Outgoing(Pending call, Request request) {}

    /** A batch stops growing at this size (a larger single request is written alone). */
    private static final int MAX_BATCH_BYTES = 256 * 1024;

    private static final int QUEUED = 0;
    private static final int WRITING = 1;
    private static final int WRITTEN = 2;

    private final class Pending {
        final long sequence;
        final long deadlineNanos;
        /** Complete on {@link #completions} rather than on the reader or timer thread. */
        final boolean offReader;
        final CompletableFuture<Frame.Decoded> future = new CompletableFuture<>();
        final AtomicInteger state = new AtomicInteger(QUEUED);

        Pending(long sequence, long deadlineNanos, boolean offReader) {
            this.sequence = sequence;
            this.deadlineNanos = deadlineNanos;
            this.offReader = offReader;
        }
    }

    final String address;
    private final Socket socket;
    private final OutputStream out;
    private final ScheduledExecutorService timers;
    /** Where calls sent with {@code offReader} complete (one task per batch of replies read). */
    private final Executor completions;
    /**
     * The connection's one deadline timer, armed for the earliest deadline of its calls in
     * flight (not one timer per call): when it fires, every call past its deadline expires and
     * it is re-armed for the next. Guarded by {@link #timerLock}, as {@link #timerAt}.
     */
    private ScheduledFuture<?> timer;
    /** The deadline {@link #timer} is armed for ({@link System#nanoTime()} scale). */
    private long timerAt;
    private final Object timerLock = new Object();
    /** Ids of reply batches (see {@link Cork}). */
    private final AtomicLong batchIds = new AtomicLong();
    /** Id of the batch that last held a request, 0 when none holds any. */
    private final AtomicLong corkedBatch = new AtomicLong();
    /** True while the cork watchdog runs. */
    private final AtomicBoolean watchdogRunning = new AtomicBoolean();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final LinkedHashSet<Long> abandoned = new LinkedHashSet<>();
    /** Requests waiting to be written, in the order they were sent. */
    private final ConcurrentLinkedQueue<Outgoing> outbox = new ConcurrentLinkedQueue<>();
    /** Held by the thread writing a batch (see {@link #drain}). */
    private final ReentrantLock writer = new ReentrantLock();
    /** The writer's reusable batch buffer (guarded by {@link #writer}). */
    private byte[] batchBuffer = new byte[INITIAL_BUFFER_BYTES];
    private volatile boolean closed;
    private volatile String closeReason;
    /** Sequence of the frame the reader is receiving (-1: none or not known yet). */
    private volatile long receivingSequence = -1;
    /** Bytes of the current frame received so far (0 between frames). */
    private volatile int receivingBytes;

    private Connection(String address, Socket socket, ScheduledExecutorService timers, Executor completions) throws IOException {
        this.address = address;
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.timers = timers;
        this.completions = completions;
    }

    /**
     * Connects to {@code route} before {@code deadlineNanos} ({@link System#nanoTime()} scale) and
     * starts its reader thread. Refused → -13 ({@code requestSent} false); not connected in time → -10.
     */
    static Connection open(Route route, long deadlineNanos, ScheduledExecutorService timers, Executor completions) {
        String address = route.address();
        long remainingMs = (deadlineNanos - System.nanoTime()) / 1_000_000;
        if (remainingMs <= 0) {
            throw new SrpcException(SrpcCode.TIMEOUT, "no time left to connect to " + address, address, false, false, null);
        }
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(route.ip(), route.port()), (int) Math.min(remainingMs, Integer.MAX_VALUE));
            Connection conn = new Connection(address, socket, timers, completions);
            Thread reader = new Thread(conn::readLoop, "msec-srpc-reader " + address);
            reader.setDaemon(true);
            reader.start();
            return conn;
        } catch (SocketTimeoutException e) {
            closeQuietly(socket);
            throw new SrpcException(SrpcCode.TIMEOUT, "connect to " + address + " timed out", address, false, false, e);
        } catch (ConnectException e) {
            closeQuietly(socket);
            throw new SrpcException(SrpcCode.SEND_RECV_FAILED, "connect to " + address + ": connection refused", address, false, false, e);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new SrpcException(SrpcCode.SEND_RECV_FAILED, "connect to " + address + ": " + e.getMessage(), address, false, false, e);
        }
    }

    /** True once closed by either side; such a connection takes no more calls. */
    boolean isClosed() {
        return closed;
    }

    /** Calls in flight (diagnostics and tests). */
    int inFlight() {
        return pending.size();
    }

    /**
     * Sends one request (its head gets {@code sequence}, and {@code timeout_ms} = the remaining
     * budget when written) and returns the future of its decoded reply. Never throws: failures
     * complete the future exceptionally. The future completes on the reader thread (a reply),
     * the timer thread (a deadline) or the thread closing the connection, unless
     * {@code offReader}: then always on the connection's completions executor, replies read
     * together completing in one task there (one thread hop per batch, not per call).
     */
    CompletableFuture<Frame.Decoded> send(long sequence, Request request, boolean offReader) {
        Pending call = new Pending(sequence, request.deadlineNanos(), offReader);
        if (closed) {
            call.future.completeExceptionally(lost(call, closeReason));
            return call.future;
        }
        pending.put(sequence, call);
        arm(call.deadlineNanos);
        if (closed) { // closed between the check and the registration: fail() may have missed it
            fail(call, lost(call, closeReason));
            return call.future;
        }
        outbox.add(new Outgoing(call, request));
        Cork cork = CORKED.get();
        if (cork == null || cork.connection != this) {
            drain();
        } else {
            // Written when the batch ends, or by the watchdog should a callback block for long.
            cork.holding = true;
            corkedBatch.set(cork.id);
            if (!watchdogRunning.get()) startCorkWatchdog();
        }
        return call.future;
    }

    /**
     * Writes queued requests. Whichever sending thread gets the writer lock writes everything
     * queued by then in one batch (one syscall for many concurrent calls, as a pipelining client
     * would); the others return at once. A thread finding the lock taken leaves its request to
     * the writer, which looks at the queue again after releasing the lock.
     */
    private void drain() {
        while (!outbox.isEmpty() && writer.tryLock()) {
            try {
                if (closed) {
                    outbox.clear(); // shutdown() failed their calls
                    return;
                }
                byte[] batch = batchBuffer;
                int len = 0;
                List<Pending> written = new ArrayList<>();
                Outgoing o;
                while (len < MAX_BATCH_BYTES && (o = outbox.poll()) != null) {
                    if (!o.call().state.compareAndSet(QUEUED, WRITING)) continue; // expired while queued
                    Request request = o.request();
                    long remainingMs = (request.deadlineNanos() - System.nanoTime() + 999_999) / 1_000_000;
                    RpcHead head = request.head();
                    head.sequence = o.call().sequence;
                    head.timeoutMs = (int) Math.max(1, Math.min(remainingMs, Integer.MAX_VALUE));
                    if (head.flowId == null && head.colorId != null) head.flowId = head.colorId ^ head.sequence;
                    byte[] headBytes = head.encode();
                    int frameLen = Frame.OVERHEAD + headBytes.length + request.body().length;
                    if (len + frameLen > batch.length) batch = Arrays.copyOf(batch, Math.max(batch.length * 2, len + frameLen));
                    len = Frame.encodeInto(batch, len, headBytes, request.body());
                    written.add(o.call());
                }
                if (batch.length <= MAX_BATCH_BYTES) batchBuffer = batch;
                if (len == 0) continue;
                try {
                    out.write(batch, 0, len);
                    out.flush();
                    for (Pending p : written) p.state.set(WRITTEN);
                } catch (IOException e) {
                    for (Pending p : written) p.state.set(WRITTEN);
                    shutdown("write failed: " + e.getMessage());
                }
            } finally {
                writer.unlock();
            }
        }
    }

    private void startCorkWatchdog() {
        if (watchdogRunning.compareAndSet(false, true)) scheduleCorkWatch(0, 0);
    }

    private void scheduleCorkWatch(long lastSeen, int idleTicks) {
        try {
            timers.schedule(() -> watchCork(lastSeen, idleTicks), CORK_WATCHDOG_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            watchdogRunning.set(false);
            drain();
        }
    }

    /** Writes the held requests of a batch seen holding them on the previous tick too. */
    private void watchCork(long lastSeen, int idleTicks) {
        long batch = corkedBatch.get();
        if (batch != 0 && batch == lastSeen) drain();
        int idle = batch == 0 ? idleTicks + 1 : 0;
        if (closed || idle >= CORK_WATCHDOG_IDLE_TICKS) {
            watchdogRunning.set(false);
            if (corkedBatch.get() != 0 && !closed) startCorkWatchdog(); // a batch started holding as it stopped
            return;
        }
        scheduleCorkWatch(batch, idle);
    }

    /** Makes sure the timer fires by {@code deadline}. */
    private void arm(long deadline) {
        synchronized (timerLock) {
            if (timer != null && timerAt - deadline <= 0) return;
            if (timer != null) timer.cancel(false);
            timerAt = deadline;
            timer = timers.schedule(this::expireDue, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }

    /** The timer: expires every call past its deadline, then re-arms for the earliest left. */
    private void expireDue() {
        synchronized (timerLock) {
            timer = null;
        }
        if (closed) return;
        long now = System.nanoTime();
        boolean more = false;
        long next = 0;
        for (Pending call : pending.values()) {
            if (call.deadlineNanos - now <= 0) {
                expire(call);
            } else if (!more || call.deadlineNanos - next < 0) {
                next = call.deadlineNanos;
                more = true;
            }
        }
        if (more && !closed) arm(next);
    }

    private void expire(Pending call) {
        if (call.future.isDone()) return;
        int state = call.state.getAndUpdate(s -> s == QUEUED ? WRITTEN : s);
        if (state == QUEUED) {
            fail(call, new SrpcException(SrpcCode.TIMEOUT, "request to " + address + " not sent before the deadline", address, false, false, null));
            return;
        }
        if (state == WRITING) {
            fail(call, new SrpcException(SrpcCode.TIMEOUT, "request to " + address + " not written before the deadline", address, true, false, null));
            shutdown("a request could not be written before its deadline");
            return;
        }
        int received = receivingBytes;
        boolean partial = received > 0 && (receivingSequence == call.sequence || (receivingSequence < 0 && pending.size() == 1));
        synchronized (abandoned) {
            abandoned.add(call.sequence);
            if (abandoned.size() > ABANDONED_SEQUENCES_KEPT) {
                Iterator<Long> it = abandoned.iterator();
                it.next();
                it.remove();
            }
        }
        fail(call, partial
            ? new SrpcException(SrpcCode.RECV_TIMEOUT, "reply from " + address + " incomplete at the deadline (" + received + " bytes)", address, true, false, null)
            : new SrpcException(SrpcCode.TIMEOUT, "no reply from " + address + " before the deadline", address, true, false, null));
    }

    private void fail(Pending call, SrpcException e) {
        pending.remove(call.sequence, call);
        if (call.offReader) {
            try {
                completions.execute(() -> call.future.completeExceptionally(e));
                return;
            } catch (RejectedExecutionException closing) {
                // the client is closing: complete here
            }
        }
        call.future.completeExceptionally(e);
    }

    /** Completes the off-reader calls whose replies one read delivered, in one task. */
    private void completeBatch(List<Pending> calls, List<Frame.Decoded> replies) {
        if (calls.isEmpty()) return;
        Pending[] c = calls.toArray(new Pending[0]);
        Frame.Decoded[] r = replies.toArray(new Frame.Decoded[0]);
        calls.clear();
        replies.clear();
        Runnable task = () -> {
            if (c.length == 1) {
                c[0].future.complete(r[0]);
                return;
            }
            Cork cork = new Cork(this, batchIds.incrementAndGet());
            CORKED.set(cork);
            try {
                for (int i = 0; i < c.length; i++) c[i].future.complete(r[i]);
            } finally {
                CORKED.remove();
                if (cork.holding) corkedBatch.compareAndSet(cork.id, 0);
                drain(); // also writes what other batches held until now
            }
        };
        try {
            completions.execute(task);
        } catch (RejectedExecutionException closing) {
            task.run(); // the client is closing: complete here
        }
    }

    private SrpcException lost(Pending call, String reason) {
        return new SrpcException(SrpcCode.SEND_RECV_FAILED, address + ": " + reason, address, call.state.get() != QUEUED, false, null);
    }

    /** Reads reply frames until the connection closes. */
    private void readLoop() {
        byte[] buf = new byte[INITIAL_BUFFER_BYTES];
        int have = 0;
        List<Pending> batchCalls = new ArrayList<>();
        List<Frame.Decoded> batchReplies = new ArrayList<>();
        try {
            InputStream in = socket.getInputStream();
            for (;;) {
                // Deliver every complete frame in buf, then move the rest to its start.
                int start = 0;
                while (have - start > 0) {
                    if (buf[start] != Frame.STX) {
                        completeBatch(batchCalls, batchReplies);
                        shutdownWith(SrpcCode.INVALID_PKG, "reply byte stream from " + address + " is not SRPC");
                        return;
                    }
                    long checked = Frame.check(buf, start, have - start);
                    if (checked < 0) {
                        completeBatch(batchCalls, batchReplies);
                        shutdownWith(SrpcCode.INVALID_PKG, "reply byte stream from " + address + " is not SRPC");
                        return;
                    }
                    if (checked == 0) break;
                    deliver(Arrays.copyOfRange(buf, start, start + (int) checked), batchCalls, batchReplies);
                    start += (int) checked;
                }
                completeBatch(batchCalls, batchReplies);
                if (start > 0) {
                    System.arraycopy(buf, start, buf, 0, have - start);
                    have -= start;
                }
                if (have == 0 && buf.length > INITIAL_BUFFER_BYTES) buf = new byte[INITIAL_BUFFER_BYTES]; // after a large reply
                if (have >= Frame.HEAD_OFFSET) {
                    long total = Frame.OVERHEAD + (long) Frame.getInt32(buf, 1) + Frame.getInt32(buf, 5);
                    if (total > MAX_REPLY_BYTES) {
                        shutdownWith(SrpcCode.INVALID_PKG, "reply frame of " + total + " bytes from " + address + " exceeds " + MAX_REPLY_BYTES);
                        return;
                    }
                    if (total > buf.length) buf = Arrays.copyOf(buf, (int) total);
                }
                receivingSequence = have > Frame.HEAD_OFFSET + 1 ? peekSequence(buf, have) : -1;
                receivingBytes = have;
                if (have == buf.length) buf = Arrays.copyOf(buf, buf.length * 2);
                int n = in.read(buf, have, buf.length - have);
                if (n < 0) {
                    shutdown(have == 0 ? "connection closed by peer" : "connection closed by peer inside a reply");
                    return;
                }
                have += n;
            }
        } catch (IOException e) {
            shutdown(closed ? closeReason : "connection lost: " + e.getMessage());
        }
    }

    /** The sequence of a partially received frame, -1 when its first head field is not yet readable. */
    private static long peekSequence(byte[] buf, int have) {
        if ((buf[Frame.HEAD_OFFSET] & 0xFF) != SEQUENCE_TAG) return -1;
        long value = 0;
        for (int i = Frame.HEAD_OFFSET + 1, shift = 0; i < have && shift < 64; i++, shift += 7) {
            int b = buf[i] & 0xFF;
            value |= (long) (b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        return -1;
    }

    /** Completes the call {@code frame} answers (off-reader ones are added to the batch). */
    private void deliver(byte[] frame, List<Pending> batchCalls, List<Frame.Decoded> batchReplies) {
        receivingBytes = 0;
        receivingSequence = -1;
        long sequence;
        Frame.Decoded decoded = null;
        SrpcException headError = null;
        try {
            decoded = Frame.decode(frame);
            sequence = decoded.head().sequence;
        } catch (SrpcException e) {
            sequence = -1;
            headError = new SrpcException(e.code(), "reply from " + address + ": " + e.getMessage(), address, true, false, e);
        }
        Pending call = decoded != null ? pending.remove(sequence) : null;
        if (call != null) {
            if (call.offReader) {
                batchCalls.add(call);
                batchReplies.add(decoded);
            } else {
                call.future.complete(decoded);
            }
            return;
        }
        if (decoded != null) {
            synchronized (abandoned) {
                if (abandoned.remove(sequence)) return; // the late reply of a call that timed out
            }
        }
        if (pending.size() == 1) {
            Pending only = pending.values().iterator().next();
            fail(only, headError != null ? headError
                : new SrpcException(SrpcCode.INVALID_SEQUENCE,
                    "reply sequence " + Long.toUnsignedString(sequence) + " for request " + Long.toUnsignedString(only.sequence), address, true, false, null));
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "msec: dropped a reply from {0} that matches no call in flight ({1})",
            address, headError != null ? headError.getMessage() : "sequence " + Long.toUnsignedString(sequence));
    }

    private void shutdownWith(int code, String reason) {
        closed = true;
        closeReason = reason;
        cancelTimer();
        for (Pending call : pending.values()) {
            fail(call, new SrpcException(code, reason, address, true, false, null));
        }
        closeQuietly(socket);
    }

    /** Closes the connection; every call in flight fails with -13 and {@code reason}. */
    private void shutdown(String reason) {
        if (!closed) {
            closeReason = reason;
            closed = true;
        }
        cancelTimer();
        closeQuietly(socket);
        for (Pending call : pending.values()) fail(call, lost(call, closeReason));
    }

    private void cancelTimer() {
        synchronized (timerLock) {
            if (timer != null) timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void close() {
        shutdown("connection closed by the client");
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing: nothing left to report to
        }
    }
}
