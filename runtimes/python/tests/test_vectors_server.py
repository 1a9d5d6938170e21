"""The spec §13 vectors against both echo servers, started as `npm run echo-server -- --lang X` would.

The same assertions run against the TypeScript echo server and its Python twin,
so both servers answer SRPC and HTTP/JSON with the same bytes.
"""
import json
import os
import signal
import socket
import subprocess
from typing import Iterator

import pytest

from conftest import ROOT, read_frame, read_http, recv_until_closed, vector
from http_cases import BAD_HTTP, bad_http_answer
from msec import decode_frame

LAUNCHER = os.path.join(ROOT, "examples", "echo", "echo-server.ts")


class Launched:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.proc = subprocess.Popen(
            ["node", "--import", "tsx", LAUNCHER, "--lang", lang, "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith('{"time":') or '"msg":"listening on ' not in line:  # the startup JSON log line
            self.proc.kill()
            raise RuntimeError(f"{lang} echo server did not start: {line!r}")
        self.port = int(json.loads(line)["port"])

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


@pytest.fixture(scope="module", params=["ts", "python"])
def echo(request) -> Iterator[Launched]:
    server = Launched(request.param)
    yield server
    assert server.stop() == 0, "SIGTERM drains and exits 0"


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    return s


def test_v1_echo_is_byte_identical_over_tcp_and_udp(echo):
    v1 = vector("v1-python-client-request.json")
    with connect(echo.port) as c:
        c.sendall(bytes.fromhex(v1["frame_hex"]))
        assert read_frame(c).hex() == v1["echo_response_hex"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(5)
        u.sendto(bytes.fromhex(v1["frame_hex"]), ("127.0.0.1", echo.port))
        assert u.recvfrom(65536)[0].hex() == v1["echo_response_hex"]


def test_v2_minimal_request_gets_an_empty_body_and_a_filled_flow_id(echo):
    with connect(echo.port) as c:
        c.sendall(bytes.fromhex(vector("v2-minimal-request.json")["frame_hex"]))
        head, body = decode_frame(read_frame(c))
    assert (head.sequence, head.method_name, head.err, body) == (1, b"echo.EchoService.Echo", None, b"")
    assert head.flow_id


def test_v3_unknown_method(echo):
    v3 = vector("v3-unknown-method-response.json")
    request = bytes.fromhex(v3["request_frame_hex"]).replace(b"echo.EchoService.Echo", b"echo.EchoService.Nope")
    expected = bytes.fromhex(v3["frame_hex"]).replace(b"echo.EchoService.Echo", b"echo.EchoService.Nope")
    with connect(echo.port) as c:
        c.sendall(request)
        assert read_frame(c) == expected


@pytest.mark.parametrize("case", vector("v8-http.json")["requests"], ids=lambda c: c["name"])
def test_v8_http(echo, case):
    responses = {r["name"]: r["response"] for r in vector("v8-http.json")["responses"]}
    with connect(echo.port) as c:
        c.sendall(case["request"].encode())
        got = read_http(c)
    if case["msec_gen"] == "http_404":
        assert got.startswith(b"HTTP/1.1 404 Not Found\r\n")
    else:
        assert got.decode() == responses[case["msec_gen"]]


def test_bad_json_answers_minus_3_and_keeps_the_connection(echo):
    bad = b"POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nContent-Length: 7\r\n\r\n{nope!}"
    unknown_field = b'POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nContent-Length: 11\r\n\r\n{"bogus":1}'
    good = b'POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nContent-Length: 22\r\n\r\n{"message":"aGVsbG8="}'
    with connect(echo.port) as c:
        c.sendall(bad + unknown_field + good)
        assert read_http(c).endswith(b'{"ret":-3, "errmsg":"invalid package" }')
        assert read_http(c).endswith(b'{"ret":-3, "errmsg":"invalid package" }')
        assert read_http(c).endswith(b'{"ret":0, "errmsg":"", "resultObj": {"message": "aGVsbG8="}}')


def test_health_and_empty_json_body(echo):
    with connect(echo.port) as c:
        c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_http(c).startswith(b"HTTP/1.1 200 OK\r\n")
        c.sendall(b"POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        assert read_http(c).endswith(b'{"ret":0, "errmsg":"", "resultObj": {}}')


def test_python_calls_each_server_by_name_through_the_routes_file(echo, tmp_path, monkeypatch):
    import echo_pb2
    from msec.msec_impl import CallMethod

    routes = tmp_path / "routes.conf"
    routes.write_text(f"Echo.{echo.lang} 127.0.0.1:{echo.port}\n")
    monkeypatch.setenv("MSEC_ROUTES", str(routes))
    result = CallMethod(f"Echo.{echo.lang}", "echo.EchoService.Echo", echo_pb2.EchoRequest(message=b"by name"), 2000)
    assert result["ret"] == 0
    assert echo_pb2.EchoResponse.FromString(result["response"]).message == b"by name"


def test_typescript_calls_each_server_by_name_through_the_routes_file(echo, tmp_path):
    routes = tmp_path / "routes.conf"
    routes.write_text(f"Echo.{echo.lang} 127.0.0.1:{echo.port}\n")
    script = tmp_path / "call.mts"
    script.write_text(
        f'import {{ callMethodRaw, closeConnections }} from {json.dumps(os.path.join(ROOT, "runtimes", "ts", "src", "index.ts"))};\n'
        f'const reply = await callMethodRaw("Echo.{echo.lang}", "echo.EchoService.Echo", Uint8Array.from([10, 2, 104, 105]), {{ timeoutMs: 2000 }});\n'
        "process.stdout.write(Buffer.from(reply).toString('hex'));\n"
        "closeConnections();\n"
    )
    out = subprocess.run(
        ["node", "--import", "tsx", str(script)],
        cwd=ROOT,
        env={**os.environ, "MSEC_ROUTES": str(routes)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "0a026869"  # EchoResponse{message: "hi"}


@pytest.mark.parametrize("request_bytes,status,message", BAD_HTTP, ids=[c[2] + f" ({c[1]})" for c in BAD_HTTP])
def test_unparsable_http_gets_the_same_answer(echo, request_bytes, status, message):
    with connect(echo.port) as c:
        c.sendall(request_bytes)
        assert recv_until_closed(c) == bad_http_answer(status, message)


def test_expect_100_continue(echo):
    body = b'{"message":"' + b"QUFB" * 500 + b'"}'
    with connect(echo.port) as c:
        c.sendall(b"POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nExpect: 100-continue\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode())
        assert c.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        c.sendall(body)
        assert read_http(c).endswith(b'"resultObj": {"message": "' + b"QUFB" * 500 + b'"}}')


@pytest.mark.parametrize(
    "frame_hex",
    [
        "280000000200000000500129",  # head without method_name
        "2800000018000000009a03156563686f2e4563686f536572766963652e4563686f29",  # head without sequence
        "2800000001000000005029",  # head truncated inside a varint
        "2800000000000000070a0568656c6c6f29",  # head_len 0
    ],
)
def test_unanswerable_frames_close_the_connection(echo, frame_hex):
    with connect(echo.port) as c:
        c.sendall(bytes.fromhex(frame_hex))
        assert recv_until_closed(c) == b""
