"""Deadline propagation (spec §14) over real sockets: ``timeout_ms`` (CRpcHead field 70) sent by
both clients, ``ctx.deadline`` on the server counted from the request's first byte, the -10
answer and cancellation at the deadline, and a call chain A → B → C."""
import asyncio
import json
import math
import socket
import threading
import time
from typing import Any, Dict, List

import pytest

from conftest import read_frame, read_http
from msec import AsyncClient, Client, RpcHead, SrpcError, decode_frame, decode_head, encode_frame, encode_head, envelope_body
from msec.context import CallScope, enter_call, leave_call


def frame(method: str, body: bytes = b"", seq: int = 1, **head: Any) -> bytes:
    return encode_frame(encode_head(RpcHead(sequence=seq, method_name=method.encode(), flow_id=9, **head)), body)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    return s


def metric(server: Any, method: str) -> int:
    return int(server.server.stats.get("msec_server_deadline_exceeded_total", method))


# ---------------------------------------------------------------------------- clients


class HeadRecorder:
    """A raw SRPC peer that records each request head and answers it with an empty body."""

    def __init__(self, raw_server: Any) -> None:
        self.heads: List[RpcHead] = []
        self.raw: List[bytes] = []
        self.server = raw_server(self._serve)

    def _serve(self, conn: socket.socket) -> None:
        while True:
            data = read_frame(conn)
            head_len = int.from_bytes(data[1:5], "big")
            raw = data[9:9 + head_len]
            head = decode_head(raw)
            self.heads.append(head)
            self.raw.append(raw)
            conn.sendall(encode_frame(encode_head(RpcHead(sequence=head.sequence, method_name=head.method_name))))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"


def test_sync_client_sends_the_budget_left_and_send_timeout_false_sends_msec_fields_only(raw_server):
    peer = HeadRecorder(raw_server)
    with Client() as client:
        client.call(peer.address, "t.S.Echo", b"", 2500)
        client.call(peer.address, "t.S.Echo", b"")
        client.call(peer.address, "t.S.Echo", b"", 2500, send_timeout=False)
    with Client(send_timeout=False) as msec_like:
        msec_like.call(peer.address, "t.S.Echo", b"", 2500)
    own, default, off, off_client = peer.heads
    assert 2400 <= own.timeout_ms <= 2500
    assert 4900 <= default.timeout_ms <= 5000  # the Python client's default 5000 ms
    assert off.timeout_ms is None and off_client.timeout_ms is None
    # The field is the head's last bytes (b0 04 + varint); the rest is what MSEC's client writes.
    tail = bytes.fromhex("b004") + _varint(own.timeout_ms)
    assert peer.raw[0].endswith(tail)
    assert peer.raw[0][: -len(tail)] == encode_head(own.with_fields(timeout_ms=None))


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def test_async_client_sends_the_budget_left_capped_by_the_handlers_deadline(raw_server):
    peer = HeadRecorder(raw_server)

    async def main() -> None:
        async with AsyncClient() as client:
            await client.call(peer.address, "t.S.Echo", b"", 1500)
            await client.call(peer.address, "t.S.Echo", b"", 1500, send_timeout=False)
            token = enter_call(CallScope(method="x.Y.Z", flow_id=5, deadline=time.time() + 0.4))
            try:
                await client.call(peer.address, "t.S.Echo", b"", 5000)
            finally:
                leave_call(token)

    asyncio.run(main())
    own, off, inherited = peer.heads
    assert 1400 <= own.timeout_ms <= 1500
    assert off.timeout_ms is None
    assert 250 <= inherited.timeout_ms <= 400


def test_a_call_inside_a_handler_whose_deadline_passed_fails_with_minus_10_without_sending(raw_server):
    peer = HeadRecorder(raw_server)
    token = enter_call(CallScope(method="x.Y.Z", flow_id=5, deadline=time.time() - 0.001))
    try:
        with Client() as client:
            with pytest.raises(SrpcError) as err:
                client.call(peer.address, "t.S.Echo", b"", 1000)
        assert err.value.code == -10
        assert "no time left" in err.value.message

        async def main() -> int:
            async with AsyncClient() as client:
                try:
                    await client.call(peer.address, "t.S.Echo", b"", 1000)
                except SrpcError as exc:
                    return exc.code
            return 0

        assert asyncio.run(main()) == -10
    finally:
        leave_call(token)
    assert peer.heads == []


