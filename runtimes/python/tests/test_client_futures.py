"""The blocking client's futures (``Client.call_future`` / ``call_message_future``) against real
sockets: results, replies out of order, the same error codes as ``call`` (timeouts -10/-12, refused
-13, no route -15, peer gone -13), many calls in flight from one thread on one connection,
callbacks that make the next call, futures and blocking threads sharing a connection."""
import os
import socket
import threading
from concurrent.futures import Future
from typing import Any, Dict, List

import pytest
from google.protobuf.wrappers_pb2 import StringValue

from conftest import free_port, read_frame
from methods import METHODS
from msec import Balancer, Client, Instance, Router, SrpcError, StaticResolver, decode_frame, encode_frame, encode_head, parse_address

WAIT_S = 30  # how long a test waits for a future that must complete (a loaded machine is slow)


def code(future: "Future[Any]") -> int:
    exc = future.exception(WAIT_S)
    assert isinstance(exc, SrpcError), exc
    return exc.code


def router_for(**routes: List[str]) -> Router:
    table = {name: [Instance(parse_address(a)) for a in addrs] for name, addrs in routes.items()}
    return Router([StaticResolver(table)], Balancer())


def test_a_future_completes_with_the_reply_body_and_cannot_be_cancelled(serve: Any) -> None:
    s = serve(METHODS)
    with Client() as client:
        future = client.call_future(s.address, "t.S.Echo", b"hello", 5000)
        assert future.result(WAIT_S) == b"hello"
        assert future.done() and not future.cancel()
        assert code(client.call_future(s.address, "t.S.Nope", b"", 5000)) == -6  # the server's error, as call() raises it


def test_typed_future_parses_the_reply(serve: Any) -> None:
    s = serve(METHODS)
    with Client() as client:
        future = client.call_message_future(s.address, "t.S.Echo", StringValue(value="typed"), StringValue, 5000)
        assert future.result(WAIT_S) == StringValue(value="typed")


def reply_in_reverse(count: int) -> Any:
    def behaviour(conn: socket.socket) -> None:
        frames = [decode_frame(read_frame(conn)) for _ in range(count)]
        for head, body in reversed(frames):
            conn.sendall(encode_frame(encode_head(head.with_fields(err=0)), body))
        read_frame(conn)  # holds the connection until the client closes it

    return behaviour


def test_replies_in_reverse_order_complete_their_own_futures(raw_server: Any) -> None:
    peer = raw_server(reply_in_reverse(20))
    with Client() as client:
        futures = [client.call_future(f"127.0.0.1:{peer.port}", "a.b.c", b"n%d" % i, 10000) for i in range(20)]
        assert [f.result(WAIT_S) for f in futures] == [b"n%d" % i for i in range(20)]
    assert peer.connections == 1


def stall(conn: socket.socket) -> None:
    while conn.recv(65536):  # reads everything, answers nothing; returns when the client closes
        pass


