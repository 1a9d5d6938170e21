"""One accepted TCP connection: SRPC frames or HTTP/1.1 requests, as its first byte says.

An :class:`asyncio.Protocol`, so every limit is applied where the bytes arrive:

* first byte ``(`` ⇒ SRPC, ``A``–``Z`` ⇒ HTTP, anything else ⇒ closed at once
  (counted malformed);
* ``max_in_flight_per_connection`` calls run at once; requests parsed beyond it
  wait in a backlog and reading pauses until it empties;
* ``max_pending_output_bytes``: answers the socket has not accepted yet; above
  it reading pauses until the peer reads (answers are never dropped);
* ``request_timeout_s``: a frame or HTTP request must be complete within this
  long of its first byte (bytes arriving do not extend it; the clock stops
  while the server itself holds reading); else the connection is closed and
  counted ``msec_server_timeouts_total``;
* ``idle_timeout_s``: nothing in flight and no bytes in or out for this long ⇒ closed;
* a malformed frame or request: what came before it is answered, then the
  connection closes; half-closed peers (EOF) still get their answers;
* the peer gone (reset, or our write failed): its running calls are cancelled
  and its queued plain-``def`` calls never start;
* a connection that ends after its answers sends FIN and drops further input
  for :data:`LINGER_S` (never RST), so a request sent too late (e.g. during
  shutdown) meets a clean close after the earlier answers;
* deadlines (spec §14): each request is stamped with the arrival time of its
  first byte, which a caller's ``timeout_ms`` counts from (backlog wait
  included); a call answered -10 at its deadline keeps its in-flight place
  until its handler has ended.
"""
import asyncio
import socket
from collections import deque
from typing import TYPE_CHECKING, Any, Deque, Optional, Set, Tuple, Union, cast

from .envelope import envelope_response
from .errors import ERR_SERVICE_IMPL_FAILED, SrpcError
from .frame import STX, FrameDecoder
from .http1 import HttpError, HttpParser, HttpRequest, plain_response
from .log import log_error

if TYPE_CHECKING:
    from .server import Server

_TEXT = "text/plain; charset=utf-8"
#: After its last answer a connection sends FIN and reads (and drops) what the peer still sends for
#: up to this long before closing: closing with unread input would send RST, which can destroy
#: answers the peer has not read yet (the "lingering close" of HTTP servers).
LINGER_S = 2.0
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

Item = Union[bytes, HttpRequest, HttpError]


class _HttpSlot:
    """An HTTP answer in request order: its bytes once ready, and whether the connection closes after it."""

    __slots__ = ("data", "close_after")

    def __init__(self, close_after: bool) -> None:
        self.data: Optional[bytes] = None
        self.close_after = close_after


def _is_http_start(byte: int) -> bool:
    return 0x41 <= byte <= 0x5A  # A-Z: every HTTP method token in use is upper case


