"""How the clients put requests on the wire: frames from cached head templates (byte-identical to
``encode_head``), coalesced writes on the blocking client's shared connection (a call queued behind
a blocked writer times out unsent, the rest go out after it), one write per loop turn for asyncio."""
import asyncio
import socket
import threading
import time
from typing import Any, Callable, List

import pytest

from conftest import read_frame
from msec import AsyncClient, Client, SrpcError, decode_frame, encode_frame, encode_head, request_head
from msec.client import _request_frame
from msec.context import CallScope, enter_call, leave_call


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Polls ``condition`` (state changes of the client under test) until it holds."""
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.005)


# --- head templates -------------------------------------------------------------------------------

METHODS = ["a.b.c", "conformance.ConformanceService.Echo", "ünï.cödé.Método", "m" * 300]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("caller", [None, "Shop.Billing", ""])
@pytest.mark.parametrize("coloring", [None, 0, 5, -1, 0xFFFFFFFF])
@pytest.mark.parametrize("flow_id", [None, 0, 127, 128, 2**63 + 5])
def test_template_frames_equal_encode_head_of_request_head(method: str, caller: Any, coloring: Any, flow_id: Any) -> None:
    body = b"\x00body\xff"
    for sequence in (1, 127, 128, 0xFFFFFFFF):
        for send_timeout, left_s, timeout_ms in ((False, 3.0, None), (True, 5.0, 5000), (True, 0.0001, 1), (True, 4294967.5, 4294967500)):
            head = request_head(method, sequence, caller=caller, flow_id=flow_id, coloring=coloring, timeout_ms=timeout_ms)
            expected = encode_frame(encode_head(head), body)
            got = _request_frame(method, sequence, body, send_timeout, caller, flow_id, coloring)(left_s)
            assert got == expected, (sequence, send_timeout, left_s)
            assert decode_frame(got)[0].timeout_ms == (None if timeout_ms is None else timeout_ms & 0xFFFFFFFF)


def test_template_frames_inherit_the_handlers_flow_id_and_coloring() -> None:
    token = enter_call(CallScope(method="x.Y.Z", flow_id=987654321, coloring=3))
    try:
        expected = encode_frame(encode_head(request_head("a.b.c", 42, caller="Me.Svc")), b"x")
        assert _request_frame("a.b.c", 42, b"x", False, "Me.Svc", None, None)(1.0) == expected
        head, _ = decode_frame(expected)
        assert (head.flow_id, head.coloring) == (987654321, 3)
    finally:
        leave_call(token)


# --- coalesced writes of the blocking client ----------------------------------------------------------

#: Larger than loopback's socket buffers together (tcp_wmem max 4 MiB + tcp_rmem max 32 MiB here).
BIG = 64 * 1024 * 1024


def test_a_call_queued_behind_a_blocked_writer_times_out_unsent_and_later_calls_go_out_after_it(raw_server: Any) -> None:
    go = threading.Event()
    seen: List[bytes] = []

    def read_when_told(conn: socket.socket) -> None:
        go.wait(30)
        for _ in range(2):  # the big request, then the one queued after the timed-out one
            head, body = decode_frame(read_frame(conn))
            seen.append(head.method_name)
            conn.sendall(encode_frame(encode_head(head.with_fields(err=0)), str(len(body)).encode()))
        time.sleep(0.5)

    s = raw_server(read_when_told)
    address = f"127.0.0.1:{s.port}"
    results: dict = {}
    with Client() as client:
        def call(name: str, body: bytes) -> None:
            results[name] = client.call(address, f"t.S.{name}", body, 20000)

        big = threading.Thread(target=call, args=("Big", b"b" * BIG))
        big.start()
        conns = lambda: [c for listed in client._conns.values() for c in listed]  # noqa: E731
        # The big call holds the writer's turn, its frame taken from the outbox, the socket full.
        wait_until(lambda: any(c._writing and not c._outbox and c.pending for c in conns()), "the big request is being written")
        started = time.monotonic()
        with pytest.raises(SrpcError) as err:
            client.call(address, "t.S.Late", b"late", 300)
        assert (err.value.code, err.value.message) == (-10, f"timeout sending to {address}@tcp")
        assert time.monotonic() - started < 10
        after = threading.Thread(target=call, args=("After", b"after"))
        after.start()
        wait_until(lambda: any(len(c._outbox) == 1 for c in conns()), "the next request is queued")
        go.set()
        big.join(30)
        after.join(30)
    assert results == {"Big": str(BIG).encode(), "After": b"5"}
    assert seen == [b"t.S.Big", b"t.S.After"]  # the timed-out request never went out
    assert s.connections == 1


def echo_forever(conn: socket.socket) -> None:
    while True:
        head, body = decode_frame(read_frame(conn))
        conn.sendall(encode_frame(encode_head(head.with_fields(err=0)), body))


def test_a_queued_call_given_the_turn_as_its_wait_runs_out_passes_it_on_and_the_connection_keeps_writing(raw_server: Any) -> None:
    s = raw_server(echo_forever)
    address = f"127.0.0.1:{s.port}"
    with Client() as client:
        assert client.call(address, "t.S.Echo", b"open", 5000) == b"open"
        (conn,) = [c for listed in client._conns.values() for c in listed]
        with conn._lock:
            conn._writing = True  # as if another call were writing: the next one queues
        outcome: List[Any] = []
        queued = threading.Thread(target=lambda: outcome.append(pytest.raises(SrpcError, client.call, address, "t.S.Echo", b"q", 300)))
        queued.start()
        wait_until(lambda: len(conn._outbox) == 1, "the call is queued")
        with conn._lock:
            conn._outbox[0].turn = True  # the turn handed over as the wait runs out (its wake-up lost)
        queued.join(30)
        (err,) = outcome
        assert (err.value.code, err.value.message) == (-10, f"timeout sending to {address}@tcp")
        assert not conn._writing and not conn._outbox and not conn.pending  # the turn was not kept by the call that left
        assert client.call(address, "t.S.Echo", b"after", 5000) == b"after"
    assert s.connections == 1


def test_threads_calling_at_once_all_get_their_own_replies_on_one_connection(raw_server: Any) -> None:
    count = 48

    def echo_all(conn: socket.socket) -> None:
        for _ in range(count):
            head, body = decode_frame(read_frame(conn))
            conn.sendall(encode_frame(encode_head(head.with_fields(err=0)), body))
        time.sleep(0.5)

    s = raw_server(echo_all)
    address = f"127.0.0.1:{s.port}"
    barrier = threading.Barrier(count)
    results: List[bytes] = [b""] * count
    with Client() as client:
        def call(i: int) -> None:
            barrier.wait()
            results[i] = client.call(address, "t.S.Echo", f"call-{i}".encode(), 10000)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert all(not c._outbox and not c._writing and not c.pending for listed in client._conns.values() for c in listed)
    assert results == [f"call-{i}".encode() for i in range(count)]
    assert s.connections == 1


# --- asyncio: one write per loop turn -----------------------------------------------------------------


def test_async_calls_made_in_one_loop_turn_go_out_in_one_write(raw_server: Any) -> None:
    count = 10

    def echo_all(conn: socket.socket) -> None:
        for _ in range(count + 1):
            head, body = decode_frame(read_frame(conn))
            conn.sendall(encode_frame(encode_head(head.with_fields(err=0)), body))
        time.sleep(0.5)

    s = raw_server(echo_all)
    address = f"127.0.0.1:{s.port}"

    async def main() -> List[Any]:
        async with AsyncClient() as client:
            assert await client.call(address, "t.S.Echo", b"first", 5000) == b"first"  # opens the connection
            conn = next(iter(client._conns.values()))
            writes: List[bytes] = []
            real_write = conn.writer.write
            conn.writer.write = lambda data: (writes.append(bytes(data)), real_write(data))[1]  # type: ignore[method-assign]
            replies = await asyncio.gather(*(client.call(address, "t.S.Echo", f"m{i}".encode(), 5000) for i in range(count)))
            return [replies, writes]

    replies, writes = asyncio.run(main())
    assert replies == [f"m{i}".encode() for i in range(count)]
    assert len(writes) == 1
    assert [decode_frame(f)[1] for f in split_frames(writes[0])] == [f"m{i}".encode() for i in range(count)]


def split_frames(data: bytes) -> List[bytes]:
    out = []
    while data:
        total = 10 + int.from_bytes(data[1:5], "big") + int.from_bytes(data[5:9], "big")
        out.append(data[:total])
        data = data[total:]
    return out
