"""SRPC clients: a blocking :class:`Client` and an asyncio :class:`AsyncClient`.

Both route a service name (literal ``ip:port[@tcp|@udp]`` or ``Group.Service``),
keep one persistent TCP connection per address on which concurrent calls (threads
or tasks) are multiplexed by sequence, check that the response's sequence matches
the request's and raise :class:`SrpcError` with MSEC codes:

* -15 no route for the name,
* -10 the deadline passed with no reply (connect, send, or waiting),
* -12 the deadline passed while the reply was arriving (part of it received),
* -13 the connection failed or was closed by the peer,
* -16 the response carries another sequence,
* -3/-4 the response frame or head is malformed,
* the server's ``err`` when it is non-zero (e.g. -6 unknown method).

``retries`` (per client or per call, default 0): after a refused connection only
(the request never reached a server) the call picks again within the same budget;
never for literal addresses. A refused server is held out of the balancer's picks
for ``REFUSED_HOLD_S`` (:meth:`Router.report_refused`).

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
import collections
import itertools
import logging
import random
import select
import socket
import threading
import time
import math
import os
from concurrent.futures import Future
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar, Union

from .color import color_id
from .expiry import Expiry
from .process import current_pid
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
from .frame import MAX_FRAME_SIZE, UDP_MAX_DATAGRAM, FrameDecoder, RpcHead, decode_frame
from .request_frame import RequestFrame, head_template
from .route import UDP, Address, Router, default_router, parse_address

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


def _request_frame(method: str, sequence: int, body: bytes, send_timeout: bool, caller: Optional[str],
                   flow_id: Optional[int], coloring: Optional[int]) -> RequestFrame:
    """The request of a call, with the head :func:`request_head` describes, encoded from the
    method's cached template (see :mod:`msec.request_frame`); with ``send_timeout`` its head
    gets ``timeout_ms`` = the budget left when it is written."""
    scope = current_call()
    if coloring is None:
        coloring = scope.coloring if scope else 0
    template = head_template(method, caller if caller is not None else service_name(), coloring)
    if flow_id is None:
        flow_id = scope.flow_id if scope and scope.flow_id else template.color_id ^ sequence
    return RequestFrame(template, sequence, flow_id, body, send_timeout)


def _check_response(frame: bytes, sequence: int, decoded: Optional[Tuple[RpcHead, bytes]] = None) -> bytes:
    """The body of a reply to ``sequence`` (its head as decoded already, if it was), else ``SrpcError``."""
    head, body = decoded if decoded is not None else decode_frame(frame)
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


def _checked(router: Router, service: str, address: Address, reply: bytes, sequence: int, cost_ms: int,
             decoded: Optional[Tuple[RpcHead, bytes]] = None) -> bytes:
    """Checks a reply and reports the call to the balancer, as the TS client does: any reply
    from the server (even ``err != 0``) is a success; a malformed or mismatched one a failure."""
    try:
        body = _check_response(reply, sequence, decoded)
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


class _Refused(SrpcError):
    """-13 because the connection could not be opened (refused): the request certainly never
    reached a server, so it may be retried elsewhere (``retries``) and the server is held out of
    the balancer's picks (:meth:`Router.report_refused`)."""


