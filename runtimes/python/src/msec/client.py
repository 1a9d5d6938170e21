"""SRPC clients: a blocking :class:`Client` and an asyncio :class:`AsyncClient`.

Both route a service name (literal ``ip:port[@tcp|@udp]`` or ``Group.Service``),
keep persistent TCP connections per address, check that the response's
sequence matches the request's and raise :class:`SrpcError` with MSEC codes:

* -15 no route for the name,
* -10 the deadline passed with no reply (connect, send, or waiting),
* -12 the deadline passed while the reply was arriving (part of it received),
* -13 the connection failed or was closed by the peer,
* -16 the response carries another sequence,
* -3/-4 the response frame or head is malformed,
* the server's ``err`` when it is non-zero (e.g. -6 unknown method).

Outgoing heads follow the MSEC Python client (spec §1.6): ``coloring``,
djb2 ``color_id``, ``flow_id`` = ``color_id XOR sequence`` — except inside a
handler, where the current request's flow id and colouring are inherited and
``caller`` is this service's name.

Deadlines (msec-gen extension, spec §14): every request head carries
``timeout_ms`` (field 70), the call's remaining budget in ms when the request
is written (at least 1). Inside a handler the budget is the smaller of the
call's timeout and the time left to the handler's ``ctx.deadline``; with no
time left the call fails with -10 before anything is sent. MSEC peers ignore
the field; ``send_timeout=False`` (per client or per call) leaves it out, so
the head is byte-identical to the MSEC Python client's.
"""
import asyncio
import itertools
import random
import select
import socket
import threading
import time
import math
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar, Union

from .color import color_id
from .context import current_call, service_name
from .errors import (
    ERR_BODY_UNINIT,
    ERR_GET_ROUTE_FAILED,
    ERR_INVALID_PKG,
    ERR_INVALID_PKG_BODY,
    ERR_INVALID_PKG_HEAD,
    ERR_INVALID_SEQUENCE,
    ERR_RECV_TIMEOUT,
    ERR_SEND_RECV_FAILED,
    ERR_TIMEOUT,
    SrpcError,
    errmsg,
)
from .frame import MAX_FRAME_SIZE, UDP_MAX_DATAGRAM, FrameDecoder, RpcHead, decode_frame, encode_frame, encode_head
from .route import UDP, Address, Router, default_router

#: Timeout used when a caller passes ``timeout_ms <= 0`` (the Python original's 5000 ms).
DEFAULT_TIMEOUT_MS = 5000
#: Idle connections kept per address by the blocking client.
MAX_IDLE_PER_ADDRESS = 8
_RECV_CHUNK = 65536

_seq_lock = threading.Lock()
_seq_counter = itertools.count(random.randrange(1, 1 << 31))


def new_sequence() -> int:
    """A process-unique, non-zero 32-bit sequence (MSEC sequences are 32-bit values)."""
    with _seq_lock:
        while True:
            seq = next(_seq_counter) & 0xFFFFFFFF
            if seq:
                return seq


def request_head(
    method: str,
    sequence: int,
    *,
    caller: Optional[str] = None,
    flow_id: Optional[int] = None,
    coloring: Optional[int] = None,
    timeout_ms: Optional[int] = None,
) -> RpcHead:
    """The head of an outgoing request (see the module doc for inherited fields and ``timeout_ms``)."""
    scope = current_call()
    cid = color_id(method)
    if flow_id is None:
        flow_id = scope.flow_id if scope and scope.flow_id else cid ^ sequence
    if coloring is None:
        coloring = scope.coloring if scope else 0
    return RpcHead(
        sequence=sequence,
        method_name=method.encode("utf-8"),
        coloring=coloring,
        color_id=cid,
        flow_id=flow_id,
        caller=(caller if caller is not None else service_name()).encode("utf-8"),
        timeout_ms=timeout_ms,
    )


def _timeout_ms(timeout_ms: Optional[float]) -> float:
    return DEFAULT_TIMEOUT_MS if timeout_ms is None or timeout_ms <= 0 else float(timeout_ms)


def call_budget_ms(timeout_ms: Optional[float]) -> float:
    """Milliseconds a call may take: its timeout (``None`` or <= 0: 5000), capped inside a
    handler by the time left to that handler's deadline (0 when it has passed)."""
    own = _timeout_ms(timeout_ms)
    scope = current_call()
    if scope is None or math.isinf(scope.deadline):
        return own
    return min(own, max(0.0, (scope.deadline - time.time()) * 1000.0))


