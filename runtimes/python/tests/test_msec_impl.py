"""MSEC's Python API contracts (spec §5.5, vectors V1, V6, V13) and the deliberate deviations."""
import asyncio
import json
import socket
import threading
import time

import pytest
from google.protobuf import descriptor_pb2

import echo_pb2
from conftest import free_port, vector
from methods import METHODS
from msec import default_monitor
from msec.msec_impl import (
    CallMethod,
    attr_report,
    attr_set,
    call_method_async,
    callmethod_tcp,
    get_config,
    getroute,
    log_set_option,
    srpc_check_pkg,
    srpc_deserialize,
    srpc_sendrcv,
    srpc_serialize,
    updateroute,
)
from msec.tcp import callmethod_tcp_async, encode_length_prefixed_json, length_prefixed_json_complete
from msec import RpcHead, encode_frame, encode_head


@pytest.fixture
def routes(tmp_path, monkeypatch):
    """Points MSEC_ROUTES at a fresh routes file; returns a writer."""
    path = tmp_path / "routes.conf"
    path.write_text("")
    monkeypatch.setenv("MSEC_ROUTES", str(path))

    def write(text: str) -> None:
        path.write_text(text)
        import os

        os.utime(path, (time.time() + 5, time.time() + 5))
        from msec import default_router
        from msec.route import RoutesFileResolver

        for r in default_router.resolvers:
            if isinstance(r, RoutesFileResolver):
                r._checked_at = -10.0  # skip the 1 s re-check delay

    return write


def test_srpc_serialize_is_byte_identical_to_v1():
    v1 = vector("v1-python-client-request.json")
    assert srpc_serialize("echo.EchoService.Echo", bytes.fromhex(v1["body_hex"]), 12345).hex() == v1["frame_hex"]
    assert srpc_serialize("echo.EchoService.Echo", object(), 1) is None


@pytest.mark.parametrize("case", vector("v6-check-pkg.json")["check"], ids=lambda c: c["name"])
def test_srpc_check_pkg_maps_negatives_to_minus_1(case):
    assert srpc_check_pkg(bytes.fromhex(case["input_hex"])) == case["python_check"]


def test_srpc_deserialize_shapes():
    v1 = bytes.fromhex(vector("v1-python-client-request.json")["frame_hex"])
    assert srpc_deserialize(v1) == {"body": b"\n\x05hello", "seq": 12345, "errmsg": "success"}
    v3 = bytes.fromhex(vector("v3-unknown-method-response.json")["frame_hex"])
    assert srpc_deserialize(v3) == {"body": b"", "seq": 1, "errmsg": "invalid method name"}
    assert srpc_deserialize(v1[:-1]) == {"errmsg": "invalid package"}
    assert srpc_deserialize(v1 + b"\x00") == {"errmsg": "invalid package"}
    assert srpc_deserialize(bytes.fromhex("280000000200000000500129")) == {"errmsg": "invalid package header"}
    assert srpc_deserialize("not bytes") == {"errmsg": "Invalid parameter"}
    big = encode_frame(encode_head(RpcHead(sequence=3000000000, method_name=b"a.b.c")))
    assert srpc_deserialize(big)["seq"] == 3000000000 - 2**32  # truncated to a C int, as the original


def test_getroute_follows_v13(routes):
    assert getroute("1.2.3.4:80@udp") == {"ip": "1.2.3.4", "port": 80, "type": "udp"}
    assert getroute("1.2.3.4:80@xyz") == {"ip": "1.2.3.4", "port": 80, "type": "tcp"}
    assert getroute("1.2.3.4:80") is None  # no '@': a routing name, and no such service
    routes("Database.mysql 10.1.1.1:3306\n")
    assert getroute("Database.mysql") == {"ip": "10.1.1.1", "port": 3306, "type": "tcp"}
    assert getroute("Database.none") is None


def test_updateroute_works_and_feeds_the_balancer(routes):
    from msec import default_router

    routes("Database.mysql 10.1.1.1:3306\nDatabase.mysql 10.1.1.2:3306\n")
    assert updateroute("10.1.1.1:3306", "10.1.1.1", 1, 0) == 0  # literal: no-op
    assert updateroute("Database.mysql", "10.1.1.1", 0, 12) == 0
    assert updateroute("Database.mysql", "10.1.1.1", 2, 0) == 0
    assert updateroute("Database.mysql", "10.9.9.9", 0, 1) == -9
    assert updateroute("Database.nope", "10.1.1.1", 0, 1) == -4
    server = [s for s in default_router.balancer._services["Database.mysql"].servers if s.address.ip == "10.1.1.1"][0]
    assert (server.success, server.failed, server.cost_ms) == (1, 2, 12)