def _refused(address: Address, exc: OSError) -> _Refused:
    return _Refused(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {address}: connection refused ({exc})")


def _check_retries(retries: int) -> int:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0 (got {retries!r})")
    return retries


class _Attempts:
    """The decisions between a call's attempts, the same for :class:`Client` and :class:`AsyncClient`:
    where to go (-15 when nothing is routed, -10 when no time is left), whether a refused attempt
    is followed by another pick (routing names only, up to ``retries`` times, within the budget;
    the refused server is held out of the balancer's picks) and which failures the balancer hears
    of (timeouts and broken connections)."""

    __slots__ = ("router", "service", "budget_ms", "deadline", "retries", "attempt")

    def __init__(self, router: Router, service: str, budget_ms: float, deadline: float, retries: int) -> None:
        self.router = router
        self.service = service
        self.budget_ms = budget_ms
        self.deadline = deadline
        self.retries = retries
        self.attempt = 0

    def pick(self) -> Address:
        """The address of the next attempt."""
        address = self.router.route(self.service)
        if address is None:
            raise SrpcError(ERR_GET_ROUTE_FAILED, f"get route failed: {self.service}")
        if self.budget_ms <= 0:
            raise _no_time_left(self.service)
        return address

    def refused(self, address: Address, now: float) -> bool:
        """Reports a refused connection to ``address``; whether the call picks again."""
        self.router.report_refused(self.service, address)
        if self.attempt < self.retries and now < self.deadline and parse_address(self.service) is None:
            self.attempt += 1
            return True
        return False

    def failed(self, address: Address, exc: SrpcError) -> None:
        """Reports a failed attempt (other than refused) to the balancer when it is a network failure."""
        if _is_network_failure(exc.code):
            self.router.update(self.service, address, 1, 0)


class _Gone(SrpcError):
    """The pooled connection closed before the request was registered on it (nothing was sent)."""


#: Timed-out sequences remembered per connection, so their late replies are dropped quietly.
ABANDONED_REMEMBERED = 1024

_log = logging.getLogger("msec.client")


#: A reply frame and, when its head parsed, its (head, body) — decoded once, by the reader.
Reply = Tuple[bytes, Optional[Tuple[RpcHead, bytes]]]


class _Call:
    """One call on a :class:`_TcpConnection`, blocking or future: its request until a writer
    takes it, then its reply (or failure), and what the client needs to finish it (where it went,
    when, the balancer's attempt state).

    A blocking call has ``wake``, a plain lock held while nothing is to be done, released (under
    the connection's lock, at most once per wait) when the reply arrives, the call fails or it is
    this call's turn to write. A future call has ``on_done`` instead, run once (outside the
    connection's lock) by whichever thread completes it: the reader, the client's deadline thread,
    or the thread that closed the connection."""

    __slots__ = ("wake", "on_done", "key", "data", "deadline", "queued", "reply", "error", "turn", "attempts", "address", "started", "conn")

    def __init__(self, key: int, deadline: float, attempts: "_Attempts", address: Address, started: float,
                 on_done: Optional[Callable[["_Call"], None]]) -> None:
        self.on_done = on_done
        self.wake: Optional[threading.Lock] = None
        if on_done is None:
            self.wake = threading.Lock()
            self.wake.acquire()
        self.key = key
        self.deadline = deadline
        self.data = b""
        #: In the connection's outbox: not yet taken by a writer.
        self.queued = False
        self.reply: Optional[Reply] = None
        self.error: Optional[SrpcError] = None
        #: Asked to take over writing the outbox (blocking calls only; see :meth:`_TcpConnection.wait`).
        self.turn = False
        self.attempts = attempts
        self.address = address
        self.started = started
        #: The connection it was registered on (for :meth:`expire`).
        self.conn: Optional["_TcpConnection"] = None

    @property
    def waiting(self) -> bool:
        """Neither answered nor failed yet."""
        return self.reply is None and self.error is None

    def expire(self) -> None:
        """A future call's deadline passed (the client's :class:`msec.expiry.Expiry` calls this)."""
        if self.conn is not None:
            self.conn.expire(self)

    def signal(self) -> None:
        """Wakes a blocking call (once; more signals before it wakes are one). Under the connection's lock."""
        wake = self.wake
        if wake is not None and wake.locked():
            wake.release()


def _finish(calls: List[_Call]) -> None:
    """Runs the ``on_done`` of completed future calls; outside any connection lock."""
    for call in calls:
        assert call.on_done is not None
        try:
            call.on_done(call)
        except Exception:  # a bug of ours must not kill the reader or the deadline thread
            _log.exception("completing a call failed")


def _wait_fd(sock: socket.socket, events: int, timeout_s: Optional[float]) -> bool:
    """Waits until ``sock`` is ready for ``events`` (poll flags); ``False`` at the timeout."""
    poller = select.poll()
    poller.register(sock, events)
    return bool(poller.poll(None if timeout_s is None else max(0, int(math.ceil(timeout_s * 1000)))))


class _TcpConnection:
    """One TCP connection shared by many threads and futures; a reader thread matches replies
    to calls by sequence, in any order.

    Writes are coalesced: a call puts its request frame in the outbox; the call that finds no
    writer at work becomes the writer and sends everything queued in one ``send``, round after
    round, until the outbox is empty — or, for a blocking call once its own reply has come, hands
    the turn to the first blocking call still queued (with only futures queued it writes them
    first). While the reader completes futures it holds the turn itself, so calls made from their
    callbacks go out together in one ``send`` after the batch. A blocking call whose deadline
    passes while its frame is still queued takes it out (-10, nothing sent); a future's deadline
    is kept by the client's :class:`msec.expiry.Expiry`, with the same outcomes
    (:meth:`expire`). The reader decodes each reply's head once; the caller gets it.

    A reply with an unknown sequence (docs/runtime-client.md): dropped quietly when it answers a
    call that timed out (the last ``ABANDONED_REMEMBERED`` are remembered); else, with exactly one
    call in flight, handed to that call (which then fails with -16, or gets it unchecked from
    :meth:`Client.exchange`); else dropped and logged. A malformed stream (-3), a reset or the
    peer closing fails every call in flight on the connection.
    """

    def __init__(self, sock: socket.socket, address: Address, max_frame_size: int) -> None:
        self.sock = sock
        self.address = address
        self.closed = False
        #: The process that opened it: after ``os.fork`` a child has no reader thread for it.
        self.pid = current_pid()
        self.pending: Dict[int, _Call] = {}
        self._abandoned: "collections.OrderedDict[int, None]" = collections.OrderedDict()
        self._lock = threading.Lock()
        #: Calls whose frames wait for a writer, oldest first.
        self._outbox: List[_Call] = []
        #: Whether some thread is writing the outbox (holds the turn).
        self._writing = False
        self._decoder = FrameDecoder(max_frame_size)
        sock.setblocking(False)
        self._thread = threading.Thread(target=self._read_loop, name=f"msec-client-{address}", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        failure = SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {self.address} closed the connection")
        try:
            while not self.closed:
                try:
                    chunk = self.sock.recv(_RECV_CHUNK)
                except BlockingIOError:
                    _wait_fd(self.sock, select.POLLIN, None)
                    continue
                if not chunk:
                    break
                with self._lock:
                    frames = self._decoder.feed(chunk)
                if frames:
                    self._deliver([(frame, _decoded(frame)) for frame in frames])
        except SrpcError as exc:
            failure = exc
        except OSError as exc:
            failure = SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {self.address}: {exc}")
        finally:
            self.close(failure)
            self.sock.close()  # only this thread closes the descriptor: no reuse under a poll

    def _deliver(self, replies: List[Reply]) -> None:
        done: List[_Call] = []
        with self._lock:
            for frame, decoded in replies:
                # a head that does not parse: attributed like an unknown sequence
                sequence = decoded[0].sequence if decoded is not None else None
                call = self.pending.pop(sequence, None) if sequence is not None else None
                if call is None:
                    if sequence is not None and sequence in self._abandoned:
                        continue
                    if len(self.pending) != 1:
                        _log.warning("reply from %s with sequence %s matches none of %d calls in flight: dropped",
                                     self.address, sequence, len(self.pending))
                        continue
                    _, call = self.pending.popitem()
                call.reply = (frame, decoded)
                if call.on_done is None:
                    call.signal()
                else:
                    done.append(call)
            # Futures' callbacks may make calls: they queue while the reader holds the turn.
            cork = bool(done) and not self._writing
            if cork:
                self._writing = True
        if done:
            _finish(done)
        if cork:
            self._write_turn(None, 0.0)

    def receiving(self, sequence: int) -> bool:
        """Whether part of the reply to ``sequence`` has arrived (for -12 vs -10); call under the lock."""
        partial = self._decoder.partial()
        if not partial:
            return False
        seq = _partial_sequence(partial)
        return seq == sequence if seq is not None else len(self.pending) <= 1

    def has_pending(self, key: int) -> bool:
        with self._lock:
            return key in self.pending

    def submit(self, call: _Call, frame: FrameSource) -> bool:
        """Registers ``call`` (its reply carries sequence ``call.key``) and queues its request;
        whether the caller now holds the turn and must write (:meth:`wait` or :meth:`write`)."""
        call.data = _frame_now(frame, call.deadline, time.monotonic())
        with self._lock:
            if self.closed:
                raise _Gone(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {self.address} closed the connection")
            self.pending[call.key] = call
            call.conn = self
            call.queued = True
            self._outbox.append(call)
            write, self._writing = not self._writing, True
        return write

    def write(self) -> None:
        """Writes the outbox for a future call that got the turn in :meth:`submit`."""
        self._write_turn(None, 0.0)

    def wait(self, call: _Call, write: bool) -> None:
        """A blocking call: writes when it holds the turn, then waits for its reply or failure
        until its deadline (at which it fails as :meth:`expire` says)."""
        deadline = call.deadline
        keep = False  # the turn is left with only futures queued: write them before leaving
        try:
            if write:
                self._write_turn(call, deadline)
            while call.reply is None and call.error is None:
                assert call.wake is not None
                if call.wake.acquire(True, max(0.0, deadline - time.monotonic())):
                    if call.turn:
                        call.turn = False
                        self._write_turn(call, deadline)
                    continue
                with self._lock:
                    if call.reply is None and call.error is None:
                        self._expire_locked(call)
                    if call.turn:  # the turn came as the wait ran out: pass it on (to another call)
                        call.turn = False
                        keep = self._pass_turn()
                break
        except SrpcError as exc:  # this call's own write failed
            with self._lock:
                if self.pending.pop(call.key, None) is not None and exc.code == ERR_TIMEOUT and not call.queued:
                    self._abandon(call.key)  # a writer's timeout after its own frame went out
                if call.error is None:
                    call.error = exc
        finally:
            if call.queued or call.turn:  # e.g. answered while still queued (the only call in flight)
                with self._lock:
                    if call.queued:
                        self._outbox.remove(call)
                        call.queued = False
                    if call.turn:
                        call.turn = False
                        keep = self._pass_turn()
            if keep:
                self._write_turn(None, 0.0)

    def expire(self, call: _Call) -> None:
        """A future call's deadline passed: fails it as a blocking call would (see :meth:`_expire_locked`)."""
        with self._lock:
            if call.reply is not None or call.error is not None:
                return
            self._expire_locked(call)
        _finish([call])

    def _expire_locked(self, call: _Call) -> None:
        """Fails a call at its deadline: -10 and taken out when its frame is still queued (nothing
        was sent); else its sequence is abandoned and it fails -12 when part of its reply had
        arrived, -10 when none had. Under the lock."""
        self.pending.pop(call.key, None)
        if call.queued:
            self._outbox.remove(call)
            call.queued = False
            call.error = SrpcError(ERR_TIMEOUT, f"timeout sending to {self.address}")
            return
        self._abandon(call.key)
        call.error = _expired(self.receiving(call.key), self.address)

    def _abandon(self, key: int) -> None:
        """Remembers a timed-out call's sequence, so its late reply is dropped quietly; under the lock."""
        self._abandoned[key] = None
        while len(self._abandoned) > ABANDONED_REMEMBERED:
            self._abandoned.popitem(last=False)

    def _pass_turn(self) -> bool:
        """Gives the writer's turn to the oldest queued blocking call, or ends it when nothing is
        queued; ``True`` when only futures are queued (then the caller keeps it and writes them).
        Under the lock."""
        if self._outbox and not self.closed:
            for queued in self._outbox:
                if queued.wake is not None:
                    queued.turn = True
                    queued.signal()
                    return False
            return True
        self._writing = False
        return False

    def _write_turn(self, me: Optional[_Call], deadline: float) -> None:
        """Holding the turn: sends the outbox round after round (each round one ``send`` of every
        frame queued); ends it when the outbox is empty, hands it on once ``me`` (a blocking call)
        has its reply. Without ``me`` (futures, the reader) a round may wait for the socket until
        the latest deadline among its calls, and a failure is the calls' (they fail, or expire)."""
        while True:
            with self._lock:
                if self.closed or not self._outbox or (me is not None and (me.reply is not None or me.error is not None)):
                    if not self._pass_turn():
                        return
                    me = None  # only futures are left: write them, then end the turn
                batch, self._outbox = self._outbox, []
                for w in batch:
                    w.queued = False
            data = batch[0].data if len(batch) == 1 else b"".join(w.data for w in batch)
            try:
                self._send_all(data, deadline if me is not None else max(w.deadline for w in batch))
            except SrpcError:
                with self._lock:
                    if not self.closed and me is not None:  # nothing of the round went out: the others stay queued
                        others = [w for w in batch if w is not me]
                        for w in others:
                            w.queued = True
                        self._outbox[:0] = others
                    if me is not None:
                        keep = self._pass_turn()
                if me is not None:
                    if keep:
                        self._write_turn(None, 0.0)
                    raise
                # Without me: the round's calls all passed their deadlines unsent; the deadline
                # thread fails them. The turn goes on with what was queued since.

    def _send_all(self, data: bytes, deadline: float) -> None:
        """Sends ``data`` whole by ``deadline``: -10 when it could not start; when it was cut
        short, or the socket failed, the connection is closed (every call in flight fails)."""
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            try:
                sent += self.sock.send(view[sent:])
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                failure = SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {self.address}: {exc}")
                self.close(failure)
                raise failure from None
            left = deadline - time.monotonic()
            if left <= 0 or not _wait_fd(self.sock, select.POLLOUT, left):
                if sent:  # half a request on the wire: the connection cannot carry more
                    self.close(SrpcError(ERR_SEND_RECV_FAILED, f"network sendrecv failed: {self.address}: a request was cut short by its timeout"))
                raise SrpcError(ERR_TIMEOUT, f"timeout sending to {self.address}")

    def close(self, failure: SrpcError) -> None:
        """Fails every call in flight with ``failure`` and wakes the reader, which closes the socket."""
        done: List[_Call] = []
        with self._lock:
            if self.closed:
                return
            self.closed = True
            for call in self.pending.values():
                call.error = SrpcError(failure.code, failure.message)
                if call.on_done is None:
                    call.signal()
                else:
                    done.append(call)
            self.pending.clear()
            for call in self._outbox:
                call.queued = False
            self._outbox.clear()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        _finish(done)


def _decoded(frame: bytes) -> Optional[Tuple[RpcHead, bytes]]:
    """A reply's (head, body), ``None`` when its head does not parse."""
    try:
        return decode_frame(frame)
    except SrpcError:
        return None


class Client:
    """Blocking SRPC client, safe to share between threads.

    Calls from many threads to one address are multiplexed on one TCP connection by sequence
    (a reader thread per connection hands each reply to its caller, in any order); a second
    connection opens only when a raw :meth:`exchange` reuses a sequence already in flight.
    ``retries`` (default 0): extra picks after a refused connection, see :meth:`call`.
    """

    def __init__(
        self,
        router: Optional[Router] = None,
        *,
        caller: Optional[str] = None,
        max_frame_size: int = MAX_FRAME_SIZE,
        max_idle_per_address: int = MAX_IDLE_PER_ADDRESS,
        send_timeout: bool = True,
        retries: int = 0,
    ) -> None:
        self.router = router or default_router
        self.caller = caller
        self.max_frame_size = max_frame_size
        #: Connections kept open per address (more only open while sequences collide).
        self.max_idle_per_address = max_idle_per_address
        #: Whether request heads carry ``timeout_ms`` (see the module doc); a call may override it.
        self.send_timeout = send_timeout
        #: Default extra picks after a refused connection (routing names only); a call may override it.
        self.retries = _check_retries(retries)
        self._conns: Dict[Tuple[str, int], List[_TcpConnection]] = {}
        self._connecting: Dict[Tuple[str, int], threading.Lock] = {}
        self._lock = threading.Lock()
        #: Deadlines of future calls (a thread, started by the first one).
        self._expiry = Expiry()

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
        retries: Optional[int] = None,
    ) -> bytes:
        """Sends ``body`` to ``method`` of ``service``; returns the response body bytes.

        ``retries`` (default: the client's): after a **refused connection** only — the request
        certainly never reached a server — pick again, up to that many times, within the same
        budget; never for literal addresses. Timeouts, resets and server errors are not retried.
        """
        sequence, request, tries = self._request(method, body, flow_id, coloring, send_timeout, retries)
        call = self._start(service, request, sequence, timeout_ms, tries, None)
        return self._outcome(service, call, True)

    def call_future(
        self,
        service: str,
        method: str,
        body: bytes,
        timeout_ms: Optional[float] = None,
        *,
        flow_id: Optional[int] = None,
        coloring: Optional[int] = None,
        send_timeout: Optional[bool] = None,
        retries: Optional[int] = None,
    ) -> "Future[bytes]":
        """:meth:`call` without waiting: returns a :class:`concurrent.futures.Future` of the response
        body, completed when the reply arrives or the call fails (its exception is the same
        ``SrpcError`` :meth:`call` would raise, failures before sending included).

        Many futures may be in flight from one thread. Routing, connecting (when no pooled
        connection is open) and, for a UDP address, the whole exchange happen in the calling
        thread; the reply completes the future on the connection's reader thread, the deadline
        on the client's deadline thread — ``add_done_callback`` callbacks run there, so they must
        not block (calls they make are fine: they go out together after the batch of replies).
        The future is running at once: ``cancel()`` returns ``False``.
        """
        return self._future(service, method, body, timeout_ms, flow_id, coloring, send_timeout, retries, None)

    def call_message(self, service: str, method: str, request: Any, response_type: Type[M], timeout_ms: Optional[float] = None, **head: Any) -> M:
        """Typed call: serializes ``request``, parses the reply as ``response_type`` (-5 if it cannot)."""
        return _parse_reply(response_type, self.call(service, method, _serialize(request), timeout_ms, **head))

    def call_message_future(self, service: str, method: str, request: Any, response_type: Type[M], timeout_ms: Optional[float] = None,
                            **head: Any) -> "Future[M]":
        """Typed :meth:`call_future`: a future of the reply parsed as ``response_type`` (-8 when
        ``request`` cannot be serialized, -5 when the reply cannot be parsed, as :meth:`call_message`)."""
        try:
            body = _serialize(request)
        except SrpcError as exc:
            failed: "Future[M]" = Future()
            failed.set_running_or_notify_cancel()
            failed.set_exception(exc)
            return failed
        return self._future(service, method, body, timeout_ms, head.get("flow_id"), head.get("coloring"), head.get("send_timeout"),
                            head.get("retries"), lambda reply: _parse_reply(response_type, reply))

    def exchange(self, service: str, frame: bytes, timeout_ms: Optional[float] = None, *, retries: int = 0) -> bytes:
        """Sends one request frame to a routed service and returns the response frame, unchecked.

        The reply is the one carrying the request head's sequence (or, when the frame's head does
        not parse, the next reply while it is the connection's only call). Raises ``SrpcError``
        -15/-10/-12/-13 (see the module doc); reports the outcome to the balancer.
        """
        try:
            key = decode_frame(frame)[0].sequence
        except SrpcError:
            key = -new_sequence()  # never a wire sequence: matched only as the only call in flight
        call = self._start(service, frame, key, timeout_ms, _check_retries(retries), None)
        return self._outcome(service, call, False)

    def _request(self, method: str, body: bytes, flow_id: Optional[int], coloring: Optional[int], send_timeout: Optional[bool],
                 retries: Optional[int]) -> Tuple[int, RequestFrame, int]:
        """A call's sequence, request frame and number of retries."""
        sequence = new_sequence()
        send = self.send_timeout if send_timeout is None else send_timeout
        request = _request_frame(method, sequence, bytes(body), send, self.caller, flow_id, coloring)
        return sequence, request, self.retries if retries is None else _check_retries(retries)

    def _future(self, service: str, method: str, body: bytes, timeout_ms: Optional[float], flow_id: Optional[int], coloring: Optional[int],
                send_timeout: Optional[bool], retries: Optional[int], parse: Optional[Callable[[bytes], Any]]) -> "Future[Any]":
        """The future of a call (see :meth:`call_future`); ``parse`` turns the reply body into its result."""
        future: "Future[Any]" = Future()
        future.set_running_or_notify_cancel()

        def done(call: _Call) -> None:
            try:
                reply = self._outcome(service, call, True)
                result = parse(reply) if parse is not None else reply
            except Exception as exc:  # SrpcError, as call() raises it
                future.set_exception(exc)
            else:
                future.set_result(result)

        try:
            sequence, request, tries = self._request(method, body, flow_id, coloring, send_timeout, retries)
            self._start(service, request, sequence, timeout_ms, tries, done)
        except SrpcError as exc:  # no route, no time left, refused, ...: failed before anything was sent
            future.set_exception(exc)
        return future

    def _start(self, service: str, frame: FrameSource, key: int, timeout_ms: Optional[float], retries: int,
               on_done: Optional[Callable[[_Call], None]]) -> _Call:
        """Routes and sends one frame whose reply carries sequence ``key`` (see :class:`_Attempts`).

        Blocking (no ``on_done``): returns the call once it is answered or failed. Future: returns
        the call once it is sent or queued; ``on_done`` runs when it is answered or failed — also
        before this returns, e.g. for UDP. Raises ``SrpcError`` only for failures before the call
        was registered on a connection (no route, no time left, refused, connect timeout)."""
        budget_ms = call_budget_ms(timeout_ms)
        deadline = time.monotonic() + budget_ms / 1000.0
        attempts = _Attempts(self.router, service, budget_ms, deadline, retries)
        while True:
            address = attempts.pick()
            call = _Call(key, deadline, attempts, address, time.monotonic(), on_done)
            try:
                if address.type == UDP:
                    call.reply = (self._exchange_udp(address, frame, deadline), None)
                    if on_done is not None:
                        on_done(call)
                    return call
                while True:
                    conn = self._connection(address, key, deadline)
                    try:
                        write = conn.submit(call, frame)
                        break
                    except _Gone:
                        continue  # closed by the peer before this request was written: take another one
            except _Refused:
                if attempts.refused(address, time.monotonic()):
                    continue
                raise
            except SrpcError as exc:
                attempts.failed(address, exc)
                raise
            if on_done is None:
                conn.wait(call, write)
            else:
                self._expiry.add(deadline, call)
                if write:
                    conn.write()
            return call

    def _outcome(self, service: str, call: _Call, check: bool) -> bytes:
        """The result of a finished call, reported to the balancer: the checked reply body (``check``)
        or the raw reply frame; else its failure, raised."""
        if call.error is not None:
            call.attempts.failed(call.address, call.error)
            raise call.error
        assert call.reply is not None
        reply, decoded = call.reply
        cost_ms = int((time.monotonic() - call.started) * 1000)
        if check:
            return _checked(self.router, service, call.address, reply, call.key, cost_ms, decoded)
        self.router.update(service, call.address, 0, cost_ms)
        return reply

    def close(self) -> None:
        """Closes the pooled connections (calls in flight on them fail with -13)."""
        with self._lock:
            conns, self._conns = self._conns, {}
        for listed in conns.values():
            for conn in listed:
                conn.close(SrpcError(ERR_SEND_RECV_FAILED, "network sendrecv failed: client closed"))
        self._expiry.stop()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self, address: Address, key: int, deadline: float) -> _TcpConnection:
        """An open connection to ``address`` without ``key`` in flight; opens one when there is none."""
        where = (address.ip, address.port)
        listed = self._conns.get(where)
        if listed:  # the common case, without locks: the first pooled connection is open and free for key
            first = listed[0]
            if not first.closed and key not in first.pending and first.pid == current_pid():
                return first

        def usable() -> Optional[_TcpConnection]:
            with self._lock:
                listed = [c for c in self._conns.get(where, []) if not c.closed and c.pid == current_pid()]
                self._conns[where] = listed
            for c in listed:
                if not c.has_pending(key):
                    return c
            return None

        conn = usable()
        if conn is not None:
            return conn
        with self._lock:
            opening = self._connecting.setdefault(where, threading.Lock())
        # One thread connects; the others wait for its connection rather than open their own.
        if not opening.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise SrpcError(ERR_TIMEOUT, f"timeout connecting to {address}")
        try:
            conn = usable()
            if conn is not None:
                return conn
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SrpcError(ERR_TIMEOUT, f"timeout connecting to {address}")
            try:
                sock = socket.create_connection((address.ip, address.port), timeout=remaining)
            except socket.timeout:
                raise SrpcError(ERR_TIMEOUT, f"timeout connecting to {address}") from None
            except OSError as exc:
                raise _refused(address, exc) from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _TcpConnection(sock, address, self.max_frame_size)
            with self._lock:
                listed = self._conns.setdefault(where, [])
                listed.append(conn)
                while len(listed) > max(1, self.max_idle_per_address):
                    extra = next((c for c in listed if not c.pending), None)
                    if extra is None:
                        break
                    listed.remove(extra)
                    extra.close(SrpcError(ERR_SEND_RECV_FAILED, "network sendrecv failed: connection no longer pooled"))
            return conn
        finally:
            opening.release()

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
    """One multiplexed TCP connection: responses are matched to calls by sequence.

    Request frames written in one turn of the event loop go out in one write (the TS client's
    one write per tick); each reply's head is decoded once, here, and handed to its call."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_frame_size: int) -> None:
        self.reader = reader
        self.writer = writer
        self.pending: Dict[int, "asyncio.Future[Optional[Tuple[bytes, RpcHead, bytes]]]"] = {}
        self.closed = False
        self._decoder = FrameDecoder(max_frame_size)
        self._outbox: List[bytes] = []
        self.task = asyncio.ensure_future(self._read_loop())

    def write(self, frame: bytes) -> None:
        """Queues a request frame; the queue is written at the end of this loop turn."""
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(frame)

    def _flush(self) -> None:
        frames, self._outbox = self._outbox, []
        if not self.closed:
            self.writer.write(frames[0] if len(frames) == 1 else b"".join(frames))

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
        head, body = decode_frame(frame)
        fut = self.pending.pop(head.sequence, None)
        if fut is not None and not fut.done():  # else a late answer to a call that timed out
            fut.set_result((frame, head, body))

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
        retries: int = 0,
    ) -> None:
        self.router = router or default_router
        self.caller = caller
        self.max_frame_size = max_frame_size
        #: Whether request heads carry ``timeout_ms`` (see the module doc); a call may override it.
        self.send_timeout = send_timeout
        #: Default extra picks after a refused connection (routing names only); a call may override it.
        self.retries = _check_retries(retries)
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
        retries: Optional[int] = None,
    ) -> bytes:
        """Sends ``body`` to ``method`` of ``service``; returns the response body bytes.

        ``retries`` as in :meth:`Client.call`: extra picks after a refused connection only.
        """
        loop = asyncio.get_running_loop()
        tries = self.retries if retries is None else _check_retries(retries)
        budget_ms = call_budget_ms(timeout_ms)
        deadline = loop.time() + budget_ms / 1000.0
        sequence = new_sequence()
        send = self.send_timeout if send_timeout is None else send_timeout
        frame = _request_frame(method, sequence, bytes(body), send, self.caller, flow_id, coloring)
        attempts = _Attempts(self.router, service, budget_ms, deadline, tries)
        while True:
            address = attempts.pick()
            started = loop.time()
            try:
                if address.type == UDP:
                    reply, decoded = await self._exchange_udp(address, frame, deadline), None
                else:
                    reply, head, body = await self._exchange_tcp(address, frame, sequence, deadline)
                    decoded = (head, body)
            except _Refused:
                if attempts.refused(address, loop.time()):
                    continue
                raise
            except SrpcError as exc:
                attempts.failed(address, exc)
                raise
            return _checked(self.router, service, address, reply, sequence, int((loop.time() - started) * 1000), decoded)

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
                    raise _refused(address, exc) from None
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

    async def _exchange_tcp(self, address: Address, frame: FrameSource, sequence: int, deadline: float) -> Tuple[bytes, RpcHead, bytes]:
        loop = asyncio.get_running_loop()
        conn = await self._connection(address, deadline)
        fut: "asyncio.Future[Optional[Tuple[bytes, RpcHead, bytes]]]" = loop.create_future()
        conn.pending[sequence] = fut
        conn.write(_frame_now(frame, deadline, loop.time()))
        try:
            reply = await _settled(fut, deadline - loop.time())
            if reply is None:
                raise _expired(conn.receiving(sequence), address)
            return reply
        finally:
            conn.pending.pop(sequence, None)

    async def _exchange_udp(self, address: Address, frame: FrameSource, deadline: float) -> bytes:
        loop = asyncio.get_running_loop()
        answer: "asyncio.Future[Optional[bytes]]" = loop.create_future()

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
            reply = await _settled(answer, deadline - loop.time())
            if reply is None:
                raise _expired(False, address)
            return reply
        finally:
            transport.close()


T = TypeVar("T")


def _expire(fut: "asyncio.Future[Optional[T]]") -> None:
    if not fut.done():
        fut.set_result(None)


async def _settled(fut: "asyncio.Future[Optional[T]]", timeout_s: float) -> Optional[T]:
    """``fut``'s result, or ``None`` when ``timeout_s`` passes first (a timer completes it with ``None``).

    Awaits the future itself — neither ``asyncio.wait_for``, which before Python 3.12 drops a
    cancellation of the waiting task when the future completes at the same moment (a handler
    cancelled at its deadline, spec §14, must not miss that because a reply arrived then), nor
    ``asyncio.wait``, which costs a waiter future and callbacks per call. Cancelling the task
    cancels ``fut`` (a reply arriving later finds it done and is dropped)."""
    if fut.done():
        return fut.result()
    timer = asyncio.get_running_loop().call_later(max(timeout_s, 0), _expire, fut)
    try:
        return await fut
    finally:
        timer.cancel()