def answer_half_then_stall(conn: socket.socket) -> None:
    head, _ = decode_frame(read_frame(conn))
    reply = encode_frame(encode_head(head.with_fields(err=0)), b"0123456789")
    conn.sendall(reply[: len(reply) // 2])
    stall(conn)


def test_timeouts_through_futures_are_minus_10_and_minus_12_and_late_calls_still_work(raw_server: Any, serve: Any) -> None:
    silent = raw_server(stall)
    half = raw_server(answer_half_then_stall)
    s = serve(METHODS)
    with Client() as client:
        assert code(client.call_future(f"127.0.0.1:{silent.port}", "a.b.c", b"x", 200)) == -10
        assert code(client.call_future(f"127.0.0.1:{half.port}", "a.b.c", b"x", 200)) == -12
        # a short deadline behind a long one is still kept (the deadline thread wakes for it)
        long = client.call_future(f"127.0.0.1:{silent.port}", "a.b.c", b"x", 60000)
        assert code(client.call_future(f"127.0.0.1:{silent.port}", "a.b.c", b"y", 200)) == -10
        assert not long.done()
        assert client.call_future(s.address, "t.S.Echo", b"after", 5000).result(WAIT_S) == b"after"
    assert code(long) == -13  # closing the client fails what is still in flight


def test_refused_no_route_and_peer_gone_fail_the_future_not_the_call(raw_server: Any) -> None:
    def close_after_request(conn: socket.socket) -> None:
        read_frame(conn)

    gone = raw_server(close_after_request)
    with Client(router_for()) as client:
        assert code(client.call_future(f"127.0.0.1:{free_port()}", "a.b.c", b"", 1000)) == -13
        assert code(client.call_future("No.Such", "a.b.c", b"", 1000)) == -15
        assert code(client.call_future(f"127.0.0.1:{gone.port}", "a.b.c", b"", 5000)) == -13


def test_refused_instances_are_retried_only_when_asked_and_the_balancer_hears_every_outcome(serve: Any) -> None:
    s = serve(METHODS)
    down = f"127.0.0.1:{free_port()}"
    router = router_for(**{"T.mixed": [down, s.address], "T.down": [down]})
    with Client(router) as client:
        futures = [client.call_future("T.mixed", "t.S.Echo", b"%d" % i, 5000, retries=1) for i in range(20)]
        assert [f.result(WAIT_S) for f in futures] == [b"%d" % i for i in range(20)]
        assert code(client.call_future("T.down", "t.S.Echo", b"", 5000, retries=3)) == -13  # one instance: nowhere else to go
    up = next(x for x in router.balancer._services["T.mixed"].servers if f"{x.address.ip}:{x.address.port}" == s.address)
    assert (up.success, up.failed) == (20, 0)


def test_many_futures_in_flight_from_one_thread_share_one_connection(serve: Any) -> None:
    s = serve(METHODS)
    with Client() as client:
        futures = [client.call_future(s.address, "t.S.Echo", b"m%d" % i, 20000) for i in range(500)]
        assert [f.result(WAIT_S) for f in futures] == [b"m%d" % i for i in range(500)]
        (listed,) = client._conns.values()
        (conn,) = listed
        assert not conn.pending and not conn._outbox and not conn._writing


def test_callbacks_run_on_the_reader_and_may_make_the_next_call(serve: Any) -> None:
    s = serve(METHODS)
    chains, length = 8, 50
    seen: Dict[int, List[bytes]] = {c: [] for c in range(chains)}
    threads: List[str] = []
    done = threading.Barrier(chains + 1, timeout=WAIT_S)

    with Client() as client:

        def next_call(chain: int, i: int) -> None:
            f = client.call_future(s.address, "t.S.Echo", b"%d.%d" % (chain, i), 20000)
            f.add_done_callback(lambda f: on_reply(chain, i, f))

        def on_reply(chain: int, i: int, f: "Future[bytes]") -> None:
            seen[chain].append(f.result())
            threads.append(threading.current_thread().name)
            if i + 1 < length:
                next_call(chain, i + 1)
            else:
                threading.Thread(target=done.wait).start()  # never block the reader

        for c in range(chains):
            next_call(c, 0)
        done.wait()
    assert seen == {c: [b"%d.%d" % (c, i) for i in range(length)] for c in range(chains)}
    # On the reader; a callback added to a future already answered runs at once in the thread
    # adding it (concurrent.futures' rule): only the first call of a chain is added by the main thread.
    reader = f"msec-client-{s.address}@tcp"
    assert reader in threads and set(threads) <= {reader, "MainThread"}
    assert threads.count("MainThread") <= chains


def test_blocking_threads_and_futures_share_a_connection(serve: Any) -> None:
    s = serve(METHODS)
    errors: List[BaseException] = []
    with Client() as client:

        def blocking(t: int) -> None:
            try:
                for i in range(40):
                    assert client.call(s.address, "t.S.Echo", b"t%d.%d" % (t, i), 20000) == b"t%d.%d" % (t, i)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=blocking, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        futures = [client.call_future(s.address, "t.S.Echo", b"f%d" % i, 20000) for i in range(300)]
        for t in threads:
            t.join(WAIT_S)
        assert [f.result(WAIT_S) for f in futures] == [b"f%d" % i for i in range(300)]
        assert errors == []
        for listed in client._conns.values():
            for conn in listed:
                assert not conn.pending and not conn._outbox and not conn._writing


def test_a_bad_retries_value_is_refused_at_once() -> None:
    with Client() as client:
        with pytest.raises(ValueError, match="retries must be an integer >= 0"):
            client.call_future("127.0.0.1:1", "a.b.c", b"", 1000, retries=-1)


def test_a_forked_child_opens_its_own_connection_and_keeps_its_own_deadlines(serve: Any, raw_server: Any) -> None:
    s = serve(METHODS)
    silent = raw_server(stall)
    with Client() as client:
        assert client.call_future(s.address, "t.S.Echo", b"parent", 5000).result(WAIT_S) == b"parent"  # reader and deadline threads run
        pid = os.fork()
        if pid == 0:  # the child: neither the parent's connection reader nor its deadline thread is here
            ok = False
            try:
                ok = (
                    client.call(s.address, "t.S.Echo", b"child", 5000) == b"child"
                    and client.call_future(s.address, "t.S.Echo", b"child-f", 5000).result(WAIT_S) == b"child-f"
                    and code(client.call_future(f"127.0.0.1:{silent.port}", "a.b.c", b"", 200)) == -10
                )
            finally:
                os._exit(0 if ok else 1)  # never back into pytest
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert client.call(s.address, "t.S.Echo", b"parent again", 5000) == b"parent again"
