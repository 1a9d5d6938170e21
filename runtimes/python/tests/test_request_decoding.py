"""Every shared request-decoding case of fixtures/json-input/cases.json (the TS runtime runs the same file).

Each case gives the code ``decode_request`` answers (0, -3 or -5), the decoded
value (ProtoJSON with proto field names) or a text the error must contain (the field's path).
"""
import json
import os
import socket
from typing import Any, Dict, Iterator, List

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

import echo_server
from conftest import ServerThread, recv_until_closed
from msec import BINARY, JSON, CallContext, SrpcError, decode_request

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "fixtures", "json-input")


def _load_pool() -> descriptor_pool.DescriptorPool:
    with open(os.path.join(FIXTURES, "request_decoding.binpb"), "rb") as f:
        files = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return pool


POOL = _load_pool()
with open(os.path.join(FIXTURES, "cases.json"), encoding="utf-8") as _f:
    CASES: List[Dict[str, Any]] = json.load(_f)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['format']}: {c['name']}" for c in CASES])
def test_shared_request_decoding_case(case: Dict[str, Any]) -> None:
    message_class = message_factory.GetMessageClass(POOL.FindMessageTypeByName(case["message"]))
    if case["format"] == "json":
        body: Any = case["input"]
        ctx = CallContext(format=JSON, method="fixture.Service.Call")
    else:
        body = bytes.fromhex(case["input_hex"])
        ctx = CallContext(format=BINARY, method="fixture.Service.Call")
    try:
        message = decode_request(message_class, body, ctx)
    except SrpcError as exc:
        assert (exc.code, case["error_contains"] in str(exc)) == (case["code"], True), str(exc)
        return
    assert case["code"] == 0, "decoded, expected an error"
    assert json_format.MessageToDict(message, preserving_proto_field_name=True) == case["value"]


with open(os.path.join(FIXTURES, "http-edge.json"), encoding="utf-8") as _f:
    EDGE_CASES: List[Dict[str, Any]] = json.load(_f)


def _post(port: int, body: bytes) -> Dict[str, Any]:
    head = f"POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(head.encode() + body)
        answer = recv_until_closed(c)
    envelope: Dict[str, Any] = json.loads(answer.partition(b"\r\n\r\n")[2])
    return envelope


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    server = ServerThread(echo_server.METHODS, udp=False)
    try:
        yield server.port
    finally:
        server.stop()


@pytest.mark.parametrize("case", EDGE_CASES, ids=[c["name"] for c in EDGE_CASES])
def test_json_body_at_the_http_edge(echo_port: int, case: Dict[str, Any]) -> None:
    """The same bodies the TS suite sends to its echo service get the same ``ret`` here."""
    assert _post(echo_port, bytes.fromhex(case["body_hex"]))["ret"] == case["ret"]