# ---------------------------------------------------------------------------- server


class Seen:
    """What the test methods saw (written from the server's thread and handler threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.left_at_start: List[float] = []
        self.started = 0
        self.finished = 0
        self.cancelled: List[str] = []
        self.order: List[str] = []

    def note(self, **kw: Any) -> None:
        with self.lock:
            for k, v in kw.items():
                getattr(self, k).append(v)


def deadline_methods(seen: Seen) -> Dict[str, Any]:
    async def wait(body: bytes, ctx: Any) -> Any:
        seen.started += 1
        seen.note(left_at_start=ctx.deadline - time.time())
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen.note(cancelled=f"async, cancel_event={ctx.cancelled}")
            raise
        seen.finished += 1
        return b"done" if ctx.format == "binary" else {"v": "done"}

    def wait_sync(body: bytes, ctx: Any) -> Any:
        seen.started += 1
        stopped = ctx.cancel_event.wait(5)  # a sleep that ends when the call is given up
        if stopped:
            seen.note(cancelled="sync")
            return b"too late"
        seen.finished += 1
        return b"done"

    async def stubborn(body: bytes, ctx: Any) -> Any:
        seen.started += 1
        try:
            await asyncio.sleep(0.3)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)  # ignores the cancellation for a while
            seen.note(order="stubborn finished")
            return b"late"
        return b"late"

    def quick(body: Any, ctx: Any) -> Any:
        seen.started += 1
        seen.note(left_at_start=ctx.deadline - time.time(), order="quick")
        seen.finished += 1
        return b"quick" if ctx.format == "binary" else {"v": "quick"}

    return {"dl.Svc.Wait": wait, "dl.Svc.WaitSync": wait_sync, "dl.Svc.Stubborn": stubborn, "dl.Svc.Quick": quick}


def test_srpc_deadline_answers_minus_10_cancels_the_async_handler_and_counts(serve):
    seen = Seen()
    s = serve(deadline_methods(seen))
    with connect(s.port) as c:
        sent = time.monotonic()
        c.sendall(frame("dl.Svc.Wait", timeout_ms=200))
        head, body = decode_frame(read_frame(c))
        elapsed = time.monotonic() - sent
    assert (head.err, head.err_msg, body) == (-10, b"deadline exceeded (timeout_ms=200)", b"")
    assert head.timeout_ms == 200  # the request head is echoed, field 70 included
    assert elapsed >= 0.19
    assert 0 < seen.left_at_start[0] <= 0.2
    time.sleep(0.05)
    assert seen.cancelled == ["async, cancel_event=True"]
    assert seen.finished == 0
    assert metric(s, "dl.Svc.Wait") == 1
    assert 'msec_server_deadline_exceeded_total{method="dl.Svc.Wait"} 1' in s.server.stats.prometheus_text()


def test_a_plain_def_handler_sees_ctx_cancelled_and_its_late_result_is_dropped(serve):
    seen = Seen()
    s = serve(deadline_methods(seen))
    with connect(s.port) as c:
        c.sendall(frame("dl.Svc.WaitSync", seq=1, timeout_ms=150))
        head, _ = decode_frame(read_frame(c))
        assert (head.sequence, head.err, head.err_msg) == (1, -10, b"deadline exceeded (timeout_ms=150)")
        for _ in range(100):
            if seen.cancelled:
                break
            time.sleep(0.02)
        assert seen.cancelled == ["sync"]
        c.sendall(frame("dl.Svc.Quick", seq=2))
        head, body = decode_frame(read_frame(c))
        assert (head.sequence, head.err, body) == (2, None, b"quick")  # not the handler's "too late"
    assert metric(s, "dl.Svc.WaitSync") == 1


def test_no_timeout_ms_or_zero_means_no_deadline(serve):
    seen = Seen()
    s = serve(deadline_methods(seen))
    with connect(s.port) as c:
        c.sendall(frame("dl.Svc.Quick", seq=1) + frame("dl.Svc.Quick", seq=2, timeout_ms=0))
        assert [decode_frame(read_frame(c))[0].err for _ in range(2)] == [None, None]
    assert seen.left_at_start == [math.inf, math.inf]


def test_the_call_holds_its_place_until_a_handler_that_ignores_cancellation_ends(serve):
    seen = Seen()
    s = serve(deadline_methods(seen), max_in_flight_per_connection=1)
    with connect(s.port) as c:
        c.sendall(frame("dl.Svc.Stubborn", seq=1, timeout_ms=50) + frame("dl.Svc.Quick", seq=2))
        first, _ = decode_frame(read_frame(c))
        second, body = decode_frame(read_frame(c))
        assert (first.sequence, first.err, first.err_msg) == (1, -10, b"deadline exceeded (timeout_ms=50)")
        assert (second.sequence, body) == (2, b"quick")
        c.settimeout(0.4)
        with pytest.raises(socket.timeout):
            c.recv(1)  # the stubborn handler's "late" answer is never written
    assert seen.order == ["stubborn finished", "quick"]


def test_a_request_whose_deadline_passed_in_the_backlog_is_answered_without_running(serve):
    seen = Seen()
    s = serve(deadline_methods(seen), max_in_flight_per_connection=1)
    with connect(s.port) as c:
        c.sendall(frame("dl.Svc.Stubborn", seq=1, timeout_ms=0) + frame("dl.Svc.Quick", seq=2, timeout_ms=40))
        first, _ = decode_frame(read_frame(c))
        second, _ = decode_frame(read_frame(c))
    assert first.err is None
    assert (second.sequence, second.err, second.err_msg) == (2, -10, b"deadline exceeded (timeout_ms=40)")
    assert seen.started == 1
    assert metric(s, "dl.Svc.Quick") == 1


def test_the_deadline_counts_from_the_first_byte(serve):
    seen = Seen()
    s = serve(deadline_methods(seen))
    data = frame("dl.Svc.Quick", timeout_ms=1500)
    with connect(s.port) as c:
        c.sendall(data[:12])
        time.sleep(0.6)
        c.sendall(data[12:])
        head, _ = decode_frame(read_frame(c))
    assert head.err is None
    assert 0 < seen.left_at_start[0] <= 1.5 - 0.55


def test_udp_datagrams_get_the_deadline_too(serve):
    seen = Seen()
    s = serve(deadline_methods(seen))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(3)
        u.sendto(frame("dl.Svc.Wait", timeout_ms=100), ("127.0.0.1", s.port))
        head, _ = decode_frame(u.recv(65536))
    assert (head.err, head.err_msg) == (-10, b"deadline exceeded (timeout_ms=100)")


def _post(port: int, method: str, header: str) -> bytes:
    with connect(port) as c:
        c.sendall(f"POST /?methodName={method} HTTP/1.1\r\nHost: x\r\n{header}Content-Length: 2\r\n\r\n{{}}".encode())
        return read_http(c)


def test_http_x_msec_timeout_ms_header_gives_the_deadline_and_a_malformed_one_is_ignored(serve):
    seen = Seen()
    s = serve(deadline_methods(seen))
    response = _post(s.port, "dl.Svc.Wait", "X-Msec-Timeout-Ms: 150\r\n")
    assert response.endswith(b"\r\n\r\n" + envelope_body(-10, message="deadline exceeded (timeout_ms=150)").encode())
    for bad in ["-5", "12ms", "99999999999", ""]:
        assert _post(s.port, "dl.Svc.Quick", f"X-Msec-Timeout-Ms: {bad}\r\n").endswith(envelope_body(0, {"v": "quick"}).encode())
    assert _post(s.port, "dl.Svc.Quick", "x-msec-timeout-ms:  4000 \r\n").endswith(envelope_body(0, {"v": "quick"}).encode())
    assert 0 < seen.left_at_start[0] <= 0.15  # the Wait call
    assert seen.left_at_start[1:5] == [math.inf] * 4
    assert 3.0 < seen.left_at_start[5] <= 4.0
    assert metric(s, "dl.Svc.Wait") == 1


# ---------------------------------------------------------------------------- A → B → C


class Chain:
    """B and C of a chain; B sleeps 100 ms then calls C with its context; C sleeps 5 s."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.finished = 0
        self.b_left = math.nan
        self.c_left = math.nan
        self.c_head_budget = math.nan
        self.b_downstream = ""
        self.stopped_after: List[float] = []
        self.t0 = 0.0
        self.c_address = ""

    def enter(self) -> None:
        with self.lock:
            self.running += 1

    def leave(self) -> None:
        with self.lock:
            self.running -= 1
            self.stopped_after.append(time.monotonic() - self.t0)

    def c_methods(self) -> Dict[str, Any]:
        async def work(body: bytes, ctx: Any) -> bytes:
            self.enter()
            try:
                self.c_left = ctx.deadline - time.time()
                self.c_head_budget = int(body)
                await asyncio.sleep(5)
                self.finished += 1
                return b"c done"
            finally:
                self.leave()

        return {"chain.C.Work": work}

    def b_async_methods(self, client: AsyncClient) -> Dict[str, Any]:
        async def work(body: bytes, ctx: Any) -> bytes:
            self.enter()
            try:
                self.b_left = ctx.deadline - time.time()
                await asyncio.sleep(0.1)
                left_ms = int((ctx.deadline - time.time()) * 1000)
                try:
                    await client.call(self.c_address, "chain.C.Work", str(left_ms).encode(), 5000)
                    self.b_downstream = "ok"
                except SrpcError as exc:
                    # C gave up first (its deadline is B's, less the trip): a fallback that waits for
                    # more time is cut at B's own deadline (the task is cancelled).
                    self.b_downstream = str(exc.code)
                    await asyncio.sleep(5)
                    raise
                except asyncio.CancelledError:
                    self.b_downstream = "cancelled"
                    raise
                self.finished += 1
                return b"b done"
            finally:
                self.leave()

        return {"chain.B.Work": work}

    def b_sync_methods(self, client: Client) -> Dict[str, Any]:
        def work(body: bytes, ctx: Any) -> bytes:
            self.enter()
            try:
                self.b_left = ctx.deadline - time.time()
                ctx.cancel_event.wait(0.1)
                left_ms = int((ctx.deadline - time.time()) * 1000)
                try:
                    client.call(self.c_address, "chain.C.Work", str(left_ms).encode(), 5000)
                    self.b_downstream = "ok"
                except SrpcError as exc:
                    # A fallback that waits for more time ends when B's call is given up.
                    self.b_downstream = str(exc.code)
                    ctx.cancel_event.wait(5)
                    raise
                self.finished += 1
                return b"b done"
            finally:
                self.leave()

        return {"chain.B.Work": work}


