"""Request deadline, first-byte rule, garbage after a valid request, UDP in-flight cap."""
import json
import socket
import time

import pytest

from conftest import read_http, reader_of
from hostile import closed_within, connect, frame, http_post, read_frames
from methods import METHODS


def _drip(sock: socket.socket, data: bytes, every_s: float, until_s: float) -> float:
    """Sends one byte every ``every_s`` until the server closes; returns the seconds it took."""
    start = time.monotonic()
    sock.settimeout(every_s)
    for b in data:
        try:
            sock.send(bytes([b]))
            if not sock.recv(1):
                break
        except socket.timeout:
            pass
        except OSError:
            break
        if time.monotonic() - start > until_s:
            raise AssertionError("still open")
    return time.monotonic() - start


@pytest.mark.parametrize("transport", ["tcp", "http"])
def test_a_dripped_request_is_cut_at_the_request_timeout(serve, transport):
    s = serve(METHODS, request_timeout_s=1.0, idle_timeout_s=60)
    sock = connect(s.port)
    request = frame("t.S.Echo", b"x" * 100) if transport == "tcp" else http_post("t.S.Echo", b"{}")
    took = _drip(sock, request, every_s=0.1, until_s=6.0)
    assert 0.9 <= took < 4.0, took
    assert s.server.stats.get("msec_server_timeouts_total", transport) == 1
    ok = connect(s.port)  # other clients are served
    ok.sendall(frame("t.S.Echo", b"hi", seq=5))
    assert [(h.sequence, h.err) for h in read_frames(ok, 1)] == [(5, None)]


def test_the_deadline_restarts_for_each_request_and_spares_idle_connections(serve):
    s = serve(METHODS, request_timeout_s=0.6, idle_timeout_s=60)
    sock = connect(s.port)
    for seq in range(1, 5):  # complete requests, each within the deadline, over more than the deadline
        sock.sendall(frame("t.S.Echo", b"a", seq=seq))
        assert [h.sequence for h in read_frames(sock, 1)] == [seq]
        time.sleep(0.3)
    time.sleep(0.5)  # idle between requests: not a request under way
    sock.sendall(frame("t.S.Echo", b"b", seq=9))
    assert [h.sequence for h in read_frames(sock, 1)] == [9]
    assert s.server.stats.get("msec_server_timeouts_total", "tcp") == 0


@pytest.mark.parametrize("first", [b"\x00", b"\x16\x03\x01", b"get / HTTP/1.1\r\n", b"{", b" GET", b"\r\n"])
def test_a_first_byte_that_starts_neither_srpc_nor_http_closes_at_once(serve, first):
    s = serve(METHODS)
    sock = connect(s.port)
    sock.sendall(first)
    took = closed_within(sock, 3.0)
    assert took is not None and took < 1.0
    assert s.server.stats.get("msec_server_malformed_total", "tcp") == 1


def test_a_valid_frame_followed_by_garbage_is_answered_then_closed(serve):
    s = serve(METHODS)
    sock = connect(s.port)
    sock.sendall(frame("t.S.Slow", b"100", seq=3) + b"garbage")
    assert [(h.sequence, h.err) for h in read_frames(sock, 1)] == [(3, None)]
    assert closed_within(sock, 3.0) is not None
    assert s.server.stats.get("msec_server_malformed_total", "tcp") == 1


def test_a_valid_http_request_followed_by_garbage_is_answered_then_closed(serve):
    s = serve(METHODS)
    sock = connect(s.port)
    sock.sendall(http_post("t.S.Echo", b'{"a":1}') + b"\x00\x01garbage")
    assert json.loads(read_http(sock).partition(b"\r\n\r\n")[2]) == {"ret": 0, "errmsg": "", "resultObj": {"a": 1}}
    assert read_http(sock).startswith(b"HTTP/1.1 400 Bad Request")
    assert reader_of(sock).read() == b""  # then closed
    assert s.server.stats.get("msec_server_malformed_total", "http") == 1


def test_udp_calls_beyond_max_udp_in_flight_are_dropped_and_counted(serve):
    s = serve(METHODS, max_udp_in_flight=4)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(3)
    for seq in range(1, 21):
        u.sendto(frame("t.S.Slow", b"500", seq=seq), ("127.0.0.1", s.port))
    answered = []
    try:
        while True:
            answered.append(u.recv(65536))
            u.settimeout(1.5)
    except socket.timeout:
        pass
    assert len(answered) == 4
    assert s.server.stats.get("msec_server_dropped_total", "udp", "overload") == 16
    u.sendto(frame("t.S.Echo", b"x", seq=99), ("127.0.0.1", s.port))  # the cap frees as calls finish
    u.settimeout(3)
    assert u.recv(65536)
    u.close()