def _no_time_left(service: str) -> SrpcError:
    return SrpcError(ERR_TIMEOUT, f"timeout: no time left to call {service} before the deadline")


#: A request frame, or a function that builds it from the budget left (seconds) when it is written.
FrameSource = Union[bytes, Callable[[float], bytes]]


def _frame_now(frame: FrameSource, deadline: float, now: float) -> bytes:
    return frame(deadline - now) if callable(frame) else frame


def _frame_builder(head: RpcHead, body: bytes, send_timeout: bool) -> FrameSource:
    """The request frame; with ``send_timeout`` its head gets ``timeout_ms`` = the budget left when written."""
    if not send_timeout:
        return encode_frame(encode_head(head), body)

    def build(left_s: float) -> bytes:
        head.timeout_ms = max(1, int(left_s * 1000.0))
        return encode_frame(encode_head(head), body)

    return build


def _check_response(frame: bytes, sequence: int) -> bytes:
    head, body = decode_frame(frame)
    if head.sequence != sequence:
        raise SrpcError(ERR_INVALID_SEQUENCE)
    if head.err:
        text = head.err_msg.decode("utf-8", "replace") if head.err_msg else errmsg(head.err)
        raise SrpcError(head.err, text)
    return body


def _expired(receiving: bool, address: Address) -> SrpcError:
    """-12 when part of the reply had arrived, else -10 (the TypeScript client's rule)."""
    if receiving:
        return SrpcError(ERR_RECV_TIMEOUT, f"recevice timeout: reply from {address} incomplete")
    return SrpcError(ERR_TIMEOUT, f"timeout: no reply from {address}")


def _partial_sequence(buf: bytes) -> Optional[int]:
    """The sequence of a reply whose head has started to arrive (``sequence`` is its first field)."""
    if len(buf) < 11 or buf[9] != 0x50:
        return None
    value, shift = 0, 0
    for b in buf[10:20]:
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value
        shift += 7
    return None


def _checked(router: Router, service: str, address: Address, reply: bytes, sequence: int, cost_ms: int) -> bytes:
    """Checks a reply and reports the call to the balancer, as the TS client does: any reply
    from the server (even ``err != 0``) is a success; a malformed or mismatched one a failure."""
    try:
        body = _check_response(reply, sequence)
    except SrpcError as exc:
        failed = exc.code in (ERR_INVALID_PKG, ERR_INVALID_PKG_HEAD, ERR_INVALID_SEQUENCE)
        router.update(service, address, 1 if failed else 0, 0 if failed else cost_ms)
        raise
    router.update(service, address, 0, cost_ms)
    return body


M = TypeVar("M")


def _serialize(request: Any) -> bytes:
    """A request message's bytes; unset required fields become ``SrpcError(-8)`` (body uninitialized)."""
    try:
        return bytes(request.SerializeToString())
    except Exception as exc:  # protobuf's EncodeError for unset required fields
        raise SrpcError(ERR_BODY_UNINIT, f"package body uninitialized: {exc}") from None


def _parse_reply(response_type: Type[M], body: bytes) -> M:
    try:
        return response_type.FromString(body)  # type: ignore[attr-defined, no-any-return]
    except Exception as exc:  # protobuf's DecodeError
        raise SrpcError(ERR_INVALID_PKG_BODY, f"invalid package body: {exc}") from None


def _is_network_failure(code: int) -> bool:
    return code in (ERR_TIMEOUT, ERR_RECV_TIMEOUT, ERR_SEND_RECV_FAILED)


