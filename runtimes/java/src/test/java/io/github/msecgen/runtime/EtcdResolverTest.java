package io.github.msecgen.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The etcd resolver against a real etcd (the {@code etcd} binary, Debian's 3.4 in CI, started on
 * loopback with its own data folder; {@code scripts/setup.sh} installs it). A machine without
 * {@code etcd} on PATH fails these tests rather than skipping them.
 */
class EtcdResolverTest {
    private Process etcd;
    private final List<AutoCloseable> cleanup = new java.util.ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : cleanup) c.close();
        if (etcd != null) {
            etcd.destroyForcibly().waitFor();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts etcd on free loopback ports; returns its client URL once {@code /health} answers. */
    private String startEtcd(Path dir, int clientPort) throws Exception {
        int peerPort = freePort();
        String client = "http://127.0.0.1:" + clientPort;
        String peer = "http://127.0.0.1:" + peerPort;
        etcd = new ProcessBuilder("etcd", "--name", "j", "--data-dir", dir.resolve("etcd-data").toString(),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "j=" + peer, "--log-level", "error", "--logger", "zap")
            .redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile()).start();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        long until = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < until) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(client + "/health")).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains("true")) return client;
            } catch (IOException notYet) {
                // starting
            }
            Thread.sleep(100);
        }
        throw new AssertionError("etcd did not become healthy: " + Files.readString(dir.resolve("etcd.log")));
    }

    private static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long until = System.currentTimeMillis() + 5000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > until) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    private static String value(int port, int weight) {
        return "{\"ip\":\"127.0.0.1\",\"port\":" + port + ",\"protocol\":\"tcp\",\"weight\":" + weight + "}";
    }

    @Test
    void readsThePrefixFollowsTheWatchSkipsBadValuesAndServesFromCacheWhileEtcdIsDown(@TempDir Path dir) throws Exception {
        String url = startEtcd(dir, freePort());
        EtcdGateway gw = new EtcdGateway(List.of(url));
        gw.put("/jt/services/A.Echo/127.0.0.1:7001", value(7001, 100));
        gw.put("/jt/services/A.Echo/127.0.0.1:7002", value(7002, 50));
        gw.put("/jt/services/A.Bad/127.0.0.1:7003", "{\"ip\":\"127.0.0.1\",\"port\":0}");
        gw.put("/other/services/A.Echo/127.0.0.1:7009", value(7009, 100));

        EtcdResolver resolver = new EtcdResolver(List.of(url), "/jt");
        cleanup.add(resolver);
        assertEquals(List.of(
            new RouteInstance(new Route("127.0.0.1", 7001, Route.Transport.TCP), 100),
            new RouteInstance(new Route("127.0.0.1", 7002, Route.Transport.TCP), 50)), resolver.resolve("A.Echo"));
        assertEquals(List.of(), resolver.resolve("A.Bad"), "a malformed value is skipped");
        waitFor("the watch", resolver::connected);
        assertNull(resolver.lastError());

        // Scale out and in through the watch.
        long t0 = System.nanoTime();
        gw.put("/jt/services/A.Echo/127.0.0.1:7004", "{\"ip\":\"127.0.0.1\",\"port\":7004,\"protocol\":\"udp\"}");
        waitFor("scale-out", () -> resolver.addresses("A.Echo").size() == 3);
        // Milliseconds on an idle machine; 2 s leaves room for a loaded CI host.
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 2000, "a change reaches the cache in < 2 s");
        assertEquals(new RouteInstance(new Route("127.0.0.1", 7004, Route.Transport.UDP), 100), resolver.resolve("A.Echo").get(2));
        gw.delete("/jt/services/A.Echo/127.0.0.1:7001");
        waitFor("scale-in", () -> resolver.addresses("A.Echo").equals(List.of("127.0.0.1:7002", "127.0.0.1:7004")));
        assertEquals(Map.of("A.Echo", resolver.resolve("A.Echo")), resolver.snapshot());

        // etcd down: the cached routes keep serving; an unknown name fails -15 saying why.
        etcd.destroyForcibly().waitFor();
        waitFor("the watch to break", () -> !resolver.connected());
        assertEquals(List.of("127.0.0.1:7002", "127.0.0.1:7004"), resolver.addresses("A.Echo"));
        Path routes = dir.resolve("routes.conf");
        try (SrpcClient client = new SrpcClient(List.of(resolver, new RoutesFile(routes)), new Balancer(), 1)) {
            assertEquals("127.0.0.1", client.resolve("A.Echo").ip());
            SrpcException e = assertThrows(SrpcException.class, () -> client.resolve("A.Cold"));
            assertEquals(SrpcCode.GET_ROUTE_FAILED, e.code());
            waitFor("the reconnect attempt to fail", () -> resolver.lastError() != null && resolver.lastError().startsWith("etcd unreachable"));
            e = assertThrows(SrpcException.class, () -> client.resolve("A.Cold"));
            assertEquals("get route failed: no route for A.Cold (looked in: etcd " + url + " prefix /jt (unreachable: etcd unreachable ("
                + url + ": connection refused); serving cached routes), routes file " + routes + " (missing))", e.getMessage());
        }
    }

    @Test
    void aColdResolverWithEtcdDownSaysNoRoutesCachedAndSettingsComeFromEnvThenConfig(@TempDir Path dir) throws Exception {
        String url = "http://127.0.0.1:" + freePort();
        EtcdResolver resolver = new EtcdResolver(List.of(url), "/msec");
        cleanup.add(resolver);
        assertEquals(List.of(), resolver.resolve("A.Echo"));
        assertEquals("etcd " + url + " prefix /msec (unreachable: etcd unreachable (" + url + ": connection refused); no routes cached)", resolver.describe());

        Path ini = dir.resolve("config.ini");
        Files.writeString(ini, "[ROUTE]\netcd=http://10.0.0.1:2379/, http://10.0.0.2:2379\netcd_prefix=/p1\n");
        assertEquals(new EtcdSettings(List.of("http://10.0.0.1:2379", "http://10.0.0.2:2379"), "/p1"), EtcdSettings.from(Map.of(), ini));
        assertEquals(new EtcdSettings(List.of("http://h:1"), "/p2"),
            EtcdSettings.from(Map.of("MSEC_ETCD_ENDPOINTS", "http://h:1", "MSEC_ETCD_PREFIX", "/p2"), ini), "the environment wins");
        assertEquals(new EtcdSettings(List.of("http://h:1"), "/p1"), EtcdSettings.from(Map.of("MSEC_ETCD_ENDPOINTS", "http://h:1"), ini));
        assertNull(EtcdSettings.from(Map.of(), dir.resolve("missing.ini")));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> EtcdSettings.from(Map.of("MSEC_ETCD_ENDPOINTS", "10.0.0.1:2379"), ini));
        assertEquals("$MSEC_ETCD_ENDPOINTS: invalid etcd endpoint \"10.0.0.1:2379\" (expected http://host:port)", bad.getMessage());
        Files.writeString(ini, "[ROUTE]\netcd=ftp://x\n");
        bad = assertThrows(IllegalArgumentException.class, () -> EtcdSettings.from(Map.of(), ini));
        assertEquals(ini + " [ROUTE] etcd: invalid etcd endpoint \"ftp://x\" (expected http://host:port)", bad.getMessage());
    }

    @Test
    void aResolverStartedBeforeEtcdPicksUpRoutesOnceItIsUp(@TempDir Path dir) throws Exception {
        int port = freePort();
        String url = "http://127.0.0.1:" + port;
        EtcdResolver resolver = new EtcdResolver(List.of(url), "/late");
        cleanup.add(resolver);
        assertEquals(List.of(), resolver.resolve("B.Echo"));
        startEtcd(dir, port);
        new EtcdGateway(List.of(url)).put("/late/services/B.Echo/127.0.0.1:7100", value(7100, 100));
        waitFor("the first read after etcd came up", () -> resolver.addresses("B.Echo").equals(List.of("127.0.0.1:7100")));
    }
}
