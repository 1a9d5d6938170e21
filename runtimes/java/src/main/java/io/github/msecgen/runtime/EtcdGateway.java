package io.github.msecgen.runtime;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The few etcd v3 calls routing needs, over etcd's JSON gateway ({@code POST /v3/...},
 * base64 keys and values) with {@link java.net.http.HttpClient}: prefix range, put,
 * delete and a prefix watch (a streaming POST answering one JSON object per line).
 * The same requests as the TypeScript runtime's {@code etcd/gateway.ts}.
 *
 * <p>Requests go to the endpoint that last answered and move to the next one on a
 * network error, so a cluster with one member down keeps working; an answer from
 * etcd (even an error) is final. Each unary request has {@value #REQUEST_TIMEOUT_MS} ms.
 */
final class EtcdGateway {
    /** Budget of one unary request to one endpoint. */
    static final long REQUEST_TIMEOUT_MS = 2000;

    /** A network failure on every endpoint. */
    static final class UnreachableException extends IOException {
        private static final long serialVersionUID = 1L;

        UnreachableException(List<String> causes) {
            super("etcd unreachable (" + String.join("; ", causes) + ")");
        }
    }

    /** One key-value pair, decoded. */
    record KeyValue(String key, String value) {}

    /** One change a watch saw. */
    record Event(boolean delete, String key, String value) {}

    private final List<String> endpoints;
    private final HttpClient http;
    private volatile int current;

    EtcdGateway(List<String> endpoints) {
        if (endpoints.isEmpty()) throw new IllegalArgumentException("no etcd endpoints given");
        this.endpoints = List.copyOf(endpoints);
        this.http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(REQUEST_TIMEOUT_MS))
            .build();
    }

    List<String> endpoints() {
        return endpoints;
    }

    /** Every key starting with {@code prefix}, and the store revision the answer reflects. */
    Range getPrefix(String prefix) throws IOException {
        Map<String, Object> reply = request("/v3/kv/range",
            "{\"key\":" + Json.quote(b64(prefix)) + ",\"range_end\":" + Json.quote(prefixRangeEnd(prefix)) + "}");
        List<KeyValue> kvs = new ArrayList<>();
        if (reply.get("kvs") instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> kv) kvs.add(new KeyValue(unb64(kv.get("key")), unb64(kv.get("value"))));
            }
        }
        return new Range(revisionOf(reply), kvs);
    }

    /** The answer of {@link #getPrefix}. */
    record Range(long revision, List<KeyValue> kvs) {}

    /** Writes {@code key}. */
    void put(String key, String value) throws IOException {
        request("/v3/kv/put", "{\"key\":" + Json.quote(b64(key)) + ",\"value\":" + Json.quote(b64(value)) + "}");
    }

    /** Deletes {@code key}. */
    void delete(String key) throws IOException {
        request("/v3/kv/deleterange", "{\"key\":" + Json.quote(b64(key)) + "}");
    }

    /**
     * Watches every key starting with {@code prefix} from {@code fromRevision}, calling
     * {@code onEvents} for each batch, until the stream ends. Returns normally only when
     * {@code stream} was closed by {@code onOpen}'s receiver (see {@link EtcdResolver#close});
     * throws when the stream breaks or etcd cancels the watch. {@code onOpen} gets the
     * response stream (closing it stops the watch); {@code onCreated} runs once etcd
     * confirmed the watch.
     */
    void watchPrefix(String prefix, long fromRevision, Consumer<List<Event>> onEvents, Consumer<InputStream> onOpen, Runnable onCreated)
        throws IOException {
        String body = "{\"create_request\":{\"key\":" + Json.quote(b64(prefix)) + ",\"range_end\":" + Json.quote(prefixRangeEnd(prefix))
            + ",\"start_revision\":\"" + fromRevision + "\"}}";
        List<String> causes = new ArrayList<>();
        for (int tried = 0; tried < endpoints.size(); tried++) {
            int at = (current + tried) % endpoints.size();
            String endpoint = endpoints.get(at);
            HttpResponse<InputStream> res;
            try {
                HttpRequest req = HttpRequest.newBuilder(URI.create(endpoint + "/v3/watch"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                res = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            } catch (IOException e) {
                causes.add(endpoint + ": " + describe(e));
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            current = at;
            try (InputStream stream = res.body()) {
                if (res.statusCode() != 200) {
                    throw new IOException("etcd answered " + res.statusCode() + ": " + new String(stream.readAllBytes(), StandardCharsets.UTF_8));
                }
                onOpen.accept(stream);
                BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8));
                for (String line; (line = lines.readLine()) != null; ) {
                    line = line.strip();
                    if (line.isEmpty()) continue;
                    Map<String, Object> msg = object(Json.parse(line));
                    if (msg.get("error") instanceof Map<?, ?> err) throw new IOException("etcd watch failed: " + err.get("message"));
                    if (!(msg.get("result") instanceof Map<?, ?> result)) continue;
                    if (Boolean.TRUE.equals(result.get("canceled"))) {
                        throw new IOException("etcd canceled the watch: " + result.get("cancel_reason"));
                    }
                    if (Boolean.TRUE.equals(result.get("created"))) onCreated.run();
                    if (result.get("events") instanceof List<?> events && !events.isEmpty()) {
                        List<Event> batch = new ArrayList<>();
                        for (Object o : events) {
                            if (!(o instanceof Map<?, ?> e)) continue;
                            Map<?, ?> kv = e.get("kv") instanceof Map<?, ?> m ? m : Map.of();
                            batch.add(new Event("DELETE".equals(e.get("type")), unb64(kv.get("key")), unb64(kv.get("value"))));
                        }
                        onEvents.accept(batch);
                    }
                }
            }
            throw new IOException("etcd closed the watch stream");
        }
        throw new UnreachableException(causes);
    }

    private Map<String, Object> request(String path, String body) throws IOException {
        List<String> causes = new ArrayList<>();
        for (int tried = 0; tried < endpoints.size(); tried++) {
            int at = (current + tried) % endpoints.size();
            String endpoint = endpoints.get(at);
            HttpResponse<String> res;
            try {
                HttpRequest req = HttpRequest.newBuilder(URI.create(endpoint + path))
                    .timeout(Duration.ofMillis(REQUEST_TIMEOUT_MS))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                res = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                causes.add(endpoint + ": " + describe(e));
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            current = at;
            if (res.statusCode() != 200) throw new IOException("etcd answered " + res.statusCode() + ": " + res.body());
            try {
                return object(Json.parse(res.body()));
            } catch (IllegalArgumentException e) {
                throw new IOException("etcd answered malformed JSON: " + e.getMessage(), e);
            }
        }
        throw new UnreachableException(causes);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Object parsed) throws IOException {
        if (parsed instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IOException("etcd answered JSON that is not an object");
    }

    private static long revisionOf(Map<String, Object> reply) {
        if (reply.get("header") instanceof Map<?, ?> header && header.get("revision") != null) {
            return Long.parseLong(String.valueOf(header.get("revision")));
        }
        return 0;
    }

    /** A short reason for a network failure: {@code connection refused}, {@code no answer within 2000 ms}, … */
    static String describe(IOException e) {
        if (e instanceof HttpTimeoutException) return "no answer within " + REQUEST_TIMEOUT_MS + " ms";
        Throwable t = e;
        while (t != null) {
            if (t instanceof ConnectException) return "connection refused";
            t = t.getCause();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    static String b64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String unb64(Object text) {
        return text == null ? "" : new String(Base64.getDecoder().decode(String.valueOf(text)), StandardCharsets.UTF_8);
    }

    /** The end of the range of every key starting with {@code prefix} (etcd's {@code range_end}), base64. */
    static String prefixRangeEnd(String prefix) {
        byte[] bytes = prefix.getBytes(StandardCharsets.UTF_8);
        for (int i = bytes.length - 1; i >= 0; i--) {
            if ((bytes[i] & 0xFF) < 0xFF) {
                byte[] end = java.util.Arrays.copyOf(bytes, i + 1);
                end[i]++;
                return Base64.getEncoder().encodeToString(end);
            }
        }
        return Base64.getEncoder().encodeToString(new byte[] {0});
    }
}
