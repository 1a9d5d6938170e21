"""The asyncio server over real sockets: SRPC, HTTP/JSON, UDP, errors, limits, shutdown."""
import json
import signal
import socket
import threading
import time

import pytest

from conftest import read_frame, read_http, recv_until_closed, vector
from echo_server import METHODS as ECHO_METHODS
from http_cases import BAD_HTTP, bad_http_answer
from methods import METHODS
from msec import RpcHead, decode_frame, encode_frame, encode_head, envelope_body


def frame(method: str, body: bytes = b"", seq: int = 1, **head) -> bytes:
    return encode_frame(encode_head(RpcHead(sequence=seq, method_name=method.encode(), **head)), body)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    return s


def http(method: str, body: bytes = b"", path: str = "/", extra: str = "") -> bytes:
    target = f"{path}?methodName={method}" if method else path
    return f"POST {target} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body


def envelope_of(response: bytes) -> str:
    return response.partition(b"\r\n\r\n")[2].decode()


# ---------------------------------------------------------------------------- SRPC


def test_v1_is_echoed_byte_identically(serve):
    s = serve(ECHO_METHODS)
    v1 = vector("v1-python-client-request.json")
    with connect(s.port) as c:
        c.sendall(bytes.fromhex(v1["frame_hex"]))
        assert read_frame(c).hex() == v1["echo_response_hex"]


def test_unknown_method_answers_v3_byte_exact(serve):
    s = serve({})
    v3 = vector("v3-unknown-method-response.json")
    with connect(s.port) as c:
        c.sendall(bytes.fromhex(v3["request_frame_hex"]))
        assert read_frame(c).hex() == v3["frame_hex"]


def test_a_missing_flow_id_is_filled_and_the_rest_of_the_head_echoed(serve):
    s = serve(ECHO_METHODS)
    with connect(s.port) as c:
        c.sendall(bytes.fromhex(vector("v2-minimal-request.json")["frame_hex"]))
        head, body = decode_frame(read_frame(c))
    assert body == b""
    assert head.flow_id and 0 < head.flow_id < 2**32
    assert head.with_fields(flow_id=None) == RpcHead(sequence=1, method_name=b"echo.EchoService.Echo")