def test_callmethod_success_and_monitor(serve, routes):
    from echo_server import METHODS as ECHO

    s = serve(ECHO)
    routes(f"VOA_py.Echo {s.address}\n")
    default_monitor.clear()
    request = echo_pb2.EchoRequest(message=b"hi")
    result = CallMethod("VOA_py.Echo", "echo.EchoService.Echo", request, 1000)
    assert result == {"ret": 0, "response": echo_pb2.EchoResponse(message=b"hi").SerializeToString()}
    assert CallMethod(s.address, "echo.EchoService.Echo", b"", 1000) == {"ret": 0, "response": b""}
    counters = default_monitor.counters()
    assert counters["frm.rpc call [VOA_py.Echo]"] == 1
    assert counters["frm.rpc call [VOA_py.Echo] success"] == 1


def test_callmethod_failures_carry_the_real_code(serve, routes, raw_server):
    s = serve(METHODS)
    down = f"127.0.0.1:{free_port()}"
    default_monitor.clear()
    assert CallMethod(s.address, "t.S.Nope", b"", 1000) == {"ret": -6, "errmsg": "invalid method name"}
    assert CallMethod(s.address, "t.S.Fail", b"", 1000) == {"ret": -77, "errmsg": "business says no"}  # the server's err_msg
    assert CallMethod(s.address, "t.S.Crash", b"", 1000) == {"ret": -18, "errmsg": "service implement failed"}
    assert CallMethod(down, "t.S.Echo", b"", 1000) == {"ret": -13, "errmsg": "sendrecv failed"}
    assert CallMethod("No.where", "t.S.Echo", b"", 1000) == {"ret": -15, "errmsg": "get route failed"}
    assert CallMethod(s.address, "t.S.Slow", b"800", 100) == {"ret": -10, "errmsg": "timeout"}
    missing_required = descriptor_pb2.UninterpretedOption.NamePart()
    assert CallMethod(s.address, "t.S.Echo", missing_required, 1000) == {"ret": -3, "errmsg": "serialize failed"}

    def wrong_sequence(conn):
        from conftest import read_frame
        from msec import decode_frame

        head, _ = decode_frame(read_frame(conn))
        conn.sendall(encode_frame(encode_head(head.with_fields(sequence=head.sequence ^ 1))))

    peer = raw_server(wrong_sequence)
    assert CallMethod(f"127.0.0.1:{peer.port}", "a.b.c", b"", 1000) == {"ret": -16, "errmsg": "invalid sequence"}
    counters = default_monitor.counters()
    assert counters[f"frm.rpc call [{down}] failed: sendrecv failed"] == 1
    assert counters["frm.rpc call [No.where] failed: get route failed"] == 1


def test_call_method_async_has_the_same_shapes(serve):
    s = serve(METHODS)

    async def main():
        ok = await call_method_async(s.address, "t.S.Echo", b"abc", 1000)
        bad = await call_method_async(s.address, "t.S.Nope", b"", 1000)
        many = await asyncio.gather(*(call_method_async(s.address, "t.S.Echo", str(i).encode(), 1000) for i in range(20)))
        return ok, bad, many

    ok, bad, many = asyncio.run(main())
    assert ok == {"ret": 0, "response": b"abc"}
    assert bad == {"ret": -6, "errmsg": "invalid method name"}
    assert [m["response"] for m in many] == [str(i).encode() for i in range(20)]


def test_srpc_sendrcv_exchanges_raw_frames(serve):
    from echo_server import METHODS as ECHO

    s = serve(ECHO)
    v1 = bytes.fromhex(vector("v1-python-client-request.json")["frame_hex"])
    assert srpc_sendrcv(s.address, v1, 1000) == v1
    assert srpc_sendrcv(f"127.0.0.1:{free_port()}", v1, 1000) is None


