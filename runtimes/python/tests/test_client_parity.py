"""Client parity on real sockets (issue 13): the blocking Client multiplexes threads' calls on one
connection by sequence; ``retries`` of refused connections only; refused servers held out of picks."""
import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List

import pytest

from conftest import free_port, read_frame
from methods import METHODS
from msec import AsyncClient, Balancer, Client, Instance, Router, SrpcError, StaticResolver, decode_frame, encode_frame, encode_head, parse_address
from msec.route import REFUSED_HOLD_S


def addr(text: str) -> Any:
    a = parse_address(text)
    assert a is not None
    return a


def closed_address() -> str:
    """An address nothing listens on (connections to it are refused)."""
    return f"127.0.0.1:{free_port()}"


def code_of(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    with pytest.raises(SrpcError) as err:
        fn(*args, **kwargs)
    return err.value.code


class CountingRouter(Router):
    """A Router that counts its picks (how many attempts a call made)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.picks: List[str] = []

    def route(self, service: str) -> Any:
        picked = super().route(service)
        self.picks.append(str(picked))
        return picked


def closed_first_router(live: str, closed: str, rng: Callable[[int], int] = lambda n: 0) -> CountingRouter:
    """``T.svc``: the closed address (weight 1000, picked first by ``rng`` = 0) and the live one (weight 1)."""
    table = {"T.svc": [Instance(addr(closed), 1000), Instance(addr(live), 1)]}
    return CountingRouter([StaticResolver(table)], Balancer(rng=rng))


# --- multiplexing -------------------------------------------------------------------------------


def answer_four_in_reverse(conn: socket.socket) -> None:
    """Reads four requests from one connection, then answers them last-first (each echoes its body)."""
    requests = [decode_frame(read_frame(conn)) for _ in range(4)]
    for head, body in reversed(requests):
        conn.sendall(encode_frame(encode_head(head.with_fields(err=0)), body))
    time.sleep(0.5)


def test_threads_share_one_connection_and_get_out_of_order_replies(raw_server: Any) -> None:
    s = raw_server(answer_four_in_reverse)
    address = f"127.0.0.1:{s.port}"
    with Client() as client, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: client.call(address, "t.S.Echo", f"call-{i}".encode(), 3000), range(4)))
    assert results == [b"call-0", b"call-1", b"call-2", b"call-3"]
    assert s.connections == 1  # one connection carried all four: the fourth reply came first


def test_threads_multiplexed_on_a_real_server_sleeping_in_descending_order(serve: Any) -> None:
    s = serve(METHODS)
    delays = [600, 400, 200, 0]
    with Client() as client:
        warm = json.loads(client.call(s.address, "t.S.Who", b"", 2000))["peer"]
        with ThreadPoolExecutor(len(delays)) as pool:
            # 1000 ms each: one after another on one connection (or one call per connection at a time) would time out
            results = list(pool.map(lambda d: client.call(s.address, "t.S.Slow", str(d).encode(), 1000), delays))
        assert results == [str(d).encode() for d in delays]
        peers = {json.loads(client.call(s.address, "t.S.Who", b"", 1000))["peer"] for _ in range(3)}
    assert peers == {warm}


def answer_late_then_unknown_then_right(conn: socket.socket) -> None:
    first_head, _ = decode_frame(read_frame(conn))  # the call that will time out
    time.sleep(0.4)
    conn.sendall(encode_frame(encode_head(first_head.with_fields(err=0)), b"late"))  # remembered: dropped quietly
    head, body = decode_frame(read_frame(conn))
    conn.sendall(encode_frame(encode_head(head.with_fields(err=0)), body))
    head, _ = decode_frame(read_frame(conn))
    conn.sendall(encode_frame(encode_head(head.with_fields(sequence=head.sequence + 7)), b"x"))  # the only call: -16
    time.sleep(0.5)


def test_late_and_unknown_replies_are_attributed_as_the_ts_client_does(raw_server: Any) -> None:
    s = raw_server(answer_late_then_unknown_then_right)
    address = f"127.0.0.1:{s.port}"
    with Client() as client:
        assert code_of(client.call, address, "t.S.Echo", b"first", 200) == -10
        time.sleep(0.4)
        assert client.call(address, "t.S.Echo", b"second", 2000) == b"second"
        assert code_of(client.call, address, "t.S.Echo", b"third", 2000) == -16
    assert s.connections == 1  # the timed-out call did not cost the connection


def test_msec_sendrcv_exchange_still_returns_the_raw_reply_frame(serve: Any) -> None:
    from msec_impl import srpc_deserialize, srpc_sendrcv, srpc_serialize

    s = serve(METHODS)
    frames = [srpc_serialize("t.S.Echo", f"m{i}".encode(), 100 + i) for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda f: srpc_sendrcv(s.address, f, 2000), frames))
    assert [srpc_deserialize(r) for r in replies] == [{"body": f"m{i}".encode(), "seq": 100 + i, "errmsg": "success"} for i in range(6)]


def test_calls_in_flight_fail_with_minus_13_when_the_connection_drops(serve: Any) -> None:
    s = serve(METHODS)
    with Client() as client:
        client.call(s.address, "t.S.Echo", b"warm", 1000)
        with ThreadPoolExecutor(3) as pool:
            pending = [pool.submit(code_of, client.call, s.address, "t.S.Slow", b"2000", 5000) for _ in range(3)]
            time.sleep(0.3)
            client.close()  # closes the shared connection under the three calls
            assert [p.result(timeout=5) for p in pending] == [-13, -13, -13]


# --- retries of refused connections ---------------------------------------------------------------


def test_refused_connection_is_retried_on_another_instance_only_when_asked(serve: Any) -> None:
    s = serve(METHODS)
    closed = closed_address()
    router = closed_first_router(s.address, closed)
    with Client(router) as client:
        assert code_of(client.call, "T.svc", "t.S.Echo", b"a", 2000) == -13  # default retries=0
        assert router.picks == [f"{closed}@tcp"]
    router = closed_first_router(s.address, closed)
    with Client(router) as client:
        assert client.call("T.svc", "t.S.Echo", b"b", 2000, retries=2) == b"b"  # per call
        assert router.picks == [f"{closed}@tcp", f"{s.address}@tcp"]
    router = closed_first_router(s.address, closed)
    with Client(router, retries=1) as client:  # per client
        assert client.call("T.svc", "t.S.Echo", b"c", 2000) == b"c"
        assert len(router.picks) == 2


def test_literal_addresses_are_never_retried() -> None:
    router = CountingRouter([StaticResolver({})], Balancer())
    closed = closed_address()
    with Client(router, retries=3) as client:
        assert code_of(client.call, closed, "t.S.Echo", b"", 2000) == -13
    assert router.picks == [f"{closed}@tcp"]


def never_answer(conn: socket.socket) -> None:
    read_frame(conn)
    time.sleep(2.0)


def test_timeouts_are_not_retried(serve: Any, raw_server: Any) -> None:
    s = serve(METHODS)
    silent = raw_server(never_answer)
    router = closed_first_router(s.address, f"127.0.0.1:{silent.port}")
    with Client(router, retries=3) as client:
        assert code_of(client.call, "T.svc", "t.S.Echo", b"", 300) == -10
    assert len(router.picks) == 1


def test_attempts_share_the_call_budget() -> None:
    closed = [closed_address() for _ in range(3)]
    table = {"T.svc": [Instance(addr(a)) for a in closed]}
    router = CountingRouter([StaticResolver(table)], Balancer())
    with Client(router) as client:
        assert code_of(client.call, "T.svc", "t.S.Echo", b"", 2000, retries=10) == -13
    # every instance refused and is held; once all are held picks draw from all again, so the
    # call stops after its 1 + 10 attempts, never beyond them
    assert len(router.picks) == 11


class SlowRouter(CountingRouter):
    def route(self, service: str) -> Any:
        time.sleep(0.15)
        return super().route(service)


def test_retries_stop_when_the_budget_is_spent() -> None:
    table = {"T.svc": [Instance(addr(closed_address()))]}
    router = SlowRouter([StaticResolver(table)], Balancer())
    with Client(router) as client:
        # -10 when the budget ran out during a pick (the usual end), -13 when a refusal came right at it
        assert code_of(client.call, "T.svc", "t.S.Echo", b"", 400, retries=50) in (-10, -13)
    assert 2 <= len(router.picks) <= 4  # 150 ms per pick in a 400 ms budget, not 51 attempts


def test_retries_must_be_a_whole_number() -> None:
    with pytest.raises(ValueError, match="retries must be an integer >= 0"):
        Client(retries=-1)
    with pytest.raises(ValueError, match=r"retries must be an integer >= 0 \(got 1.5\)"):
        Client().call("127.0.0.1:1", "t.S.Echo", b"", 100, retries=1.5)  # type: ignore[arg-type]


def test_async_client_retries_refused_connections_only_when_asked(serve: Any) -> None:
    s = serve(METHODS)
    closed = closed_address()

    async def main() -> None:
        router = closed_first_router(s.address, closed)
        async with AsyncClient(router) as client:
            with pytest.raises(SrpcError) as err:
                await client.call("T.svc", "t.S.Echo", b"a", 2000)
            assert err.value.code == -13
        router = closed_first_router(s.address, closed)
        async with AsyncClient(router) as client:
            assert await client.call("T.svc", "t.S.Echo", b"b", 2000, retries=2) == b"b"
            assert router.picks == [f"{closed}@tcp", f"{s.address}@tcp"]
        router = closed_first_router(s.address, closed)
        async with AsyncClient(router, retries=1) as client:
            assert await client.call("T.svc", "t.S.Echo", b"c", 2000) == b"c"
        router = CountingRouter([StaticResolver({})], Balancer())
        async with AsyncClient(router, retries=3) as client:
            with pytest.raises(SrpcError) as err:
                await client.call(closed, "t.S.Echo", b"", 2000)
            assert err.value.code == -13 and len(router.picks) == 1

    asyncio.run(main())


# --- the refused hold -----------------------------------------------------------------------------


def test_a_refused_server_is_dead_at_once_and_held_out_of_every_pick(serve: Any) -> None:
    s = serve(METHODS)
    closed = closed_address()
    now = [0.0]
    draws: List[int] = []

    def rng(n: int) -> int:
        draws.append(n)
        return n - 1  # the top of every draw: the dead-probe branch whenever there is a dead pool

    table = {"T.svc": [Instance(addr(s.address), 100), Instance(addr(closed), 100)]}
    balancer = Balancer(clock=lambda: now[0], rng=rng)
    router = Router([StaticResolver(table)], balancer)
    with Client(router) as client:
        # rng n-1 picks the last alive server first: the closed one
        assert code_of(client.call, "T.svc", "t.S.Echo", b"", 2000) == -13
        assert balancer.weights("T.svc") == {addr(s.address): (100, False), addr(closed): (0, True)}
        for _ in range(30):  # probes would pick the dead server; held, it is not even a candidate
            now[0] += 0.1
            assert client.call("T.svc", "t.S.Echo", b"x", 2000) == b"x"
        now[0] = REFUSED_HOLD_S + 0.01
        # after the hold it is probed like any dead server: the probe branch picks it again
        assert router.route("T.svc") == addr(closed)


def test_refused_hold_is_five_seconds_as_in_typescript() -> None:
    assert REFUSED_HOLD_S == 5.0
    now = [0.0]
    a, b = addr("10.0.0.1:1"), addr("10.0.0.2:1")
    balancer = Balancer(clock=lambda: now[0], rng=lambda n: n - 1)
    instances = [Instance(a, 100), Instance(b, 100)]
    assert balancer.pick("S.x", instances) == b
    assert balancer.mark_refused("S.x", b) is True
    assert balancer.mark_refused("S.x", addr("10.0.0.9:1")) is False
    assert balancer.mark_refused("S.unknown", b) is False
    now[0] = 4.99
    assert balancer.pick("S.x", instances) == a
    now[0] = 5.0
    assert balancer.pick("S.x", instances) == b  # a dead probe, allowed again
    # all held: picks draw from all servers
    balancer2 = Balancer(clock=lambda: 0.0, rng=lambda n: 0)
    balancer2.pick("S.y", instances)
    balancer2.mark_refused("S.y", a)
    balancer2.mark_refused("S.y", b)
    # all dead and held: uniform over all servers, in the balancer's order (b was marked last: [b, a])
    assert balancer2.pick("S.y", instances) == b
