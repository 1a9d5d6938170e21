"""Issue 15: the access log (one JSON line per answered call, docs/metrics.md) and the latency
histograms, over real sockets: SRPC over TCP and UDP, JSON over HTTP, error codes included."""
import json
import re
import socket
import struct
from typing import Any, Dict, List

import pytest

from conftest import read_http
from hostile import connect, frame, http_post
from methods import METHODS
from msec import configure_log, reset_log

ACCESS_KEYS = ["time", "msg", "method", "caller", "peer", "transport", "format", "code", "latency_ms", "bytes_in", "bytes_out", "flow_id"]


@pytest.fixture
def lines():
    out: List[str] = []
    reset_log()
    configure_log(sink=out.append)
    yield out
    reset_log()


def tcp_call(port: int, request: bytes) -> bytes:
    """One SRPC call on its own connection: the whole answer frame."""
    with connect(port) as s:
        s.sendall(request)
        data = b""
        while len(data) < 9 or len(data) < 10 + sum(struct.unpack(">ii", data[1:9])):
            chunk = s.recv(65536)
            assert chunk, "closed before the answer"
            data += chunk
        return data


def udp_call(port: int, request: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        s.sendto(request, ("127.0.0.1", port))
        return s.recvfrom(65536)[0]


def http_call(port: int, method: str, body: bytes, caller: str) -> bytes:
    with connect(port) as s:
        s.sendall(http_post(method, body, extra=f"caller: {caller}\r\n"))
        return read_http(s).partition(b"\r\n\r\n")[2]


def access_lines(lines: List[str]) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in lines if '"msg":"access"' in line]


def test_one_exact_access_line_per_call_and_latency_histograms(serve, lines):
    s = serve(METHODS, access_log=True)
    port = s.port
    calls = [
        ("tcp", frame("t.S.Echo", b"abc", seq=11, caller="py.c")),
        ("tcp", frame("t.S.Fail", b"", seq=12, caller="py.c")),
        ("udp", frame("t.S.Echo", b"de", seq=13, caller="py.c")),
        ("tcp", frame("t.S.Nope", b"", seq=14, caller="py.c")),
        ("tcp", frame("t.S.Slow", b"300", seq=15, caller="py.c")),
    ]
    expected: List[Dict[str, Any]] = []
    for transport, request in calls:
        answer = tcp_call(port, request) if transport == "tcp" else udp_call(port, request)
        expected.append({"transport": transport, "format": "binary", "bytes_in": len(request), "bytes_out": len(answer)})
    json_bodies = [("t.S.Echo", b'{"x":1}'), ("t.S.Fail", b"{}"), ("t.S.Nope", b"{}")]
    for method, body in json_bodies:
        answer = http_call(port, method, body, "py.json")
        expected.append({"transport": "http", "format": "json", "bytes_in": len(body), "bytes_out": len(answer)})
    got = access_lines(lines)
    assert len(got) == len(expected), lines
    for line in got:
        assert list(line) == ACCESS_KEYS
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
        assert re.fullmatch(r"127\.0\.0\.1:\d+", line["peer"])
        assert isinstance(line["latency_ms"], (int, float)) and 0 <= line["latency_ms"] < 15000
    assert got[4]["latency_ms"] >= 300, "the Slow call slept 300 ms"
    for line in got[5:7]:
        assert re.fullmatch(r"[1-9][0-9]*", line["flow_id"]), "a JSON call's flow id is made by the server"
    summary = [(g["method"], g["caller"], g["code"], g["flow_id"]) for g in got]
    assert summary == [
        ("t.S.Echo", "py.c", 0, "11"),
        ("t.S.Fail", "py.c", -77, "12"),
        ("t.S.Echo", "py.c", 0, "13"),
        ("t.S.Nope", "py.c", -6, "14"),
        ("t.S.Slow", "py.c", 0, "15"),
        ("t.S.Echo", "py.json", 0, got[5]["flow_id"]),
        ("t.S.Fail", "py.json", -77, got[6]["flow_id"]),
        ("t.S.Nope", "py.json", -6, "0"),
    ]
    for g, e in zip(got, expected):
        assert {k: g[k] for k in e} == e, g

    with connect(port) as c:
        c.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        metrics = read_http(c).partition(b"\r\n\r\n")[2].decode()
    requests = dict(re.findall(r"^(msec_server_requests_total\{.*\}) (\d+)$", metrics, re.M))
    assert requests == {
        'msec_server_requests_total{method="(unknown)",transport="http",code="-6"}': "1",
        'msec_server_requests_total{method="(unknown)",transport="tcp",code="-6"}': "1",
        'msec_server_requests_total{method="t.S.Echo",transport="http",code="0"}': "1",
        'msec_server_requests_total{method="t.S.Echo",transport="tcp",code="0"}': "1",
        'msec_server_requests_total{method="t.S.Echo",transport="udp",code="0"}': "1",
        'msec_server_requests_total{method="t.S.Fail",transport="http",code="-77"}': "1",
        'msec_server_requests_total{method="t.S.Fail",transport="tcp",code="-77"}': "1",
        'msec_server_requests_total{method="t.S.Slow",transport="tcp",code="0"}': "1",
    }
    slow = dict(re.findall(r'^msec_server_request_duration_seconds_bucket\{method="t\.S\.Slow",transport="tcp",le="([^"]+)"\} (\d+)$', metrics, re.M))
    assert list(slow) == ["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
    assert [slow[le] for le in ("0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25")] == ["0"] * 11
    assert (slow["10"], slow["+Inf"]) == ("1", "1")
    assert 'msec_server_request_duration_seconds_count{method="t.S.Echo",transport="tcp"} 1\n' in metrics
    assert 'msec_server_request_duration_seconds_count{method="(unknown)",transport="http"} 1\n' in metrics
    assert "msec_server_in_flight 0\n" in metrics
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"):
        assert re.search(rf"^{name} [0-9.e+]+$", metrics, re.M), name


def test_no_access_lines_by_default(serve, lines):
    s = serve(METHODS)
    tcp_call(s.port, frame("t.S.Echo", b"abc", seq=1))
    assert access_lines(lines) == []


def test_head_on_metrics_and_health_answers_the_get_head_without_body(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(b"HEAD /metrics HTTP/1.1\r\n\r\nHEAD /health HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n")
        data = b""
        health = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n"
        while not data.endswith(health + b"ok\n"):
            chunk = c.recv(65536)
            assert chunk, data
            data += chunk
    assert re.fullmatch(
        rb"HTTP/1\.1 200 OK\r\nContent-Type: text/plain; version=0\.0\.4; charset=utf-8\r\nContent-Length: [1-9][0-9]*\r\n\r\n" + re.escape(health + health + b"ok\n"),
        data,
    ), data