class Jsoup:
    """The seed's heterogeneous service: 10-char length-prefixed JSON over TCP."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self._answer(conn)
                except OSError:
                    pass  # the client gave up early (callback tests)

    def _answer(self, conn: socket.socket) -> None:
        buf = b""
        while length_prefixed_json_complete(buf) <= 0:
            buf += conn.recv(4096)
        request = json.loads(buf[10:])
        if self.mode == "close":
            return
        if self.mode == "slow":
            time.sleep(1.0)
            return
        reply = {"status": 0, "mp3s": [{"title": "t1", "url": "u1"}], "echo": request}
        data = encode_length_prefixed_json(reply)
        for i in range(0, len(data), 7):  # dribble it out to exercise the completeness loop
            conn.sendall(data[i:i + 7])
            time.sleep(0.001)

    def close(self) -> None:
        self.sock.close()


def test_length_prefixed_json_framing():
    assert encode_length_prefixed_json({"a": 1}) == b'8         {"a": 1}'
    assert length_prefixed_json_complete(b"8        ") == 0
    assert length_prefixed_json_complete(b'8         {"a": 1') == 0
    assert length_prefixed_json_complete(b'8         {"a": 1}xx') == 18
    assert length_prefixed_json_complete(b"abcdefghij") == -1


def test_callmethod_tcp_contract(routes):
    ok, closing, slow = Jsoup(), Jsoup("close"), Jsoup("slow")
    try:
        routes(f"Jsoup.jsoup 127.0.0.1:{ok.port}\nJsoup.closing 127.0.0.1:{closing.port}\nJsoup.slow 127.0.0.1:{slow.port}\n")
        req = {"handleClass": "com.bison.GetMP3List", "requestBody": {"type": "special"}}

        def seed_callback(buf: bytes) -> int:  # the seed's own callback, verbatim in spirit
            if len(buf) < 10:
                return 0
            n = int(buf[:10]) + 10
            return n if len(buf) >= n else 0

        result = callmethod_tcp("Jsoup.jsoup", req, seed_callback, 5.0)
        assert result == {"ret": 0, "data": {"status": 0, "mp3s": [{"title": "t1", "url": "u1"}], "echo": req}}
        assert callmethod_tcp("Jsoup.jsoup", req, None, 5.0)["ret"] == 0
        assert callmethod_tcp("Jsoup.none", req, seed_callback, 1.0) == {"ret": -1, "errmsg": "getroute failed"}
        assert callmethod_tcp("Jsoup.closing", req, seed_callback, 2.0) == {"ret": -1, "errmsg": "peer closed the connection"}
        assert callmethod_tcp("Jsoup.slow", req, seed_callback, 0.2) == {"ret": -1, "errmsg": "timeout"}
        assert callmethod_tcp("Jsoup.jsoup", req, lambda b: 1 // 0, 2.0) == {"ret": -1, "errmsg": "callback function error"}
        assert callmethod_tcp("Jsoup.jsoup", req, lambda b: -1, 2.0) == {"ret": -1, "errmsg": "response package format error"}
        assert callmethod_tcp(f"127.0.0.1:{free_port()}@tcp", req, seed_callback, 1.0) == {"ret": -1, "errmsg": "peer closed the connection"}
        assert asyncio.run(callmethod_tcp_async("Jsoup.jsoup", req, seed_callback, 5.0))["data"]["mp3s"][0]["url"] == "u1"
        assert asyncio.run(callmethod_tcp_async("Jsoup.slow", req, seed_callback, 0.2)) == {"ret": -1, "errmsg": "timeout"}
    finally:
        for j in (ok, closing, slow):
            j.close()


def test_config_log_and_attr_functions_are_there(tmp_path, monkeypatch):
    path = tmp_path / "c.ini"
    path.write_text("[LOG]\nLevel=DEBUG\n")
    assert get_config("LOG", "Level", str(path)) == "DEBUG"
    monkeypatch.setenv("MSEC_CONFIG", str(path))
    assert get_config("LOG", "Level") == "DEBUG"
    default_monitor.clear()
    attr_report("GetTitles success")
    attr_set("depth", 4)  # the original's guard made this a no-op
    assert default_monitor.counters() == {"usr.GetTitles success": 1}
    assert default_monitor.gauges() == {"usr.depth": 4}
    log_set_option("Ext", 1)
    from msec.log import settings

    assert settings.options["Ext"] == "1"
    settings.options.clear()
