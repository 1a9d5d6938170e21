package io.github.msecgen.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The runtime's framing against the shared wire vectors of spec §13, read from the one
 * copy in msec-gen's {@code fixtures/vectors/} (the pom passes its path as the system
 * property {@code msec.vectors}): frames byte-identical to MSEC's, the same
 * completeness-check table, djb2 colour ids.
 */
class FrameVectorsTest {
    private static final HexFormat HEX = HexFormat.of();

    /** The vectors folder: {@code -Dmsec.vectors}, else {@code ../../fixtures/vectors} (this project's place in the msec-gen tree). */
    private static final Path VECTORS = Path.of(System.getProperty("msec.vectors", "../../fixtures/vectors"));

    @SuppressWarnings("unchecked")
    private static Map<String, Object> vector(String file) throws IOException {
        Path path = VECTORS.resolve(file);
        try {
            return (Map<String, Object>) Json.parse(Files.readString(path, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new IOException("missing wire vector " + path.toAbsolutePath() + " (run the tests inside the msec-gen tree)", e);
        }
    }

    @SuppressWarnings("unchecked")
    private static RpcHead headOf(Map<String, Object> json) {
        RpcHead head = new RpcHead();
        head.sequence = Long.parseUnsignedLong((String) json.get("sequence"));
        if (json.containsKey("coloring")) head.coloring = ((Long) json.get("coloring")).intValue();
        if (json.containsKey("color_id")) head.colorId = Long.parseUnsignedLong((String) json.get("color_id"));
        if (json.containsKey("flow_id")) head.flowId = Long.parseUnsignedLong((String) json.get("flow_id"));
        if (json.containsKey("err")) head.err = ((Long) json.get("err")).intValue();
        if (json.containsKey("result")) head.result = ((Long) json.get("result")).intValue();
        if (json.containsKey("err_msg")) head.errMsg = (String) json.get("err_msg");
        if (json.containsKey("caller")) head.caller = (String) json.get("caller");
        head.methodName = (String) json.get("method_name");
        if (json.containsKey("caller_stack")) head.callerStack.addAll((List<String>) json.get("caller_stack"));
        return head;
    }

    private static void assertSameHead(RpcHead want, RpcHead got) {
        assertEquals(want.sequence, got.sequence, "sequence");
        assertEquals(want.coloring, got.coloring, "coloring");
        assertEquals(want.colorId, got.colorId, "color_id");
        assertEquals(want.flowId, got.flowId, "flow_id");
        assertEquals(want.err, got.err, "err");
        assertEquals(want.result, got.result, "result");
        assertEquals(want.errMsg, got.errMsg, "err_msg");
        assertEquals(want.caller, got.caller, "caller");
        assertEquals(want.methodName, got.methodName, "method_name");
        assertEquals(want.callerStack, got.callerStack, "caller_stack");
    }

    /** Encodes the vector's head (and frame, when given) byte for byte, and decodes the frame back to the same head and body. */
    @SuppressWarnings("unchecked")
    private static void assertRequestVector(String file) throws IOException {
        Map<String, Object> v = vector(file);
        RpcHead head = headOf((Map<String, Object>) v.get("head"));
        byte[] headBytes = head.encode();
        assertEquals(v.get("head_hex"), HEX.formatHex(headBytes), file + " head");
        byte[] body = HEX.parseHex((String) v.getOrDefault("body_hex", ""));
        byte[] frame = Frame.encode(headBytes, body);
        if (v.containsKey("frame_hex")) {
            assertEquals(v.get("frame_hex"), HEX.formatHex(frame), file + " frame");
            assertEquals((long) (Long) v.get("frame_length"), frame.length, file + " frame length");
        }
        assertEquals((long) frame.length, Frame.check(frame, frame.length), file + " check");
        Frame.Decoded decoded = Frame.decode(frame);
        assertSameHead(head, decoded.head());
        assertArrayEquals(body, decoded.body());
    }

    @Test
    void v1PythonClientRequestIsByteIdentical() throws IOException {
        assertRequestVector("v1-python-client-request.json");
        Map<String, Object> v = vector("v1-python-client-request.json");
        RpcHead head = new RpcHead();
        head.sequence = 12345;
        head.coloring = 0;
        head.colorId = ColorId.of("echo.EchoService.Echo");
        head.flowId = ColorId.defaultFlowId("echo.EchoService.Echo", 12345);
        head.caller = "python.client";
        head.methodName = "echo.EchoService.Echo";
        assertEquals(v.get("head_hex"), HEX.formatHex(head.encode()), "head built from the MSEC rules");
    }

    @Test
    void v2MinimalRequestHasSequenceAndMethodOnly() throws IOException {
        assertRequestVector("v2-minimal-request.json");
    }

    @Test
    @SuppressWarnings("unchecked")
    void v3UnknownMethodResponseCarriesErrMinus6() throws IOException {
        assertRequestVector("v3-unknown-method-response.json");
        Map<String, Object> v = vector("v3-unknown-method-response.json");
        Frame.Decoded decoded = Frame.decode(HEX.parseHex((String) v.get("frame_hex")));
        assertEquals(SrpcCode.INVALID_METHOD_NAME, decoded.head().err);
        assertEquals(0, decoded.body().length);
        assertEquals("invalid method name", SrpcCode.text(decoded.head().err));
    }

    @Test
    @SuppressWarnings("unchecked")
    void v4JavaClientAndServerHeads() throws IOException {
        assertRequestVector("v4-java-client-request.json");
        Map<String, Object> server = (Map<String, Object>) vector("v4-java-client-request.json").get("java_server_response");
        RpcHead head = headOf((Map<String, Object>) server.get("head"));
        assertEquals(server.get("head_hex"), HEX.formatHex(head.encode()));
    }

    @Test
    void v5CsrpcProxyRequestKeepsTheEmptyCaller() throws IOException {
        assertRequestVector("v5-csrpcproxy-request.json");
    }

    @Test
    @SuppressWarnings("unchecked")
    void v6CheckTableAndExactUnpack() throws IOException {
        Map<String, Object> v = vector("v6-check-pkg.json");
        for (Object o : (List<Object>) v.get("check")) {
            Map<String, Object> c = (Map<String, Object>) o;
            byte[] input = HEX.parseHex((String) c.get("input_hex"));
            assertEquals((long) (Long) c.get("check"), Frame.check(input, input.length), (String) c.get("name"));
        }
        for (Object o : (List<Object>) v.get("unpack")) {
            Map<String, Object> c = (Map<String, Object>) o;
            byte[] input = HEX.parseHex((String) c.get("input_hex"));
            long want = (Long) c.get("unpack");
            if (want == 0) {
                Frame.decode(input);
            } else {
                SrpcException e = assertThrows(SrpcException.class, () -> Frame.decode(input), (String) c.get("name"));
                assertEquals(want, e.code(), (String) c.get("name"));
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void v7Djb2ColourIdsAndDefaultFlowIds() throws IOException {
        Map<String, Object> v = vector("v7-color-ids.json");
        for (Object o : (List<Object>) v.get("ids")) {
            Map<String, Object> c = (Map<String, Object>) o;
            String name = (String) c.get("name");
            assertEquals(c.get("name_utf8_hex"), HEX.formatHex(name.getBytes(StandardCharsets.UTF_8)), name);
            assertEquals((long) (Long) c.get("djb2"), ColorId.of(name), name);
        }
        for (Object o : (List<Object>) v.get("flow_ids")) {
            Map<String, Object> c = (Map<String, Object>) o;
            long seq = Long.parseUnsignedLong((String) c.get("sequence"));
            assertEquals(c.get("flow_id"), Long.toUnsignedString(ColorId.defaultFlowId((String) c.get("method"), seq)));
        }
    }

    @Test
    void negativeErrIsWrittenAsATenByteVarint() {
        RpcHead head = new RpcHead();
        head.sequence = 1;
        head.err = -6;
        head.methodName = "";
        assertEquals("5001c002faffffffffffffffff019a0300", HEX.formatHex(head.encode()));
        assertEquals(-6, RpcHead.decode(head.encode(), 0, head.encode().length).err);
    }

    @Test
    void literalAddressesParseAsInTheTypeScriptRuntime() {
        assertEquals(new Route("127.0.0.1", 7963, Route.Transport.TCP), Route.parseLiteral("127.0.0.1:7963"));
        assertEquals(new Route("127.0.0.1", 7963, Route.Transport.UDP), Route.parseLiteral("127.0.0.1:7963@udp"));
        assertEquals(new Route("127.0.0.1", 7963, Route.Transport.TCP), Route.parseLiteral("127.0.0.1:7963@xyz"));
        assertEquals(new Route("::1", 80, Route.Transport.TCP), Route.parseLiteral("[::1]:80"));
        assertEquals("[::1]:80", Route.parseLiteral("[::1]:80@tcp").address());
        assertNull(Route.parseLiteral("VOA.Crawl"));
        assertNull(Route.parseLiteral("1.2.3.4:0"));
        assertNull(Route.parseLiteral("1.2.3.4:65536"));
        assertNull(Route.parseLiteral(":80"));
    }

    @Test
    void routesFileLinesParseWithWeightsAndComments() {
        Map<String, List<RouteInstance>> routes = RoutesFile.parse(
            "# comment\nVOA.Crawl 10.0.0.1:7963\nVOA.Crawl 10.0.0.2:7963 weight=200 # trailing\n\nVOA.Jsoup 10.0.0.3:9000@udp\n", "r.conf");
        assertEquals(List.of(
            new RouteInstance(new Route("10.0.0.1", 7963, Route.Transport.TCP), 100),
            new RouteInstance(new Route("10.0.0.2", 7963, Route.Transport.TCP), 200)), routes.get("VOA.Crawl"));
        assertEquals(List.of(new RouteInstance(new Route("10.0.0.3", 9000, Route.Transport.UDP), 100)), routes.get("VOA.Jsoup"));
        RoutesFile.FormatException e = assertThrows(RoutesFile.FormatException.class,
            () -> RoutesFile.parse("VOA.Crawl 10.0.0.1:7963\nVOA.Crawl 10.0.0.1:7963@xyz\n", "r.conf"));
        assertEquals("r.conf:2: invalid address \"10.0.0.1:7963@xyz\" (expected ip:port, ip:port@tcp or ip:port@udp)", e.getMessage());
        e = assertThrows(RoutesFile.FormatException.class, () -> RoutesFile.parse("Crawl 10.0.0.1:7963\n", "r.conf"));
        assertEquals("r.conf:1: service name \"Crawl\" is not of the form Group.Service", e.getMessage());
        e = assertThrows(RoutesFile.FormatException.class, () -> RoutesFile.parse("VOA.Crawl 10.0.0.1:7963 weight=0\n", "r.conf"));
        assertEquals("r.conf:1: expected weight=N with N > 0, got \"weight=0\"", e.getMessage());
    }

    @Test
    void configValuesFollowMsecGetConfig(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws IOException {
        java.nio.file.Path ini = dir.resolve("config.ini");
        java.nio.file.Files.writeString(ini, "# c\n[SRPC]\nFile=wrong\n[ROUTE]\n; c\n File = etc/a.conf \nFile=etc/b.conf\nEmpty=\n");
        assertEquals("etc/b.conf", RoutesFile.configValue(ini, "ROUTE", "File"));
        assertNull(RoutesFile.configValue(ini, "ROUTE", "Empty"));
        assertNull(RoutesFile.configValue(ini, "ROUTE", "Missing"));
        assertNull(RoutesFile.configValue(dir.resolve("missing.ini"), "ROUTE", "File"));
    }

    @Test
    void errorTextsAreMsecs() {
        assertEquals("recevice timeout", SrpcCode.text(-12));
        assertEquals("unkown error", SrpcCode.text(-1000));
        assertEquals("timeout: no reply", new SrpcException(-10, "no reply").getMessage());
        assertEquals("invalid method name", new SrpcException(-6, null).getMessage());
    }
}