def test_handler_errors_become_the_err_field_without_body(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(frame("t.S.Fail", b"x", 5) + frame("t.S.Crash", b"x", 6))
        answers = {h.sequence: (h.err, h.err_msg, b) for h, b in (decode_frame(read_frame(c)) for _ in range(2))}
    # A method's own message travels in err_msg (as from the TS server); a crash gets no text of its own.
    assert answers == {5: (-77, b"business says no", b""), 6: (-18, None, b"")}


def test_requests_on_one_connection_are_answered_as_they_complete(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(frame("t.S.Slow", b"400", 1) + frame("t.S.Slow", b"200", 2) + frame("t.S.Slow", b"0", 3))
        order = [decode_frame(read_frame(c))[0].sequence for _ in range(3)]
    assert order == [3, 2, 1]


def test_plain_def_handlers_run_in_the_thread_pool_with_the_call_scope(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(frame("t.S.SyncEcho", b"hi", 9, flow_id=1234))
        _, body = decode_frame(read_frame(c))
    payload, _, info = body.partition(b"|")
    assert payload == b"hi"
    info = json.loads(info)
    assert info["thread"].startswith("msec-handler")
    assert info["flow_id"] == 1234


def test_many_blocking_handlers_run_concurrently(serve):
    import methods

    methods.BARRIER.reset()
    s = serve(METHODS, handler_threads=8)
    with connect(s.port) as c:
        c.settimeout(30)
        c.sendall(b"".join(frame("t.S.Rendezvous", b"x", i) for i in range(1, 9)))
        answers = sorted((h.sequence, h.err, b) for h, b in (decode_frame(read_frame(c)) for _ in range(8)))
    # all eight met at the barrier, so they ran at the same time in the pool
    assert answers == [(i, None, b"x") for i in range(1, 9)]


def test_a_bad_frame_closes_only_its_connection(serve):
    s = serve(ECHO_METHODS)
    v1 = bytes.fromhex(vector("v1-python-client-request.json")["frame_hex"])
    with connect(s.port) as good, connect(s.port) as bad:
        good.sendall(v1)
        assert read_frame(good) == v1
        bad.sendall(v1[:-1] + b"\x00")
        assert recv_until_closed(bad) == b""
        good.sendall(v1)
        assert read_frame(good) == v1


def test_a_head_without_method_name_closes_the_connection(serve):
    s = serve(ECHO_METHODS)
    with connect(s.port) as c:
        c.sendall(bytes.fromhex("280000000200000000500129"))
        assert recv_until_closed(c) == b""


def test_a_frame_over_the_size_limit_closes_the_connection(serve):
    s = serve(ECHO_METHODS, max_frame_size=1000)
    with connect(s.port) as c:
        c.sendall(frame("echo.EchoService.Echo", b"\x0a" + b"x" * 2000))
        assert recv_until_closed(c) == b""


def test_udp_datagrams_are_answered_on_the_same_port(serve):
    s = serve(ECHO_METHODS)
    v1 = vector("v1-python-client-request.json")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(5)
        u.sendto(b"\x28garbage", ("127.0.0.1", s.port))  # dropped
        u.sendto(bytes.fromhex(v1["frame_hex"]), ("127.0.0.1", s.port))
        data, _ = u.recvfrom(65536)
    assert data.hex() == v1["echo_response_hex"]


# ---------------------------------------------------------------------------- HTTP


@pytest.mark.parametrize("case", vector("v8-http.json")["requests"], ids=lambda c: c["name"])
def test_v8_requests(serve, case):
    s = serve(ECHO_METHODS)
    responses = {r["name"]: r["response"] for r in vector("v8-http.json")["responses"]}
    with connect(s.port) as c:
        c.sendall(case["request"].encode())
        got = read_http(c)
    if case["msec_gen"] == "http_404":
        assert got.startswith(b"HTTP/1.1 404 Not Found\r\n")
    else:
        assert got.decode() == responses[case["msec_gen"]]


def test_json_success_uses_msec_separators_and_proto_field_names(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Echo", b'{"z":[1,2],"a":{"b":"\xc3\xbc"}}'))
        got = read_http(c)
    body = '{"ret":0, "errmsg":"", "resultObj": {"z": [1, 2], "a": {"b": "ü"}}}'
    assert got == (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Encoding: UTF-8\r\n"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()


def test_json_text_returned_by_a_handler_is_rewritten_into_the_envelope(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Text", b"{}"))
        assert envelope_of(read_http(c)) == '{"ret":0, "errmsg":"", "resultObj": {"a": [1, 2], "b": "ü"}}'


def test_business_and_crash_errors_on_the_json_path(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Fail", b"{}") + http("t.S.Crash", b"{}"))
        assert envelope_of(read_http(c)) == '{"ret":-77, "errmsg":"business says no" }'
        assert envelope_of(read_http(c)) == '{"ret":-18, "errmsg":"service implement failed" }'


def test_empty_body_is_an_empty_object_and_bad_json_keeps_the_connection(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Echo", b""))
        assert envelope_of(read_http(c)) == '{"ret":0, "errmsg":"", "resultObj": {}}'
        c.sendall(http("t.S.Echo", b"{not json") + http("t.S.Echo", b"[1]") + http("t.S.Echo", b'{"ok":1}'))
        assert envelope_of(read_http(c)) == '{"ret":-3, "errmsg":"invalid package" }'
        assert envelope_of(read_http(c)) == '{"ret":-3, "errmsg":"invalid package" }'
        assert envelope_of(read_http(c)) == '{"ret":0, "errmsg":"", "resultObj": {"ok": 1}}'


def test_chunked_bodies_are_concatenated(serve):
    s = serve(METHODS)
    req = (
        b"POST /?methodName=t.S.Echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\n{\"k\"\r\n3;ext=1\r\n:\"v\r\n2\r\n\"}\r\n0\r\nTrailer: x\r\n\r\n"
    )
    with connect(s.port) as c:
        c.sendall(req)
        assert envelope_of(read_http(c)) == '{"ret":0, "errmsg":"", "resultObj": {"k": "v"}}'


def test_pipelined_requests_are_answered_in_request_order(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Slow", b'{"ms":300}') + http("t.S.Slow", b'{"ms":0}') + http("t.S.Echo", b'{"n":3}'))
        bodies = [envelope_of(read_http(c)) for _ in range(3)]
    assert bodies == [
        '{"ret":0, "errmsg":"", "resultObj": {"slept": 300}}',
        '{"ret":0, "errmsg":"", "resultObj": {"slept": 0}}',
        '{"ret":0, "errmsg":"", "resultObj": {"n": 3}}',
    ]


def test_the_caller_header_reaches_the_handler(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Who", b"{}") + http("t.S.Who", b"{}", extra="caller: VOA_py.MainLogic\r\n"))
        first = json.loads(envelope_of(read_http(c)))["resultObj"]
        second = json.loads(envelope_of(read_http(c)))["resultObj"]
    assert first["caller"] == "http.json" and first["format"] == "json" and first["flow_id"] > 0
    assert second["caller"] == "VOA_py.MainLogic"


def test_connection_close_is_honoured(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Echo", b"{}", extra="Connection: close\r\n"))
        data = recv_until_closed(c)
    assert data.endswith(b'{"ret":0, "errmsg":"", "resultObj": {}}')


def test_health_metrics_404_and_405(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Echo", b"{}"))
        read_http(c)
        c.sendall(b"GET /health HTTP/1.1\r\n\r\n")
        assert read_http(c) == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n"
        c.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        metrics = read_http(c).decode()
        assert "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n" in metrics
        assert 'msec_server_requests_total{method="t.S.Echo",transport="http",code="0"} 1\n' in metrics
        c.sendall(b"GET /nope HTTP/1.1\r\n\r\n")
        assert read_http(c) == b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\nnot found\n"
        c.sendall(b"PUT /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        assert read_http(c) == (
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nAllow: GET, HEAD, POST\r\n"
            b"Content-Length: 19\r\n\r\nmethod not allowed\n"
        )


def test_openapi_json_and_head_without_body(serve):
    document = '{"openapi": "3.1.0"}\n'
    s = serve(METHODS, openapi=document)
    with connect(s.port) as c:
        c.sendall(
            b"HEAD /openapi.json HTTP/1.1\r\n\r\nHEAD /health HTTP/1.1\r\n\r\nHEAD /nope HTTP/1.1\r\n\r\n"
            b"GET /openapi.json HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        data = recv_until_closed(c)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 21\r\n\r\n"
    assert data == (
        head
        + b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n"
        + b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\n"
        + head
        + document.encode()
    )


def test_openapi_json_is_404_without_a_document(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(b"GET /openapi.json HTTP/1.1\r\n\r\n")
        assert read_http(c) == b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\nnot found\n"


def test_malformed_http_gets_400_and_is_closed(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(b"POST\r\n\r\n")
        data = recv_until_closed(c)
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_envelope_escapes_errmsg_text():
    assert envelope_body(-3) == '{"ret":-3, "errmsg":"invalid package" }'
    assert envelope_body(0, {"q": 'say "hi"\n'}) == '{"ret":0, "errmsg":"", "resultObj": {"q": "say \\"hi\\"\\n"}}'


# ---------------------------------------------------------------------------- limits and lifecycle


def test_connections_beyond_the_limit_are_closed(serve):
    s = serve(METHODS, max_connections=1)
    with connect(s.port) as first:
        first.sendall(http("t.S.Echo", b"{}"))
        read_http(first)
        with connect(s.port) as second:
            assert recv_until_closed(second) == b""
        first.sendall(http("t.S.Echo", b"{}"))
        assert envelope_of(read_http(first)).startswith('{"ret":0')


def test_idle_connections_are_closed(serve):
    s = serve(METHODS, idle_timeout_s=0.2)
    with connect(s.port) as c:
        c.sendall(http("t.S.Echo", b"{}"))
        read_http(c)
        assert recv_until_closed(c, timeout=5) == b""


def test_in_flight_limit_applies_back_pressure_without_losing_requests(serve):
    s = serve(METHODS, max_in_flight_per_connection=2)
    with connect(s.port) as c:
        c.sendall(b"".join(frame("t.S.Slow", b"50", i) for i in range(1, 11)))
        seqs = sorted(decode_frame(read_frame(c))[0].sequence for _ in range(10))
    assert seqs == list(range(1, 11))


def test_shutdown_finishes_in_flight_requests_then_refuses_connections(serve):
    s = serve(METHODS)
    c = connect(s.port)
    c.sendall(frame("t.S.Slow", b"300", 1))
    time.sleep(0.1)
    stopper = threading.Thread(target=s.stop, args=(5.0,))
    stopper.start()
    head, body = decode_frame(read_frame(c))
    assert (head.sequence, head.err, body) == (1, None, b"300")
    assert recv_until_closed(c) == b""
    c.close()
    stopper.join(10)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=1)


def test_sigterm_drains_and_exits_cleanly(echo_process):
    v1 = bytes.fromhex(vector("v1-python-client-request.json")["frame_hex"])
    with connect(echo_process.port) as c:
        c.sendall(v1)
        assert read_frame(c) == v1
        echo_process.proc.send_signal(signal.SIGTERM)
        assert recv_until_closed(c) == b""
    assert echo_process.proc.wait(10) == 0


def test_shutdown_answers_an_in_flight_http_request_then_closes_the_keep_alive_connection(serve):
    s = serve(METHODS)
    idle = connect(s.port)
    idle.sendall(http("t.S.Echo", b"{}"))
    read_http(idle)
    c = connect(s.port)
    c.sendall(http("t.S.Slow", b'{"ms":300}'))
    time.sleep(0.1)
    stopper = threading.Thread(target=s.stop, args=(5.0,))
    stopper.start()
    assert recv_until_closed(idle) == b""  # idle keep-alive connections close at once
    assert envelope_of(read_http(c)) == '{"ret":0, "errmsg":"", "resultObj": {"slept": 300}}'
    assert recv_until_closed(c) == b""
    c.close()
    idle.close()
    stopper.join(10)


@pytest.mark.parametrize("request_bytes,status,message", BAD_HTTP, ids=[c[2] + f" ({c[1]})" for c in BAD_HTTP])
def test_unparsable_http_is_answered_like_the_ts_server_then_closed(serve, request_bytes, status, message):
    s = serve(METHODS, max_frame_size=1 << 20)
    with connect(s.port) as c:
        c.sendall(request_bytes)
        data = recv_until_closed(c)
    assert data == bad_http_answer(status, message)


def test_a_parse_error_is_answered_after_the_earlier_pipelined_requests(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(http("t.S.Slow", b'{"ms":200}') + b"BROKEN\r\n\r\n")
        assert envelope_of(read_http(c)) == '{"ret":0, "errmsg":"", "resultObj": {"slept": 200}}'
        assert read_http(c).startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_expect_100_continue_gets_an_interim_answer_before_the_body(serve):
    s = serve(METHODS)
    body = b'{"k":"' + b"x" * 2000 + b'"}'
    with connect(s.port) as c:
        c.sendall(b"POST /?methodName=t.S.Echo HTTP/1.1\r\nExpect: 100-continue\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode())
        assert c.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        c.sendall(body)
        assert envelope_of(read_http(c)) == '{"ret":0, "errmsg":"", "resultObj": {"k": "' + "x" * 2000 + '"}}'


def test_http_1_0_closes_unless_keep_alive(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(b"POST /?methodName=t.S.Echo HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
        assert recv_until_closed(c).endswith(b'"resultObj": {}}')
    with connect(s.port) as c:
        c.sendall(b"POST /?methodName=t.S.Echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}")
        read_http(c)
        c.sendall(b"POST /?methodName=t.S.Echo HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
        assert envelope_of(read_http(c)) == '{"ret":0, "errmsg":"", "resultObj": {}}'


def test_a_crashing_handler_is_logged_with_its_call_and_stack(serve):
    from msec import configure_log, reset_log

    lines = []
    configure_log(sink=lines.append)
    try:
        s = serve(METHODS)
        with connect(s.port) as c:
            c.sendall(frame("t.S.Crash", b"", 3, flow_id=777, caller=b"T.caller"))
            assert decode_frame(read_frame(c))[0].err == -18
    finally:
        reset_log()
    record = json.loads(lines[-1])
    assert (record["level"], record["flowId"], record["method"], record["caller"]) == ("ERROR", "777", "t.S.Crash", "T.caller")
    assert record["msg"] == "handler t.S.Crash failed: RuntimeError: bug in handler"
    assert "Traceback" in record["stack"] and "bug in handler" in record["stack"]


def test_answers_still_arrive_after_the_client_half_closes(serve):
    s = serve(METHODS)
    with connect(s.port) as c:
        c.sendall(frame("t.S.Slow", b"100", 1) + frame("t.S.Slow", b"0", 2))
        c.shutdown(socket.SHUT_WR)
        seqs = sorted(decode_frame(read_frame(c))[0].sequence for _ in range(2))
        assert recv_until_closed(c) == b""
    assert seqs == [1, 2]
