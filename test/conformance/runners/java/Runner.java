// Conformance runner of the Java caller (docs/caller-parity.md, "Runner protocol"): reads one
// scenario from stdin, runs its steps in order through the generated ConformanceServiceClient
// and the runtime io.github.msecgen:msec-runtime, and writes one JSON line per step. It checks
// nothing: the harness compares. JSON is Gson's (objects → maps, integers → Long).
//
// Routing is configured as a user's program has it: SrpcClient.shared() reads $MSEC_ROUTES and,
// when set, $MSEC_ETCD_ENDPOINTS / $MSEC_ETCD_PREFIX (SrpcClient.fromEnvironment()).
import conformance.Conformance.EchoReply;
import conformance.Conformance.EchoRequest;
import conformance.ConformanceServiceClient;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.ToNumberPolicy;
import io.github.msecgen.runtime.Balancer;
import io.github.msecgen.runtime.CallOptions;
import io.github.msecgen.runtime.Route;
import io.github.msecgen.runtime.RouteInstance;
import io.github.msecgen.runtime.SrpcClient;
import io.github.msecgen.runtime.SrpcException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

public final class Runner {
    private static final Gson JSON =
            new GsonBuilder().setObjectToNumberStrategy(ToNumberPolicy.LONG_OR_DOUBLE).serializeNulls().disableHtmlEscaping().create();

    private Runner() {}

