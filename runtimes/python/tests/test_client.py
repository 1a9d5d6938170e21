"""Sync and asyncio clients against real sockets: success, MSEC error codes, pooling, multiplexing."""
import asyncio
import json
import socket
import time

import pytest

from conftest import free_port, read_frame
from methods import METHODS
from msec import AsyncClient, Balancer, Client, Instance, Router, RpcHead, SrpcError, StaticResolver, decode_frame, encode_frame, encode_head, parse_address
from msec.context import CallScope, enter_call, leave_call


def router_for(**routes: str) -> Router:
    table = {name: [Instance(parse_address(addr))] for name, addr in routes.items()}
    return Router([StaticResolver(table)], Balancer())


def code_of(fn, *args, **kwargs) -> int:
    with pytest.raises(SrpcError) as err:
        fn(*args, **kwargs)
    return err.value.code


def test_sync_call_by_literal_and_by_name(serve):
    s = serve(METHODS)
    with Client(router_for(**{"T.s": s.address})) as client:
        assert client.call(s.address, "t.S.Echo", b"abc", 1000) == b"abc"
        assert client.call("T.s", "t.S.Echo", b"xyz", 1000) == b"xyz"
        assert client.call(s.address + "@udp", "t.S.Echo", b"udp!", 1000) == b"udp!"


def test_sync_client_reuses_its_connection(serve):
    s = serve(METHODS)
    with Client() as client:
        peers = {json.loads(client.call(s.address, "t.S.Who", b"", 1000))["peer"] for _ in range(5)}
    assert len(peers) == 1


def test_sync_client_recovers_when_the_pooled_connection_was_closed_by_the_server(serve):
    s = serve(METHODS, idle_timeout_s=0.1)
    with Client() as client:
        first = json.loads(client.call(s.address, "t.S.Who", b"", 1000))["peer"]
        time.sleep(0.4)  # the server closes the idle pooled connection
        second = json.loads(client.call(s.address, "t.S.Who", b"", 1000))["peer"]
    assert first != second


def test_sync_error_codes(serve, raw_server):
    s = serve(METHODS)
    down = f"127.0.0.1:{free_port()}"
    with Client(router_for()) as client:
        assert code_of(client.call, s.address, "t.S.Nope", b"", 1000) == -6
        assert code_of(client.call, s.address, "t.S.Fail", b"", 1000) == -77
        assert code_of(client.call, "No.route", "t.S.Echo", b"", 1000) == -15
        assert code_of(client.call, down, "t.S.Echo", b"", 1000) == -13
        assert code_of(client.call, s.address, "t.S.Slow", b"1000", 200) == -10  # no reply at all
        # the timed-out connection was dropped: the next call works and is not confused by the late answer
        assert client.call(s.address, "t.S.Echo", b"after", 1000) == b"after"


def test_server_error_text_from_err_msg_is_kept():
    from msec.client import _check_response

    frame = encode_frame(encode_head(RpcHead(sequence=3, method_name=b"a.b.c", err=-1000, err_msg=b"java says no")))
    with pytest.raises(SrpcError) as err:
        _check_response(frame, 3)
    assert (err.value.code, err.value.message) == (-1000, "java says no")


def answer_with_other_sequence(conn):
    head, body = decode_frame(read_frame(conn))
    conn.sendall(encode_frame(encode_head(head.with_fields(sequence=head.sequence + 1)), body))


def answer_with_other_sequence_and_stay(conn):
    answer_with_other_sequence(conn)
    time.sleep(1.0)