class Client:
    """Blocking SRPC client, safe to share between threads."""

    def __init__(
        self,
        router: Optional[Router] = None,
        *,
        caller: Optional[str] = None,
        max_frame_size: int = MAX_FRAME_SIZE,
        max_idle_per_address: int = MAX_IDLE_PER_ADDRESS,
        send_timeout: bool = True,
    ) -> None:
        self.router = router or default_router
        self.caller = caller
        self.max_frame_size = max_frame_size
        self.max_idle_per_address = max_idle_per_address
        #: Whether request heads carry ``timeout_ms`` (see the module doc); a call may override it.
        self.send_timeout = send_timeout
        self._idle: Dict[Tuple[str, int], List[socket.socket]] = {}
        self._lock = threading.Lock()

    def call(
        self,
        service: str,
        method: str,
        body: bytes,
        timeout_ms: Optional[float] = None,
        *,
        flow_id: Optional[int] = None,
        coloring: Optional[int] = None,
        send_timeout: Optional[bool] = None,
    ) -> bytes:
        """Sends ``body`` to ``method`` of ``service``; returns the response body bytes."""
        sequence = new_sequence()
        head = request_head(method, sequence, caller=self.caller, flow_id=flow_id, coloring=coloring)
        send = self.send_timeout if send_timeout is None else send_timeout
        address, reply, cost_ms = self._send(service, _frame_builder(head, bytes(body), send), timeout_ms)
        return _checked(self.router, service, address, reply, sequence, cost_ms)

    def call_message(self, service: str, method: str, request: Any, response_type: Type[M], timeout_ms: Optional[float] = None, **head: Any) -> M:
        """Typed call: serializes ``request``, parses the reply as ``response_type`` (-5 if it cannot)."""
        return _parse_reply(response_type, self.call(service, method, _serialize(request), timeout_ms, **head))

    def exchange(self, service: str, frame: bytes, timeout_ms: Optional[float] = None) -> bytes:
        """Sends one request frame to a routed service and returns the response frame, unchecked.

        Raises ``SrpcError`` -15/-10/-12/-13 (see the module doc); reports the
        outcome to the balancer.
        """
        address, reply, cost_ms = self._send(service, frame, timeout_ms)
        self.router.update(service, address, 0, cost_ms)
        return reply

    def _send(self, service: str, frame: FrameSource, timeout_ms: Optional[float]) -> Tuple[Address, bytes, int]:
        """Routes and exchanges one frame: (address, reply frame, cost in ms); transport failures are reported."""
        budget_ms = call_budget_ms(timeout_ms)
        deadline = time.monotonic() + budget_ms / 1000.0
        address = self.router.route(service)
        if address is None:
            raise SrpcError(ERR_GET_ROUTE_FAILED, f"get route failed: {service}")
        if budget_ms <= 0:
            raise _no_time_left(service)
        started = time.monotonic()
        try:
            if address.type == UDP:
                reply = self._exchange_udp(address, frame, deadline)
            else:
                reply = self._exchange_tcp(address, frame, deadline)
        except SrpcError as exc:
            if _is_network_failure(exc.code):
                self.router.update(service, address, 1, 0)
            raise
        return address, reply, int((time.monotonic() - started) * 1000)

    def close(self) -> None:
        """Closes the idle pooled connections."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for socks in idle.values():
            for s in socks:
                s.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self, address: Address) -> Optional[socket.socket]:
        key = (address.ip, address.port)
        while True:
            with self._lock:
                socks = self._idle.get(key)
                if not socks:
                    return None
                sock = socks.pop()
            # A pooled connection with something to read was closed (or spoiled) by the peer.
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return sock
            sock.close()

    def _give_back(self, address: Address, sock: socket.socket) -> None:
        with self._lock:
            socks = self._idle.setdefault((address.ip, address.port), [])
            if len(socks) < self.max_idle_per_address:
                socks.append(sock)
                return
        sock.close()

    def _exchange_tcp(self, address: Address, frame: FrameSource, deadline: float) -> bytes:
        sock = self._take(address)
        if sock is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SrpcError(ERR_TIMEOUT)
            try:
                sock = socket.create_connection((address.ip, address.port), timeout=remaining)
            except socket.timeout:
                raise SrpcError(ERR_TIMEOUT, f"timeout connecting to {address}") from None
            except OSError as exc:
                raise SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {address}: {exc}") from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SrpcError(ERR_TIMEOUT)
            sock.settimeout(remaining)
            try:
                sock.sendall(_frame_now(frame, deadline, time.monotonic()))
            except socket.timeout:
                raise SrpcError(ERR_TIMEOUT, f"timeout sending to {address}") from None
            decoder = FrameDecoder(self.max_frame_size)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _expired(decoder.buffered > 0, address)
                sock.settimeout(remaining)
                try:
                    chunk = sock.recv(_RECV_CHUNK)
                except socket.timeout:
                    raise _expired(decoder.buffered > 0, address) from None
                if not chunk:
                    raise SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {address} closed the connection")
                frames = decoder.feed(chunk)
                if frames:
                    if len(frames) == 1 and decoder.buffered == 0:
                        self._give_back(address, sock)
                    else:
                        sock.close()
                    return frames[0]
        except SrpcError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            raise SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {address}: {exc}") from None

    def _exchange_udp(self, address: Address, frame: FrameSource, deadline: float) -> bytes:
        family = socket.AF_INET6 if ":" in address.ip else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((address.ip, address.port))
                sock.send(_frame_now(frame, deadline, time.monotonic()))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _expired(False, address)
                sock.settimeout(remaining)
                return sock.recv(UDP_MAX_DATAGRAM)
            except socket.timeout:
                raise _expired(False, address) from None
            except OSError as exc:
                raise SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {address}: {exc}") from None


class _AsyncConnection:
    """One multiplexed TCP connection: responses are matched to calls by sequence."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_frame_size: int) -> None:
        self.reader = reader
        self.writer = writer
        self.pending: Dict[int, "asyncio.Future[bytes]"] = {}
        self.closed = False
        self._decoder = FrameDecoder(max_frame_size)
        self.task = asyncio.ensure_future(self._read_loop())

    async def _read_loop(self) -> None:
        failure = SrpcError(ERR_SEND_RECV_FAILED, "network sendrecv failed: connection closed by peer")
        try:
            while True:
                chunk = await self.reader.read(_RECV_CHUNK)
                if not chunk:
                    break
                for frame in self._decoder.feed(chunk):
                    self._deliver(frame)
        except SrpcError as exc:
            failure = exc
        except (OSError, asyncio.IncompleteReadError) as exc:
            failure = SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {exc}")
        except asyncio.CancelledError:
            pass
        finally:
            self.close(failure)

    def receiving(self, sequence: int) -> bool:
        """Whether part of the reply to ``sequence`` has arrived (for -12 vs -10)."""
        partial = self._decoder.partial()
        if not partial:
            return False
        seq = _partial_sequence(partial)
        return seq == sequence if seq is not None else len(self.pending) == 1

    def _deliver(self, frame: bytes) -> None:
        head, _ = decode_frame(frame)
        fut = self.pending.pop(head.sequence, None)
        if fut is not None and not fut.done():  # else a late answer to a call that timed out
            fut.set_result(frame)

    def close(self, failure: SrpcError) -> None:
        if self.closed:
            return
        self.closed = True
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(SrpcError(failure.code, failure.message))
        self.pending.clear()
        self.writer.close()