    public static void main(String[] args) {
        try {
            run();
            System.out.flush();
            System.exit(0);
        } catch (Throwable e) {
            System.err.println("conformance runner (java): " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void run() throws Exception {
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String first = stdin.readLine();
        if (first == null) throw new IllegalStateException("no scenario on stdin");
        Map<String, Object> scenario = obj(obj(JSON.fromJson(first, Object.class)).get("scenario"));
        List<Object> steps = list(scenario.get("steps"));
        for (int i = 0; i < steps.size(); i++) {
            Map<String, Object> step = obj(steps.get(i));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("step", i);
            String op = str(step.get("op"));
            switch (op) {
                case "call" -> out.putAll(call(step));
                case "parallel" -> {
                    List<CompletableFuture<Map<String, Object>>> futures = new ArrayList<>();
                    for (Object c : list(step.get("calls"))) futures.add(callAsync(obj(c)));
                    List<Object> results = new ArrayList<>();
                    for (CompletableFuture<Map<String, Object>> f : futures) results.add(f.get());
                    out.put("results", results);
                }
                case "repeat" -> out.putAll(repeat(num(step.get("count")), num(step.get("concurrency")), obj(step.get("call"))));
                case "load" -> out.putAll(load(dbl(step.get("seconds")), num(step.get("concurrency")), obj(step.get("call"))));
                case "balancer" -> out.putAll(balancer(step));
                case "write_file" -> Files.writeString(Path.of(str(step.get("path"))), str(step.get("content")));
                case "sleep" -> Thread.sleep(num(step.get("ms")));
                case "notify" -> {
                    out.put("event", str(step.get("event")));
                    emit(out);
                    if (stdin.readLine() == null) throw new IllegalStateException("stdin closed while waiting for the ack of \"" + step.get("event") + "\"");
                    continue;
                }
                default -> throw new IllegalArgumentException("unknown op \"" + op + "\"");
            }
            emit(out);
        }
    }

    private static void emit(Map<String, Object> o) {
        System.out.println(JSON.toJson(o));
        System.out.flush();
    }

    private static EchoRequest request(Map<String, Object> c) {
        return EchoRequest.newBuilder().setText(str(c.get("text"))).setSleepMs(num(c.get("sleep_ms")))
            .setFailCode(num(c.get("fail_code"))).setFailMessage(str(c.get("fail_message"))).build();
    }

    private static CallOptions options(Map<String, Object> c) {
        return CallOptions.DEFAULT.withTimeoutMs(num(c.get("timeout_ms"))).withRetries(num(c.get("retries")));
    }

    private static Map<String, Object> observed(EchoReply r) {
        Map<String, Object> reply = new LinkedHashMap<>();
        reply.put("text", r.getText());
        reply.put("instance", r.getInstance());
        reply.put("peer", r.getPeer());
        reply.put("deadline_ms", Integer.toUnsignedLong(r.getDeadlineMs()));
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("code", 0);
        o.put("reply", reply);
        return o;
    }

    private static Map<String, Object> failed(Throwable t) {
        Throwable e = t;
        while (e instanceof ExecutionException || e instanceof java.util.concurrent.CompletionException) e = e.getCause();
        if (!(e instanceof SrpcException s)) throw new RuntimeException(e);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("code", s.code());
        o.put("message", s.getMessage());
        return o;
    }

    /** One call: the generated client, or the runtime's raw call when the step names another method. */
    private static Map<String, Object> call(Map<String, Object> c) {
        try {
            return callAsync(c).get();
        } catch (InterruptedException | ExecutionException e) {
            throw new RuntimeException(e);
        }
    }

    private static CompletableFuture<Map<String, Object>> callAsync(Map<String, Object> c) {
        String service = str(c.get("service"));
        CompletableFuture<EchoReply> f;
        if (c.get("method") != null) {
            f = SrpcClient.shared().callAsync(service, str(c.get("method")), request(c), EchoReply.parser(), options(c));
        } else {
            f = new ConformanceServiceClient(service).echoAsync(request(c), options(c));
        }
        return f.handle((r, err) -> err == null ? observed(r) : failed(err));
    }

    private static Map<String, Object> repeat(int count, int concurrency, Map<String, Object> c) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        AtomicInteger ok = new AtomicInteger();
        Map<String, Integer> codes = new TreeMap<>();
        Map<String, Integer> instances = new TreeMap<>();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < Math.min(concurrency, count); w++) {
            Thread t = new Thread(() -> {
                while (next.getAndIncrement() < count) {
                    Map<String, Object> r = call(c);
                    synchronized (codes) {
                        if (((Number) r.get("code")).intValue() == 0) {
                            ok.incrementAndGet();
                            instances.merge(str(obj(r.get("reply")).get("instance")), 1, Integer::sum);
                        } else {
                            codes.merge(String.valueOf(r.get("code")), 1, Integer::sum);
                        }
                    }
                }
            });
            t.start();
            workers.add(t);
        }
        for (Thread t : workers) t.join();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("ok", ok.get());
        o.put("codes", new LinkedHashMap<String, Object>(codes));
        o.put("instances", new LinkedHashMap<String, Object>(instances));
        return o;
    }

    /** Calls for {@code seconds} with {@code concurrency} in flight (async calls, re-issued as each completes). */
    private static Map<String, Object> load(double seconds, int concurrency, Map<String, Object> c) throws InterruptedException {
        long started = System.nanoTime();
        long end = started + (long) (seconds * 1e9);
        List<Double> latencies = new ArrayList<>();
        AtomicInteger errors = new AtomicInteger();
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(concurrency);
        for (int w = 0; w < concurrency; w++) loadNext(c, end, latencies, errors, done);
        done.await();
        double elapsed = (System.nanoTime() - started) / 1e9;
        List<Double> sorted;
        synchronized (latencies) {
            sorted = new ArrayList<>(latencies);
        }
        sorted.sort(null);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("calls", sorted.size());
        o.put("errors", errors.get());
        o.put("seconds", elapsed);
        o.put("p50_ms", at(sorted, 0.5));
        o.put("p99_ms", at(sorted, 0.99));
        return o;
    }

    private static void loadNext(Map<String, Object> c, long end, List<Double> latencies, AtomicInteger errors, java.util.concurrent.CountDownLatch done) {
        if (System.nanoTime() >= end) {
            done.countDown();
            return;
        }
        long t = System.nanoTime();
        callAsync(c).whenComplete((r, err) -> {
            synchronized (latencies) {
                latencies.add((System.nanoTime() - t) / 1e6);
            }
            if (err != null || ((Number) r.get("code")).intValue() != 0) errors.incrementAndGet();
            loadNext(c, end, latencies, errors, done);
        });
    }

    private static double at(List<Double> sorted, double q) {
        return sorted.isEmpty() ? 0 : sorted.get(Math.min(sorted.size() - 1, (int) Math.floor(q * sorted.size())));
    }

    /** The runtime's NLB balancer on a scripted clock: state created at 0 ms, each event reported at its time. */
    private static Map<String, Object> balancer(Map<String, Object> step) {
        long[] now = {0};
        Map<String, Object> opts = step.get("options") == null ? Map.of() : obj(step.get("options"));
        int shaping = opts.get("shapingRequestMin") == null ? Balancer.SHAPING_REQUEST_MIN : num(opts.get("shapingRequestMin"));
        Balancer b = new Balancer(() -> now[0], n -> 0, shaping);
        String service = str(step.get("service"));
        List<RouteInstance> instances = new ArrayList<>();
        for (Object o : list(step.get("instances"))) {
            Map<String, Object> i = obj(o);
            Route route = Route.parseLiteral(str(i.get("addr")));
            if (route == null) throw new IllegalArgumentException("balancer step: \"" + i.get("addr") + "\" is not ip:port");
            instances.add(new RouteInstance(route, num(i.get("weight"))));
        }
        b.pick(service, instances);
        for (Object o : list(step.get("events"))) {
            Map<String, Object> e = obj(o);
            now[0] = ((Number) e.get("at_ms")).longValue();
            b.update(service, str(e.get("addr")), num(e.get("failed")), ((Number) e.get("cost_ms")).longValue());
        }
        List<Object> weights = new ArrayList<>();
        for (Balancer.ServerWeight w : b.weights(service)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("addr", w.address());
            m.put("weight", w.dynamicWeight());
            m.put("dead", w.dead());
            weights.add(m);
        }
        return Map.of("weights", weights);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> obj(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalArgumentException("expected a JSON object, got " + o);
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        if (o instanceof List<?> l) return (List<Object>) l;
        throw new IllegalArgumentException("expected a JSON array, got " + o);
    }

    private static String str(Object o) {
        return o == null ? "" : String.valueOf(o);
    }

    private static int num(Object o) {
        return o == null ? 0 : ((Number) o).intValue();
    }

    private static double dbl(Object o) {
        return ((Number) o).doubleValue();
    }
}