def answer_half_then_stall(conn):
    """Starts the right reply, then stops: the caller times out while receiving (-12)."""
    head, body = decode_frame(read_frame(conn))
    reply = encode_frame(encode_head(head), b"0123456789")
    conn.sendall(reply[: len(reply) // 2])
    time.sleep(1.0)


def test_a_reply_cut_off_by_the_deadline_is_minus_12(raw_server):
    peer = raw_server(answer_half_then_stall)
    with Client() as client:
        assert code_of(client.call, f"127.0.0.1:{peer.port}", "a.b.c", b"x", 300) == -12


def close_after_request(conn):
    read_frame(conn)


def answer_garbage(conn):
    read_frame(conn)
    conn.sendall(b"(\x00\x00\x00\x01\x00\x00\x00\x00\xff)")  # head is one byte: truncated varint


def test_sequence_mismatch_is_minus_16(raw_server):
    peer = raw_server(answer_with_other_sequence)
    with Client() as client:
        assert code_of(client.call, f"127.0.0.1:{peer.port}", "a.b.c", b"x", 1000) == -16


def test_peer_closing_mid_call_is_minus_13(raw_server):
    peer = raw_server(close_after_request)
    with Client() as client:
        assert code_of(client.call, f"127.0.0.1:{peer.port}", "a.b.c", b"x", 1000) == -13


def test_malformed_response_head_is_minus_4(raw_server):
    peer = raw_server(answer_garbage)
    with Client() as client:
        assert code_of(client.call, f"127.0.0.1:{peer.port}", "a.b.c", b"x", 1000) == -4


def test_balancer_hears_about_failures(serve):
    down = f"127.0.0.1:{free_port()}"
    router = router_for(**{"T.down": down})
    with Client(router) as client:
        for _ in range(3):
            code_of(client.call, "T.down", "t.S.Echo", b"", 500)
    svc = router.balancer._services["T.down"]
    assert svc.servers[0].failed == 3


def test_balancer_counts_server_errors_as_successes_and_bad_replies_as_failures(serve, raw_server):
    s = serve(METHODS)
    bad = raw_server(answer_with_other_sequence)
    router = router_for(**{"T.up": s.address, "T.bad": f"127.0.0.1:{bad.port}"})
    with Client(router) as client:
        client.call("T.up", "t.S.Echo", b"", 1000)
        code_of(client.call, "T.up", "t.S.Nope", b"", 1000)
        code_of(client.call, "T.bad", "a.b.c", b"", 1000)
    up = router.balancer._services["T.up"].servers[0]
    assert (up.success, up.failed) == (2, 0)
    assert router.balancer._services["T.bad"].servers[0].failed == 1


def test_outgoing_calls_inside_a_handler_inherit_flow_id_and_coloring(serve):
    s = serve(METHODS)
    with Client() as client:
        token = enter_call(CallScope(method="x.Y.Z", flow_id=987654, coloring=1))
        try:
            info = json.loads(client.call(s.address, "t.S.Who", b"", 1000))
        finally:
            leave_call(token)
        plain = json.loads(client.call(s.address, "t.S.Who", b"", 1000))
    assert (info["flow_id"], info["coloring"]) == (987654, 1)
    assert plain["coloring"] == 0 and plain["flow_id"] != 987654
    assert plain["caller"] == "python.client"


def test_a_server_handler_calls_another_server_with_the_same_flow_id(serve):
    downstream = serve(METHODS)
    upstream = serve(METHODS, service_name="T.Up")
    frame = encode_frame(encode_head(RpcHead(sequence=5, method_name=b"t.S.Forward", flow_id=4242)), downstream.address.encode())
    with socket.create_connection(("127.0.0.1", upstream.port), timeout=5) as c:
        c.sendall(frame)
        head, body = decode_frame(read_frame(c))
    info = json.loads(body)
    assert head.err is None
    assert info["flow_id"] == 4242
    assert info["caller"] == "T.Up"


# ---------------------------------------------------------------------------- asyncio


def run(coro):
    return asyncio.run(coro)


def test_async_calls_are_multiplexed_on_one_connection(serve):
    s = serve(METHODS)

    async def main():
        async with AsyncClient() as client:
            delays = [(i * 37) % 200 for i in range(40)]
            results = await asyncio.gather(*(client.call(s.address, "t.S.Slow", str(d).encode(), 3000) for d in delays))
            assert results == [str(d).encode() for d in delays]
            peers = {json.loads(await client.call(s.address, "t.S.Who", b"", 1000))["peer"] for _ in range(3)}
            assert len(peers) == 1
            assert len(client._conns) == 1

    run(main())


def test_async_error_codes(serve, raw_server):
    s = serve(METHODS)
    down = f"127.0.0.1:{free_port()}"
    wrong_seq = raw_server(answer_with_other_sequence_and_stay)
    closer = raw_server(close_after_request)
    stalling = raw_server(answer_half_then_stall)

    async def code(coro):
        with pytest.raises(SrpcError) as err:
            await coro
        return err.value.code

    async def main():
        async with AsyncClient(router_for()) as client:
            assert await code(client.call(s.address, "t.S.Nope", b"", 1000)) == -6
            assert await code(client.call("No.route", "t.S.Echo", b"", 1000)) == -15
            assert await code(client.call(down, "t.S.Echo", b"", 1000)) == -13
            assert await code(client.call(s.address, "t.S.Slow", b"1000", 150)) == -10
            assert await client.call(s.address, "t.S.Echo", b"still fine", 1000) == b"still fine"
            assert await code(client.call(f"127.0.0.1:{closer.port}", "a.b.c", b"", 1000)) == -13
            # an answer with an unknown sequence matches no call: the call times out
            assert await code(client.call(f"127.0.0.1:{wrong_seq.port}", "a.b.c", b"", 300)) == -10
            assert await code(client.call(f"127.0.0.1:{stalling.port}", "a.b.c", b"", 300)) == -12
            assert await client.call(s.address + "@udp", "t.S.Echo", b"udp", 1000) == b"udp"

    run(main())


def test_async_pending_calls_fail_with_minus_13_when_the_connection_drops(serve):
    s = serve(METHODS)

    async def main():
        async with AsyncClient() as client:
            await client.call(s.address, "t.S.Echo", b"warm", 1000)
            calls = [asyncio.ensure_future(client.call(s.address, "t.S.Slow", b"2000", 5000)) for _ in range(3)]
            await asyncio.sleep(0.2)
            conn = next(iter(client._conns.values()))
            conn.writer.transport.abort()
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert [r.code for r in results] == [-13, -13, -13]
            assert await client.call(s.address, "t.S.Echo", b"reconnected", 1000) == b"reconnected"

    run(main())


def test_caller_name_comes_from_the_server_option_then_the_environment(serve, monkeypatch):
    from msec import set_service_name

    s = serve(METHODS)
    with Client() as client:
        set_service_name(None)
        monkeypatch.setenv("MSEC_SERVICE_NAME", "VOA_py.Env")
        assert json.loads(client.call(s.address, "t.S.Who", b"", 1000))["caller"] == "VOA_py.Env"
        set_service_name("VOA_py.Set")
        assert json.loads(client.call(s.address, "t.S.Who", b"", 1000))["caller"] == "VOA_py.Set"
        set_service_name(None)
        monkeypatch.delenv("MSEC_SERVICE_NAME")
        assert json.loads(client.call(s.address, "t.S.Who", b"", 1000))["caller"] == "python.client"


@pytest.fixture
def unaccepting_port():
    """A listener whose accept queue is full, so new connections hang in connect (Linux drops the SYN)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    time.sleep(0.1)
    yield port
    for s in fillers:
        s.close()
    listener.close()


def test_connect_timeout_is_minus_10(unaccepting_port):
    address = f"127.0.0.1:{unaccepting_port}"
    with Client() as client:
        assert code_of(client.call, address, "a.b.c", b"", 300) == -10

    async def main():
        async with AsyncClient() as client:
            with pytest.raises(SrpcError) as err:
                await client.call(address, "a.b.c", b"", 300)
            return err.value.code

    assert asyncio.run(main()) == -10
