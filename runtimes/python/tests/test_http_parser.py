"""The HTTP parser is incremental: cost linear in the bytes however they are segmented; trailers bounded."""
import json
import time

import pytest

from conftest import read_http, recv_until_closed
from hostile import ServerProcess, connect
from http_cases import bad_http_answer
from methods import METHODS

MIB = 1024 * 1024


def test_a_large_body_ending_in_16_byte_segments_costs_linear_cpu():
    """12 MiB arrive at once, the last 16 KiB in 16-byte segments 1 ms apart (about one read each):
    re-parsing the whole buffer on each read costs copies of 12 MiB per segment (the server is busy
    all along); the incremental parser only appends them."""
    server = ServerProcess()
    try:
        value = "y" * (12 * MIB)
        body = json.dumps({"v": value}).encode()
        head = f"POST /?methodName=test.Raw.Echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        sock = connect(server.port, timeout=60)
        tail = 16 * 1024
        sock.sendall(head + body[:-tail])
        time.sleep(0.5)
        cpu = server.cpu_seconds()
        for i in range(len(body) - tail, len(body) - 16, 16):
            sock.send(body[i:i + 16])
            time.sleep(0.001)
        time.sleep(0.2)
        used = server.cpu_seconds() - cpu
        sock.send(body[-16:])
        answer = read_http(sock)
        print(f"server CPU for the last 16 KiB of a 12 MiB body in 16-byte segments: {used:.2f} s")
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["resultObj"] == {"v": value}
        assert used < 0.5, f"server used {used:.2f} s of CPU"
        sock.close()
    finally:
        server.stop()


def test_the_parser_handles_4_mib_in_16_byte_pieces_in_linear_time():
    from msec.http1 import HttpParser, HttpRequest

    body = b"z" * (4 * MIB)
    data = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    parser = HttpParser(16 * MIB)
    start = time.process_time()
    out = []
    for i in range(0, len(data), 16):
        out += parser.feed(data[i:i + 16])
    assert time.process_time() - start < 3.0
    assert len(out) == 1 and isinstance(out[0], HttpRequest) and out[0].body == body


def _chunked_with_trailers(trailer_bytes: int) -> bytes:
    line = b"X-T: " + b"t" * 90 + b"\r\n"  # many short trailer lines: each is small, all of them are not
    trailers = line * (trailer_bytes // len(line))
    return b"POST /?methodName=t.S.Echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n" + trailers + b"\r\n"


def test_trailers_count_against_max_http_header_bytes(serve):
    s = serve(METHODS)
    sock = connect(s.port)
    sock.sendall(_chunked_with_trailers(20000))
    assert recv_until_closed(sock) == bad_http_answer(431, "trailers too large")
    assert s.server.stats.get("msec_server_malformed_total", "http") == 1
    sock = connect(s.port)
    sock.sendall(_chunked_with_trailers(8000))  # within 16 KiB: read and ignored
    assert read_http(sock).startswith(b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("piece", [1, 7, 1 << 20])
def test_trailer_limit_does_not_depend_on_segmentation(piece):
    from msec.http1 import HttpError, HttpParser

    data = _chunked_with_trailers(20000)
    parser = HttpParser(MIB)
    out = []
    for i in range(0, len(data), piece):
        out += parser.feed(data[i:i + piece])
    assert len(out) == 1 and isinstance(out[0], HttpError) and (out[0].status, out[0].message) == (431, "trailers too large")
