package io.github.msecgen.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Name resolution: literal addresses, the routes file, its reloading and the errors a call sees (-15). */
class RoutingTest {
    @Test
    void literalAddressesAreRoutesThemselves(@TempDir Path dir) {
        try (SrpcClient client = new SrpcClient(new RoutesFile(dir.resolve("none.conf")))) {
            assertEquals(new Route("10.0.0.1", 7963, Route.Transport.UDP), client.resolve("10.0.0.1:7963@udp"));
            assertEquals(new Route("10.0.0.1", 7963, Route.Transport.TCP), client.resolve("10.0.0.1:7963"));
        }
    }

    @Test
    void routingNamesResolveThroughTheFileAndMissingNamesFailWithMinus15(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("routes.conf");
        Files.writeString(file, "VOA.Crawl 10.0.0.1:7963 weight=5\n");
        try (SrpcClient client = new SrpcClient(new RoutesFile(file))) {
            assertEquals(new Route("10.0.0.1", 7963, Route.Transport.TCP), client.resolve("VOA.Crawl"));
            SrpcException e = assertThrows(SrpcException.class, () -> client.resolve("VOA.Nowhere"));
            assertEquals(SrpcCode.GET_ROUTE_FAILED, e.code());
            assertEquals("get route failed: no route for VOA.Nowhere (looked in: routes file " + file + ")", e.getMessage());
            assertEquals(false, e.requestSent());
        }
    }

    @Test
    void aMissingFileResolvesNothing(@TempDir Path dir) {
        RoutesFile routes = new RoutesFile(dir.resolve("missing.conf"));
        assertEquals(List.of(), routes.resolve("VOA.Crawl"));
    }

    @Test
    void aMalformedFileFailsEveryLookupWithItsLineAndIsReReadWhenChanged(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("routes.conf");
        Files.writeString(file, "# routes\nVOA.Crawl 10.0.0.1\n");
        RoutesFile routes = new RoutesFile(file);
        try (SrpcClient client = new SrpcClient(routes)) {
            SrpcException e = assertThrows(SrpcException.class, () -> client.resolve("VOA.Crawl"));
            assertEquals(SrpcCode.GET_ROUTE_FAILED, e.code());
            assertEquals("get route failed: " + file + ":2: invalid address \"10.0.0.1\" (expected ip:port, ip:port@tcp or ip:port@udp)", e.getMessage());

            Files.writeString(file, "# routes, fixed\nVOA.Crawl 10.0.0.2:7963@udp\n");
            Thread.sleep(RoutesFile.RECHECK_MS + 100); // the file is looked at again after the recheck interval
            assertEquals(List.of(new RouteInstance(new Route("10.0.0.2", 7963, Route.Transport.UDP), 100)), routes.resolve("VOA.Crawl"));
            assertTrue(client.resolve("VOA.Crawl").transport() == Route.Transport.UDP);
        }
    }
}