def _run_chain(serve: Any, chain: Chain, b_methods: Dict[str, Any]) -> None:
    c = serve(chain.c_methods())
    chain.c_address = c.address
    b = serve(b_methods)
    chain.t0 = time.monotonic()
    with Client() as a:
        with pytest.raises(SrpcError) as err:
            a.call(b.address, "chain.B.Work", b"", 300)
    caller_done = time.monotonic() - chain.t0
    assert err.value.code == -10
    assert 0.29 <= caller_done < 2.0
    for _ in range(100):
        if chain.running == 0 and len(chain.stopped_after) == 2:
            break
        time.sleep(0.02)
    assert chain.running == 0, f"a handler is still running: {vars(chain)}"
    assert chain.finished == 0, "a handler ran to its end past the deadline"
    assert all(0.25 <= t < 2.0 for t in chain.stopped_after), chain.stopped_after  # at the 300 ms deadline
    assert 0.2 < chain.b_left <= 0.3, chain.b_left
    assert chain.c_head_budget <= 200
    assert 0 < chain.c_left <= chain.c_head_budget / 1000 + 0.005, (chain.c_left, chain.c_head_budget)
    assert chain.b_downstream in ("-10", "cancelled"), chain.b_downstream
    time.sleep(0.05)
    assert metric(b, "chain.B.Work") == 1
    assert metric(c, "chain.C.Work") == 1


def test_chain_with_async_handlers_stops_b_and_c_at_the_callers_300_ms(serve):
    chain = Chain()
    client = AsyncClient()
    _run_chain(serve, chain, chain.b_async_methods(client))


def test_chain_with_a_plain_def_handler_caps_its_downstream_call_at_the_time_left(serve):
    chain = Chain()
    with Client() as client:
        _run_chain(serve, chain, chain.b_sync_methods(client))
    assert chain.b_downstream == "-10"  # the blocking call to C timed out at B's deadline