class AsyncClient:
    """asyncio SRPC client: one connection per address, many calls in flight on it."""

    def __init__(
        self,
        router: Optional[Router] = None,
        *,
        caller: Optional[str] = None,
        max_frame_size: int = MAX_FRAME_SIZE,
        send_timeout: bool = True,
    ) -> None:
        self.router = router or default_router
        self.caller = caller
        self.max_frame_size = max_frame_size
        #: Whether request heads carry ``timeout_ms`` (see the module doc); a call may override it.
        self.send_timeout = send_timeout
        self._conns: Dict[Tuple[str, int], _AsyncConnection] = {}
        self._connecting: Dict[Tuple[str, int], "asyncio.Future[_AsyncConnection]"] = {}

    async def call(
        self,
        service: str,
        method: str,
        body: bytes,
        timeout_ms: Optional[float] = None,
        *,
        flow_id: Optional[int] = None,
        coloring: Optional[int] = None,
        send_timeout: Optional[bool] = None,
    ) -> bytes:
        """Sends ``body`` to ``method`` of ``service``; returns the response body bytes."""
        loop = asyncio.get_running_loop()
        budget_ms = call_budget_ms(timeout_ms)
        deadline = loop.time() + budget_ms / 1000.0
        address = self.router.route(service)
        if address is None:
            raise SrpcError(ERR_GET_ROUTE_FAILED, f"get route failed: {service}")
        if budget_ms <= 0:
            raise _no_time_left(service)
        sequence = new_sequence()
        head = request_head(method, sequence, caller=self.caller, flow_id=flow_id, coloring=coloring)
        send = self.send_timeout if send_timeout is None else send_timeout
        frame = _frame_builder(head, bytes(body), send)
        started = loop.time()
        try:
            if address.type == UDP:
                reply = await self._exchange_udp(address, frame, deadline)
            else:
                reply = await self._exchange_tcp(address, frame, sequence, deadline)
        except SrpcError as exc:
            if _is_network_failure(exc.code):
                self.router.update(service, address, 1, 0)
            raise
        return _checked(self.router, service, address, reply, sequence, int((loop.time() - started) * 1000))

    async def call_message(self, service: str, method: str, request: Any, response_type: Type[M], timeout_ms: Optional[float] = None, **head: Any) -> M:
        """Typed call: serializes ``request``, parses the reply as ``response_type`` (-5 if it cannot)."""
        return _parse_reply(response_type, await self.call(service, method, _serialize(request), timeout_ms, **head))

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close(SrpcError(ERR_SEND_RECV_FAILED, "client closed"))
            conn.task.cancel()
            try:
                await conn.writer.wait_closed()
            except (OSError, asyncio.CancelledError):
                pass

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connection(self, address: Address, deadline: float) -> _AsyncConnection:
        key = (address.ip, address.port)
        conn = self._conns.get(key)
        if conn is not None and not conn.closed:
            return conn
        loop = asyncio.get_running_loop()
        waiting = self._connecting.get(key)
        if waiting is None:
            waiting = loop.create_future()
            self._connecting[key] = waiting
            try:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise SrpcError(ERR_TIMEOUT)
                try:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(address.ip, address.port), remaining)
                except asyncio.TimeoutError:
                    raise SrpcError(ERR_TIMEOUT, f"timeout connecting to {address}") from None
                except OSError as exc:
                    raise SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {address}: {exc}") from None
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn = _AsyncConnection(reader, writer, self.max_frame_size)
                self._conns[key] = conn
                waiting.set_result(conn)
            except BaseException as exc:
                waiting.set_exception(exc)
                waiting.exception()  # mark retrieved for callers that gave up
                raise
            finally:
                self._connecting.pop(key, None)
            return conn
        remaining = deadline - loop.time()
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), max(remaining, 0))
        except asyncio.TimeoutError:
            raise SrpcError(ERR_TIMEOUT, f"timeout connecting to {address}") from None

    async def _exchange_tcp(self, address: Address, frame: FrameSource, sequence: int, deadline: float) -> bytes:
        loop = asyncio.get_running_loop()
        conn = await self._connection(address, deadline)
        fut: "asyncio.Future[bytes]" = loop.create_future()
        conn.pending[sequence] = fut
        try:
            conn.writer.write(_frame_now(frame, deadline, loop.time()))
        except OSError as exc:
            conn.pending.pop(sequence, None)
            raise SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {exc}") from None
        remaining = deadline - loop.time()
        try:
            if not await _settled(fut, remaining):
                raise _expired(conn.receiving(sequence), address)
            return fut.result()
        finally:
            conn.pending.pop(sequence, None)

    async def _exchange_udp(self, address: Address, frame: FrameSource, deadline: float) -> bytes:
        loop = asyncio.get_running_loop()
        answer: "asyncio.Future[bytes]" = loop.create_future()

        class _Receiver(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                if not answer.done():
                    answer.set_result(data)

            def error_received(self, exc: Exception) -> None:
                if not answer.done():
                    answer.set_exception(SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {exc}"))

        transport, _ = await loop.create_datagram_endpoint(_Receiver, remote_addr=(address.ip, address.port))
        try:
            transport.sendto(_frame_now(frame, deadline, loop.time()))
            if not await _settled(answer, deadline - loop.time()):
                raise _expired(False, address)
            return answer.result()
        finally:
            transport.close()


async def _settled(fut: "asyncio.Future[bytes]", timeout_s: float) -> bool:
    """Waits up to ``timeout_s`` for ``fut``; whether it is done.

    Not ``asyncio.wait_for``: before Python 3.12 it drops a cancellation of the waiting task
    when the future completes at the same moment, and a handler cancelled at its deadline
    (spec §14) must not miss that because a reply arrived then."""
    done, _ = await asyncio.wait({fut}, timeout=max(timeout_s, 0))
    return bool(done)
