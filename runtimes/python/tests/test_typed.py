"""typed_handler (what generated dispatch modules build on) and typed client calls."""
import asyncio
import json
import socket

import pytest
from google.protobuf import descriptor_pb2

import echo_pb2
from conftest import read_frame
from msec import AsyncClient, CallContext, Client, RpcHead, SrpcError, decode_frame, encode_frame, encode_head, typed_handler


def shout(request: echo_pb2.EchoRequest, ctx: CallContext) -> echo_pb2.EchoResponse:
    return echo_pb2.EchoResponse(message=request.message.upper())


async def shout_async(request: echo_pb2.EchoRequest, ctx: CallContext) -> echo_pb2.EchoResponse:
    await asyncio.sleep(0)
    return echo_pb2.EchoResponse(message=request.message.upper() + ctx.format.encode())


async def garbage(body, ctx):
    return b"\xff\xff\xff"  # not an EchoResponse


TABLE = {
    "echo.EchoService.Sync": typed_handler(echo_pb2.EchoRequest, shout),
    "echo.EchoService.Async": typed_handler(echo_pb2.EchoRequest, shout_async),
    "echo.EchoService.Garbage": garbage,
}


def post(port: int, method: str, body: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(f"POST /?methodName={method} HTTP/1.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.partition(b"\r\n\r\n")[2].decode()


def test_typed_handlers_serve_binary_and_json(serve):
    s = serve(TABLE)
    with Client() as client:
        req = echo_pb2.EchoRequest(message=b"hi")
        assert client.call_message(s.address, "echo.EchoService.Sync", req, echo_pb2.EchoResponse, 1000).message == b"HI"
        assert client.call_message(s.address, "echo.EchoService.Async", req, echo_pb2.EchoResponse, 1000).message == b"HIbinary"
    assert post(s.port, "echo.EchoService.Sync", b'{"message":"aGk="}') == '{"ret":0, "errmsg":"", "resultObj": {"message": "SEk="}}'
    assert json.loads(post(s.port, "echo.EchoService.Async", b"{}")) == {"ret": 0, "errmsg": "", "resultObj": {"message": "anNvbg=="}}


def test_typed_handlers_reject_undecodable_requests(serve):
    s = serve(TABLE)
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(encode_frame(encode_head(RpcHead(sequence=1, method_name=b"echo.EchoService.Sync")), b"\x0a\x05hi"))
        head = decode_frame(read_frame(c))[0]
        assert head.err == -5 and head.err_msg is not None and head.err_msg.startswith(b"cannot decode echo.EchoRequest: ")
    # The decoding rule's message names the field, in the envelope as in err_msg.
    assert post(s.port, "echo.EchoService.Sync", b'{"bogus":1}') == (
        '{"ret":-3, "errmsg":"cannot decode echo.EchoRequest from JSON: echo.EchoRequest.bogus: unknown field" }'
    )
    assert post(s.port, "echo.EchoService.Sync", b'{"message":"not base64!"}').startswith(
        '{"ret":-3, "errmsg":"cannot decode echo.EchoRequest from JSON: echo.EchoRequest.message: '
    )


def test_typed_calls_report_unparsable_replies_and_unserializable_requests(serve):
    s = serve(TABLE)
    missing_required = descriptor_pb2.UninterpretedOption.NamePart()
    with Client() as client:
        with pytest.raises(SrpcError) as err:
            client.call_message(s.address, "echo.EchoService.Garbage", echo_pb2.EchoRequest(), echo_pb2.EchoResponse, 1000)
        assert err.value.code == -5
        with pytest.raises(SrpcError) as err:
            client.call_message(s.address, "echo.EchoService.Sync", missing_required, echo_pb2.EchoResponse, 1000)
        assert err.value.code == -8

    async def main():
        async with AsyncClient() as client:
            ok = await client.call_message(s.address, "echo.EchoService.Async", echo_pb2.EchoRequest(message=b"a"), echo_pb2.EchoResponse, 1000)
            with pytest.raises(SrpcError) as err:
                await client.call_message(s.address, "echo.EchoService.Garbage", echo_pb2.EchoRequest(), echo_pb2.EchoResponse, 1000)
            return ok.message, err.value.code

    assert asyncio.run(main()) == (b"Abinary", -5)