class Connection(asyncio.Protocol):
    """See the module doc. Created by the server for each accepted socket."""

    def __init__(self, server: "Server", peer: str) -> None:
        self.server = server
        self.options = server.options
        self.peer = peer
        self.transport: Optional[asyncio.Transport] = None
        self.mode = ""  # "tcp" (SRPC) or "http" once the first byte arrived
        self._frames: Optional[FrameDecoder] = None
        self._http: Optional[HttpParser] = None
        self.in_flight = 0
        #: Requests waiting for a free place, with the loop time of their first byte.
        self._backlog: Deque[Tuple[Item, float]] = deque()
        #: Loop time of the first byte of the request being received (0: none in progress).
        self._pending_since = 0.0
        #: While a chunk is handled: arrival of the first request it completes, and of the others.
        self._first_arrival = 0.0
        self._chunk_arrival = 0.0
        self._slots: Deque[_HttpSlot] = deque()
        self.tasks: Set["asyncio.Task[Any]"] = set()
        self.closed = False  # close requested (or lost)
        self.lost = False  # connection_lost seen
        self.draining = False
        self._eof = False
        self._last_request = False  # a final answer is queued: read nothing more
        self._write_paused = False
        self._reading_paused = False
        self._loop = asyncio.get_running_loop()
        self._last_active = self._loop.time()
        self._last_unsent = 0
        self._deadline: Optional[asyncio.TimerHandle] = None
        self._idle: Optional[asyncio.TimerHandle] = None
        self._linger: Optional[asyncio.TimerHandle] = None

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = tr = cast(asyncio.Transport, transport)
        limit = self.options.max_pending_output_bytes
        tr.set_write_buffer_limits(high=limit, low=limit)
        sock = tr.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self.closed:  # aborted (shutdown) before the socket was set up
            tr.abort()
            return
        self._idle = self._loop.call_later(self.options.idle_timeout_s, self._check_idle)
        if self.draining:
            self.close()

    def data_received(self, data: bytes) -> None:
        if self.closed or self._last_request:
            return
        now = self._last_active = self._loop.time()
        # The first request this chunk completes began when the one in progress did; others begin now.
        self._first_arrival = self._pending_since or now
        self._chunk_arrival = now
        try:
            if not self.mode:
                if data[0] == STX:
                    self.mode = "tcp"
                    self._frames = FrameDecoder(self.options.max_frame_size)
                elif _is_http_start(data[0]):
                    self.mode = "http"
                    self._http = HttpParser(self.options.max_frame_size, self.options.max_http_header_bytes)
                else:
                    self.server.stats.malformed("tcp")
                    self.abort()
                    return
            if self._frames is not None:
                completed = self._srpc_data(data)
            else:
                completed = self._http_data(data)
            if not self._in_request():
                self._pending_since = 0.0
            elif completed or not self._pending_since:
                self._pending_since = now
        except Exception as exc:  # a bug of ours costs this connection, never the process
            log_error(f"connection {self.peer} failed while reading: {type(exc).__name__}: {exc}")
            self.server.stats.malformed(self.mode or "tcp")
            self.abort()

    def eof_received(self) -> bool:
        """The peer half-closed: answer what it sent, then close. Keeps the write side open."""
        if self.closed:
            return False  # lingering after our FIN: the peer is done too, close now
        self._eof = True
        self._cancel_deadline()
        self._update_reading()
        self._maybe_close()
        return True

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._update_reading()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = self.lost = True
        self._cancel_deadline()
        for timer in (self._idle, self._linger):
            if timer is not None:
                timer.cancel()
        self._backlog.clear()
        for task in list(self.tasks):  # the peer is gone: nobody will read these answers
            self.server.cancel_call(task)
        self.server.connection_lost(self)

    # ------------------------------------------------------------ control

    def close(self) -> None:
        """Closes after the answers already written are flushed (FIN, then a bounded linger)."""
        if self.closed:
            return
        self.closed = True
        self._cancel_deadline()
        tr = self.transport
        if tr is None:
            return
        if self._eof or tr.is_closing() or not tr.can_write_eof():
            tr.close()
            return
        tr.write_eof()  # sent once the answers are flushed
        self._linger = self._loop.call_later(LINGER_S, self._end_linger)
        if self._reading_paused:  # read and drop what the peer still sends
            self._reading_paused = False
            tr.resume_reading()

    def _end_linger(self) -> None:
        self._linger = None
        if self.transport is not None and not self.lost:
            if self.transport.get_write_buffer_size():
                self.transport.abort()  # the peer reads nothing: do not wait for it
            else:
                self.transport.close()

    def abort(self) -> None:
        """Closes at once, dropping unsent output."""
        self.closed = True
        self._cancel_deadline()
        if self.transport is not None:
            self.transport.abort()

    def drain(self) -> None:
        """Shutdown started: read nothing more, finish what was received, then close."""
        self.draining = True
        self._update_reading()
        self._maybe_close()

    @property
    def busy(self) -> bool:
        """Still has calls to answer or answers to send (a lingering close is not busy)."""
        if self.lost:
            return False
        unsent = self.transport.get_write_buffer_size() if self.transport is not None else 0
        return not self.closed or unsent > 0

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and not self._backlog and not self._slots

    def _maybe_close(self) -> None:
        if not self.closed and self.idle and (self.draining or self._eof or self._last_request):
            self.close()

    def _update_reading(self) -> None:
        """Reads only while the peer may send and the server has room for what it sends."""
        if self.transport is None or self.closed:
            return
        held = (
            self._write_paused
            or bool(self._backlog)
            or self.in_flight >= self.options.max_in_flight_per_connection
        )
        stop = self.closed or self.draining or self._eof or self._last_request or held
        if stop and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        elif not stop and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
        if stop:
            self._cancel_deadline()  # the clock runs only while the peer is free to send
        elif self._deadline is None:
            self._update_deadline(restart=True)

    def _write(self, data: bytes) -> None:
        self._last_active = self._loop.time()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # ------------------------------------------------------------ deadlines

    def _in_request(self) -> bool:
        if self._frames is not None:
            return self._frames.buffered > 0
        return self._http is not None and self._http.in_request

    def _update_deadline(self, restart: bool) -> None:
        timeout = self.options.request_timeout_s
        if timeout <= 0 or self.closed or self._reading_paused or not self._in_request():
            self._cancel_deadline()
            return
        if restart or self._deadline is None:
            self._cancel_deadline()
            self._deadline = self._loop.call_later(timeout, self._request_timed_out)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _request_timed_out(self) -> None:
        self._deadline = None
        if not self.closed:
            self.server.stats.timeout(self.mode or "tcp")
            self.abort()

    def _check_idle(self) -> None:
        """Closes after ``idle_timeout_s`` with nothing in flight and no bytes in or out.

        A timer instead of a timeout around every read keeps the read path cheap.
        """
        if self.lost:
            return
        timeout = self.options.idle_timeout_s
        now = self._loop.time()
        unsent = self.transport.get_write_buffer_size() if self.transport is not None else 0
        if unsent < self._last_unsent:  # the peer is reading what we write
            self._last_active = now
        self._last_unsent = unsent
        idle_for = now - self._last_active
        if self.in_flight == 0 and not self._backlog and idle_for >= timeout:
            self.server.stats.idle_closed()
            self.abort() if unsent else self.close()
            return
        wait = max(timeout - idle_for, 0.001) if self.in_flight == 0 else timeout
        self._idle = self._loop.call_later(wait, self._check_idle)

    # ------------------------------------------------------------ input

    def _arrival(self, index: int) -> float:
        return self._first_arrival if index == 0 else self._chunk_arrival

    def _srpc_data(self, data: bytes) -> bool:
        """Takes the frames completed by ``data``; returns whether there were any."""
        assert self._frames is not None
        frames, error = self._frames.push(data)
        for i, frame in enumerate(frames):
            self._take(frame, self._arrival(i))
        if error is not None:
            self.server.stats.malformed("tcp")
            self._last_request = True  # cannot resynchronise a byte stream: answer the rest, then close
        self._after_input(completed=bool(frames))
        return bool(frames)

    def _http_data(self, data: bytes) -> bool:
        """Takes the requests completed by ``data``; returns whether there were any."""
        parser = self._http
        assert parser is not None
        items = parser.feed(data)
        for i, item in enumerate(items):
            if isinstance(item, HttpError):
                self.server.stats.malformed("http")
            self._take(item, self._arrival(i))
            if isinstance(item, HttpError) or not item.keep_alive:
                self._last_request = True
                break
        if parser.wants_continue and not self._last_request:
            parser.wants_continue = False
            if not self._slots and not self._backlog:  # it must not overtake an earlier answer
                self._write(_CONTINUE)
        self._after_input(completed=bool(items))
        return bool(items)

    def _after_input(self, completed: bool) -> None:
        self._update_reading()
        self._update_deadline(restart=completed)
        self._maybe_close()

    def _take(self, item: Item, arrived_at: float) -> None:
        if self._backlog or self.in_flight >= self.options.max_in_flight_per_connection:
            self._backlog.append((item, arrived_at))
        else:
            self._start(item, arrived_at)

    def _start(self, item: Item, arrived_at: float) -> None:
        if isinstance(item, bytes):
            self.in_flight += 1
            self._track(self.server.spawn(self._answer_frame(item, arrived_at)))
            return
        slot = _HttpSlot(close_after=isinstance(item, HttpError) or not item.keep_alive)
        self._slots.append(slot)
        if isinstance(item, HttpError):
            body = f"{item.message}\n".encode()
            slot.data = plain_response(item.status, item.reason, _TEXT, body, "Connection: close\r\n")
            self._flush_http()
            return
        self.in_flight += 1
        self._track(self.server.spawn(self._answer_http(item, slot, arrived_at)))

    def _track(self, task: "asyncio.Task[Any]") -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _call_done(self) -> None:
        self.in_flight -= 1
        if self.lost:
            return
        while self._backlog and self.in_flight < self.options.max_in_flight_per_connection:
            self._start(*self._backlog.popleft())
        self._update_reading()
        self._maybe_close()

    # ------------------------------------------------------------ answers

    async def _answer_frame(self, frame: bytes, arrived_at: float) -> None:
        try:
            # A -10 at the deadline is written at once (self._write); the call ends with its handler.
            response = await self.server.answer_frame(frame, self.peer, arrived_at, self._write)
            if response is not None:
                self._write(response)
        except SrpcError:  # unparsable head: there is nothing to echo; answer the rest, then close
            self.server.stats.malformed("tcp")
            self._last_request = True
        finally:
            self._call_done()

    async def _answer_http(self, request: HttpRequest, slot: _HttpSlot, arrived_at: float) -> None:
        def early(data: bytes) -> None:  # a -10 at the deadline: written in its turn at once
            slot.data = data
            self._flush_http()

        try:
            data = await self.server.answer_http(request, self.peer, arrived_at, early)
            if data is not None:
                slot.data = data
        except Exception as exc:  # answer_http handles handler errors; this is a last resort
            log_error(f"http request failed: {type(exc).__name__}: {exc}")
            if slot.data is None:
                slot.data = envelope_response(ERR_SERVICE_IMPL_FAILED)
        finally:
            if slot.data is not None:
                self._flush_http()
            self._call_done()

    def _flush_http(self) -> None:
        """Writes the answers that are ready, in request order."""
        while self._slots and self._slots[0].data is not None:
            slot = self._slots.popleft()
            assert slot.data is not None
            self._write(slot.data)
            if slot.close_after:
                self._slots.clear()
                self._backlog.clear()
                self._last_request = True
                self.close()
                return

