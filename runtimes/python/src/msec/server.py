"""The asyncio server: one port serving SRPC frames and HTTP/1.1 JSON, plus UDP on the same port number.

Behaviour shared with the TypeScript server:

* the first byte of a TCP connection decides: ``0x28`` ⇒ SRPC frames, ``A``–``Z``
  ⇒ HTTP/1.1, anything else closes it (see :mod:`.connection` for every
  per-connection limit);
* SRPC: the response head is the request head echoed (raw bytes when its
  ``flow_id`` is non-zero, else re-encoded with a fresh ``flow_id``); errors
  add ``err`` to the head and carry no body (vector V3); a malformed frame or
  head closes that connection only; responses go out as they complete;
* HTTP: ``POST …?methodName=pkg.Service.Method`` (URL-decoded, anywhere in the
  query) is a JSON call answered with the MSEC envelope (vector V8); no
  ``methodName`` or one shorter than 5 characters ⇒ -3; an unknown method ⇒
  -6; a body that is not JSON ⇒ -3; an empty body means ``{}``; chunked
  bodies are concatenated; any ``Content-Type`` is accepted; ``GET /health``
  (503 while draining), ``GET /metrics``, ``GET /openapi.json`` (when
  ``ServerOptions.openapi`` is set; docs/openapi.md) and ``GET /explorer``
  (the API explorer page; docs/explorer.md), ``HEAD`` on each of
  them (the same head, no body); other ``GET``/``HEAD`` ⇒ 404, other
  methods ⇒ 405;
  keep-alive and pipelining, answered in request order;
* UDP: one SRPC frame per datagram, answered to the sender; others dropped
  and counted, as are datagrams beyond ``max_udp_in_flight`` running calls;
* a handler raising :class:`SrpcError` answers its code; anything else it
  raises (``SystemExit``, ``KeyboardInterrupt`` and a ``CancelledError`` the
  server did not cause included) answers -18 and is logged; the server never
  crashes on a request;
* metrics (docs/metrics.md, the TypeScript server's names and labels): every
  answered call counts in ``msec_server_requests_total{method,transport,code}``
  and ``msec_server_request_duration_seconds{method,transport}``; unknown
  methods count under ``(unknown)``, so labels stay bounded; ``/metrics`` also
  serves the monitor's attributes and ``process_*`` metrics;
* ``access_log``: one JSON line per answered call (:func:`.log.format_access`);
* deadlines (spec §14): a head's ``timeout_ms`` (field 70) or an HTTP
  ``X-Msec-Timeout-Ms`` header gives ``ctx.deadline`` = arrival of the
  request's first byte + that many ms. When it passes first, the call is
  answered -10 "deadline exceeded (timeout_ms=N)", counted in
  ``msec_server_deadline_exceeded_total{method}``, ``ctx.cancelled`` is set
  and an ``async def`` handler is cancelled (a plain ``def`` handler's thread
  runs on, see ``ctx.cancelled``); what the handler returns then is dropped. A
  request whose deadline passed while it waited for a free place is answered
  so without running. The call holds its in-flight place until its handler
  has ended, so the per-connection limits still bound running handlers. The
  deadline costs one loop timer per call: the handler runs in the call's own
  task, which the timer cancels.
"""
import asyncio
import concurrent.futures
import contextvars
import inspect
import json
import math
import random
import re
import signal
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Tuple, cast
from urllib.parse import unquote, urlsplit

from .accept import Acceptor, LISTEN_BACKLOG, RejectLog, effective_max_connections, fd_soft_limit
from .connection import Connection
from .context import CallScope, enter_call, leave_call, set_service_name
from .envelope import envelope_response, to_json_text
from .errors import (
    ERR_INVALID_METHOD_NAME,
    ERR_INVALID_PKG,
    ERR_SERVICE_IMPL_FAILED,
    ERR_TIMEOUT,
    SrpcError,
    errmsg,
)
from .explorer import EXPLORER_PATH, explorer_response
from .frame import MAX_FRAME_SIZE, FrameDecoder, check_frame, decode_head, encode_frame, encode_head, split_frame
from .handler import BINARY, JSON, CallContext, Handler, MethodTable, RequestBody
from .http1 import MAX_HEADER_BYTES, HttpRequest, plain_response
from .log import ERROR, Logger, format_access, log_error, write_access, write_log
from .monitor import Monitor, default_monitor
from .request_decoding import json_body_text
from .stats import UNKNOWN_METHOD_LABEL, ServerStats, process_metrics_text

#: Default port of MSEC services.
DEFAULT_PORT = 7963
#: Connections beyond this are closed as soon as they are accepted (capped by RLIMIT_NOFILE - 64).
MAX_CONNECTIONS = 10000
#: Requests one connection may have in flight; reading pauses at the limit (back-pressure).
MAX_IN_FLIGHT_PER_CONNECTION = 128
#: A connection with nothing in flight and no bytes for this long is closed (MSEC proxy: 60 s).
IDLE_TIMEOUT_S = 60.0
#: How long shutdown waits for in-flight requests before closing connections.
DRAIN_TIMEOUT_S = 10.0
#: Threads running plain ``def`` handlers of connected clients (as many again may finish calls
#: whose client left: a thread cannot be stopped, but it no longer holds a place).
HANDLER_THREADS = 32
#: A frame, or an HTTP request (line + headers + body), must be complete this long after its first byte.
REQUEST_TIMEOUT_S = 10.0
#: Answers queued for a connection but not yet taken by its socket; above it reading pauses.
MAX_PENDING_OUTPUT_BYTES = 4 * 1024 * 1024
#: UDP calls running at once (whole server); datagrams beyond it are dropped and counted.
MAX_UDP_IN_FLIGHT = 1024
#: Method names shorter than this are rejected with -3, as MSEC did.
MIN_METHOD_NAME = 5
#: Caller name of HTTP requests without a ``caller`` header.
DEFAULT_HTTP_CALLER = "http.json"
#: HTTP request header carrying the caller's budget in ms (same meaning as ``timeout_ms``).
TIMEOUT_HEADER = "x-msec-timeout-ms"
#: Largest ``timeout_ms`` (uint32).
_MAX_UINT32 = 0xFFFFFFFF
_DECIMAL = re.compile(r"[0-9]{1,10}")

#: Writes a call's answer before :meth:`Server.answer_frame` / :meth:`Server.answer_http`
#: returns: used for the -10 answer at a deadline, while the handler is still being stopped.
EarlyAnswer = Callable[[bytes], None]


def deadline_exceeded_message(timeout_ms: int) -> str:
    """``err_msg`` of the -10 answer sent when a call's deadline passes."""
    return f"deadline exceeded (timeout_ms={timeout_ms})"


def parse_timeout_header(value: Optional[str]) -> int:
    """The budget of an ``X-Msec-Timeout-Ms`` value: a decimal uint32, 0 = none. Anything else
    (a sign, letters, more than 2^32 - 1) is ignored like an absent header: a malformed optional
    hint must not fail the call."""
    if value is None:
        return 0
    text = value.strip()
    if not _DECIMAL.fullmatch(text):
        return 0
    n = int(text)
    return n if n <= _MAX_UINT32 else 0

_TEXT = "text/plain; charset=utf-8"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def method_name_of(target: str) -> Optional[str]:
    """The percent-decoded ``methodName`` query parameter; ``None`` when absent or undecodable."""
    query = urlsplit(target).query
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key != "methodName":
            continue
        if _BAD_PERCENT.search(value):
            return None
        try:
            return unquote(value.replace("+", " "), errors="strict")
        except UnicodeDecodeError:
            return None
    return None


@dataclass
class ServerOptions:
    """Listening address and limits; every limit is named and documented above."""

    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    udp: bool = True
    service_name: str = ""
    max_frame_size: int = MAX_FRAME_SIZE
    max_http_header_bytes: int = MAX_HEADER_BYTES
    max_connections: int = MAX_CONNECTIONS
    max_in_flight_per_connection: int = MAX_IN_FLIGHT_PER_CONNECTION
    idle_timeout_s: float = IDLE_TIMEOUT_S
    drain_timeout_s: float = DRAIN_TIMEOUT_S
    handler_threads: int = HANDLER_THREADS
    request_timeout_s: float = REQUEST_TIMEOUT_S
    max_pending_output_bytes: int = MAX_PENDING_OUTPUT_BYTES
    max_udp_in_flight: int = MAX_UDP_IN_FLIGHT
    #: The OpenAPI document (JSON text) served at ``GET /openapi.json``; generated packages
    #: pass their ``openapi.json``. ``None``: that path is 404.
    openapi: Optional[str] = None
    #: One JSON line per answered call where the logs go (``[LOG] access_log=1``; docs/metrics.md).
    access_log: bool = False
    #: Worker processes serving the port (``[SRPC] workers``), read by :func:`~msec.start.start_server`
    #: (:mod:`.workers`); a :class:`Server` itself is always one process.
    workers: int = 1
    #: Listening sockets inherited from a worker group's main process, ``(tcp_fd, udp_fd or -1)``:
    #: :meth:`Server.start` serves them instead of binding (set in workers by :mod:`.workers`).
    listen_fds: Optional[Tuple[int, int]] = None


def _new_flow_id() -> int:
    return random.randrange(1, 1 << 32)


def _deadline(timeout_ms: int, arrived_at: Optional[float]) -> Tuple[Optional[float], float]:
    """(loop time the call is due, ``ctx.deadline`` on the ``time.time()`` scale); (None, inf) without a budget."""
    if timeout_ms <= 0:
        return None, math.inf
    now = asyncio.get_running_loop().time()
    due = (now if arrived_at is None else arrived_at) + timeout_ms / 1000.0
    return due, time.time() + (due - now)


def _is_async(handler: Handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None))


class Server:
    """Serves a method table; see the module doc for the wire behaviour."""

    def __init__(self, methods: MethodTable, options: Optional[ServerOptions] = None, monitor: Optional[Monitor] = None) -> None:
        self.methods = dict(methods)
        self.options = options or ServerOptions()
        self.monitor = monitor or default_monitor
        self.stats = ServerStats()
        self.log = Logger()
        threads = self.options.handler_threads
        self._pool = concurrent.futures.ThreadPoolExecutor(2 * threads, thread_name_prefix="msec-handler")
        self._thread_slots: Optional[asyncio.Semaphore] = None  # made in start(), on the server's loop
        self._abandoned_threads = 0
        self._acceptor: Optional[Acceptor] = None
        self._rejects: Optional[RejectLog] = None
        self._udp: Optional[asyncio.DatagramTransport] = None
        self._connections: Set[Connection] = set()
        self._tasks: Set["asyncio.Task[Any]"] = set()
        self._cancelled: Set["asyncio.Task[Any]"] = set()
        self._draining = False
        self._closed: Optional["asyncio.Future[None]"] = None
        self.max_connections = self.options.max_connections
        self.port = 0
        #: When set, ``GET /metrics`` serves what this returns instead of :meth:`metrics_text`
        #: (a worker of ``[SRPC] workers=N``: the instance's sum, :mod:`.workers`).
        self.metrics_source: Optional[Callable[[], Awaitable[str]]] = None
        if self.options.service_name:
            set_service_name(self.options.service_name)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Binds TCP (and UDP on the same port number); ``port=0`` picks a free one."""
        loop = asyncio.get_running_loop()
        self._closed = loop.create_future()
        self._thread_slots = asyncio.Semaphore(self.options.handler_threads)
        self._rejects = RejectLog()
        soft = fd_soft_limit()
        self.max_connections = effective_max_connections(self.options.max_connections, soft)
        if self.max_connections < self.options.max_connections:
            write_log(
                ERROR,
                "max_connections capped by the file descriptor limit (RLIMIT_NOFILE soft limit minus a reserve)",
                {"maxConnections": self.options.max_connections, "fdLimit": soft, "effectiveMaxConnections": self.max_connections},
            )
        if self.options.listen_fds is not None:
            await self._serve_inherited(*self.options.listen_fds)
            return
        attempts = 20 if self.options.port == 0 else 1
        for attempt in range(attempts):
            sock = _listening_socket(self.options.host, self.options.port)
            self.port = int(sock.getsockname()[1])
            if self.options.udp:
                try:
                    self._udp, _ = await loop.create_datagram_endpoint(
                        lambda: _UdpProtocol(self), local_addr=(self.options.host, self.port)
                    )
                except OSError:
                    sock.close()
                    if attempt == attempts - 1:
                        raise
                    continue
            self._acceptor = Acceptor(sock, self._on_accept, self._on_fd_limit)
            return

    async def _serve_inherited(self, tcp_fd: int, udp_fd: int) -> None:
        """Serves sockets a worker group's main process bound (every worker shares them)."""
        sock = socket.socket(fileno=tcp_fd)
        self.port = int(sock.getsockname()[1])
        if udp_fd >= 0:
            self._udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _UdpProtocol(self), sock=socket.socket(fileno=udp_fd)
            )
        self._acceptor = Acceptor(sock, self._on_accept, self._on_fd_limit)

    async def serve_until_stopped(self) -> None:
        """Waits until :meth:`shutdown` completes."""
        assert self._closed is not None, "start() first"
        await self._closed

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT start a graceful shutdown."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(self.shutdown()))

    async def shutdown(self, drain_timeout_s: Optional[float] = None) -> None:
        """Stops accepting, lets in-flight requests finish and their answers go out (bounded), then closes.

        A connection stops reading at once: calls already received are answered,
        then it closes; a frame sent after that is never read (the client sees
        the connection close after its earlier answers, not a lost call).
        """
        if self._draining:
            if self._closed is not None:
                await asyncio.shield(self._closed)
            return
        self._draining = True
        timeout = self.options.drain_timeout_s if drain_timeout_s is None else drain_timeout_s
        if self._acceptor is not None:
            self._acceptor.close()
        if self._udp is not None:
            self._udp.close()
        for conn in list(self._connections):
            conn.drain()
        deadline = time.monotonic() + timeout
        while (self._tasks or any(c.busy for c in self._connections)) and time.monotonic() < deadline:
            await asyncio.sleep(min(0.02, max(deadline - time.monotonic(), 0)))
        for conn in list(self._connections):
            conn.abort()
        for task in list(self._tasks):
            self.cancel_call(task)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        self._pool.shutdown(wait=False)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    # ----------------------------------------------------------------- connections

    def _on_accept(self, sock: socket.socket, addr: Tuple[object, ...]) -> None:
        if self._draining:
            sock.close()
            return
        if len(self._connections) >= self.max_connections:
            sock.close()
            self.stats.rejected("max_connections")
            if self._rejects is not None:
                self._rejects.note("max_connections", f"max_connections ({self.max_connections}) reached")
            return
        peer = f"{addr[0]}:{addr[1]}" if len(addr) >= 2 else str(addr[0])
        conn = Connection(self, peer)
        self._connections.add(conn)
        self.stats.accepted += 1
        self.stats.connections = len(self._connections)
        self.spawn(self._connect(conn, sock))

    async def _connect(self, conn: Connection, sock: socket.socket) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: conn, sock)
        except (OSError, RuntimeError) as exc:
            sock.close()
            log_error(f"connection {conn.peer} could not be set up: {exc}")
            self.connection_lost(conn)

    def _on_fd_limit(self, detail: str, rejected: bool) -> None:
        if rejected:
            self.stats.rejected("fd_limit")
        if self._rejects is not None:
            self._rejects.note("fd_limit", detail, rejected)

    def connection_lost(self, conn: Connection) -> None:
        """Called by a connection once its socket is closed."""
        self._connections.discard(conn)
        self.stats.connections = len(self._connections)

    # ----------------------------------------------------------------- dispatch

    def spawn(self, coro: Awaitable[Any]) -> "asyncio.Task[Any]":
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_call(self, task: "asyncio.Task[Any]") -> None:
        """Cancels a call's task; its handler's ``CancelledError`` is then ours, not a handler bug."""
        if not task.done():
            self._cancelled.add(task)
            task.add_done_callback(self._cancelled.discard)
            task.cancel()

    async def _invoke(self, handler: Handler, body: RequestBody, ctx: CallContext) -> Any:
        scope = CallScope(ctx.method, ctx.caller, ctx.flow_id, ctx.coloring, ctx.deadline, ctx.peer)
        token = enter_call(scope)
        try:
            if _is_async(handler):
                return await cast(Awaitable[Any], handler(body, ctx))
            result = await self._run_in_thread(handler, body, ctx)
            if inspect.isawaitable(result):
                result = await result
            return result
        finally:
            leave_call(token)

    async def _run_in_thread(self, handler: Handler, body: RequestBody, ctx: CallContext) -> Any:
        """Runs a plain ``def`` handler in the pool: at most ``handler_threads`` for connected clients.

        Cancelled (its client left) while waiting for a thread: it never starts.
        Cancelled while running: the thread cannot be stopped, so it stops
        holding its place (up to ``handler_threads`` such threads) and a waiting
        call can start.
        """
        slots = self._thread_slots
        assert slots is not None, "start() first"
        await slots.acquire()
        handed_off = False
        try:
            future = self._pool.submit(contextvars.copy_context().run, handler, body, ctx)
            try:
                return await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                if not future.cancel() and not future.done():
                    handed_off = True
                    loop = asyncio.get_running_loop()
                    if self._abandoned_threads < self.options.handler_threads:
                        self._abandoned_threads += 1
                        slots.release()
                        finished: Callable[[], None] = self._abandoned_thread_finished
                    else:
                        finished = slots.release
                    future.add_done_callback(lambda _f: _call_soon(loop, finished))
                raise
        finally:
            if not handed_off:
                slots.release()

    def _abandoned_thread_finished(self) -> None:
        self._abandoned_threads -= 1

    async def _call(
        self,
        method: str,
        body: RequestBody,
        ctx: CallContext,
        timeout_ms: int = 0,
        due: Optional[float] = None,
        on_expire: Optional[Callable[[int, str], None]] = None,
    ) -> Tuple[int, Any]:
        """Runs one method; returns (0, response), or (code, message) where message is the text of an
        ``SrpcError`` the method raised when it is not the code's standard text, else None.

        With a deadline (``due``, loop time): when it passes first, ``on_expire(-10, message)``
        runs at once (to answer now), the handler is cancelled, and once it has ended the result
        is (-10, message) whatever it returned. Never raises, except when cancelled by us."""
        handler = self.methods.get(method)
        if handler is None:
            return ERR_INVALID_METHOD_NAME, None
        self.stats.in_flight += 1
        try:
            return await self._call_with_deadline(method, handler, body, ctx, timeout_ms, due, on_expire)
        finally:
            self.stats.in_flight -= 1

    async def _call_with_deadline(
        self,
        method: str,
        handler: Handler,
        body: RequestBody,
        ctx: CallContext,
        timeout_ms: int,
        due: Optional[float],
        on_expire: Optional[Callable[[int, str], None]],
    ) -> Tuple[int, Any]:
        """:meth:`_call` for a served method."""
        if due is None:
            return await self._run(method, handler, body, ctx)
        loop = asyncio.get_running_loop()
        left = due - loop.time()
        if left <= 0:  # it waited for a free place past its deadline: not worth starting
            ctx.cancellation.set()
            return self._deadline_exceeded(method, timeout_ms)
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            ctx.cancellation.set()
            code, message = self._deadline_exceeded(method, timeout_ms)
            if on_expire is not None:
                on_expire(code, message)
            self.cancel_call(task)

        timer = loop.call_later(left, expire)
        outcome: Optional[Tuple[int, Any]] = None
        try:
            outcome = await self._run(method, handler, body, ctx)
        except asyncio.CancelledError:
            if not expired:
                raise  # the client left or shutdown
        finally:
            timer.cancel()
        if not expired:
            assert outcome is not None
            return outcome
        # Our own cancellation ends here (the handler raised it, or swallowed it and returned: then
        # what it returned is dropped); Python >= 3.11 counts cancellations, so take ours back.
        uncancel = getattr(task, "uncancel", None)
        if uncancel is not None:
            uncancel()
        return ERR_TIMEOUT, deadline_exceeded_message(timeout_ms)

    def _deadline_exceeded(self, method: str, timeout_ms: int) -> Tuple[int, Any]:
        self.stats.deadline_exceeded(method)
        return ERR_TIMEOUT, deadline_exceeded_message(timeout_ms)

    async def _run(self, method: str, handler: Handler, body: RequestBody, ctx: CallContext) -> Tuple[int, Any]:
        """Runs a handler and turns its outcome into (code, result); see :meth:`_call`."""
        try:
            result = await self._invoke(handler, body, ctx)
        except SrpcError as exc:
            return exc.code, (exc.message if exc.message != errmsg(exc.code) else None)
        except asyncio.CancelledError as exc:
            if asyncio.current_task() in self._cancelled:
                ctx.cancellation.set()
                raise  # the server cancelled this call (deadline, client gone, shutdown): nobody waits for it
            self._handler_failed(method, ctx, exc)
            return ERR_SERVICE_IMPL_FAILED, None
        except BaseException as exc:  # SystemExit, KeyboardInterrupt, any bug: the server must survive
            self._handler_failed(method, ctx, exc)
            return ERR_SERVICE_IMPL_FAILED, None
        return 0, result

    def _handler_failed(self, method: str, ctx: CallContext, exc: BaseException) -> None:
        fields: Dict[str, object] = {"flowId": str(ctx.flow_id), "method": ctx.method, "caller": ctx.caller, "stack": traceback.format_exc()}
        write_log(ERROR, f"handler {method} failed: {type(exc).__name__}: {exc}", fields)

    def _answered(
        self,
        label: str,
        transport: str,
        fmt: str,
        code: int,
        arrived_at: float,
        method: str,
        caller: str,
        peer: str,
        flow_id: int,
        bytes_in: int,
        bytes_out: int,
    ) -> None:
        """Counts an answered call under ``label`` (its method or ``(unknown)``) with its latency,
        and writes its access line when ``access_log`` is on."""
        seconds = max(asyncio.get_running_loop().time() - arrived_at, 0.0)
        self.stats.request(label, transport, code, seconds)
        if self.options.access_log:
            write_access(format_access(method, caller, peer, transport, fmt, code, seconds * 1000.0, bytes_in, bytes_out, flow_id))

    async def answer_frame(
        self,
        frame: bytes,
        peer: str,
        arrived_at: Optional[float] = None,
        early: Optional[EarlyAnswer] = None,
        transport: str = "tcp",
    ) -> Optional[bytes]:
        """The response frame for one complete request frame (raises ``SrpcError`` -3/-4 if unanswerable).

        ``arrived_at``: loop time of the frame's first byte (default now), the start of its deadline
        and latency. ``early``: when given, the -10 answer of a passed deadline is handed to it at
        once and ``None`` is returned once the handler has ended (without it, the -10 frame is
        returned then). ``transport``: ``"tcp"`` or ``"udp"``, for the metrics and the access log.
        """
        if arrived_at is None:
            arrived_at = asyncio.get_running_loop().time()
        raw_head, body = split_frame(frame)
        head = decode_head(raw_head)
        method = head.method_name.decode("utf-8", "replace")
        flow_id = head.flow_id or _new_flow_id()
        timeout_ms = head.timeout_ms or 0
        due, deadline = _deadline(timeout_ms, arrived_at)
        ctx = CallContext(
            format=BINARY,
            method=method,
            caller=head.caller.decode("utf-8", "replace") if head.caller else "",
            flow_id=flow_id,
            coloring=head.coloring or 0,
            deadline=deadline,
            peer=peer,
            log=self.log,
        )
        served = method in self.methods
        label = method if served else UNKNOWN_METHOD_LABEL
        # An unknown method's answer echoes the head as it came: its flow id, if any.
        logged_flow_id = flow_id if served else (head.flow_id or 0)

        def answered(code: int, response: bytes) -> bytes:
            self._answered(label, transport, BINARY, code, arrived_at, method, ctx.caller, peer, logged_flow_id, len(frame), len(response))
            return response

        answered_early = False

        def expired(code: int, message: str) -> None:
            nonlocal answered_early
            if early is not None:
                answered_early = True
                early(answered(code, encode_frame(encode_head(head.with_fields(err=code, err_msg=message.encode("utf-8"))))))

        code, result = await self._call(method, body, ctx, timeout_ms, due, expired)
        if answered_early:
            return None
        if code == 0:
            if isinstance(result, (bytes, bytearray, memoryview)):
                payload = bytes(result)
            elif result is None:
                payload = b""
            elif hasattr(result, "SerializeToString"):
                payload = result.SerializeToString()
            else:
                log_error(f"handler {method} returned {type(result).__name__}, not bytes, for a binary call")
                code = ERR_SERVICE_IMPL_FAILED
        if code != 0:
            if isinstance(result, str):  # the method's own message, as the TS server sends it
                return answered(code, encode_frame(encode_head(head.with_fields(err=code, err_msg=result.encode("utf-8")))))
            return answered(code, encode_frame(encode_head(head.with_fields(err=code))))
        out_head = raw_head if head.flow_id else encode_head(head.with_fields(flow_id=flow_id))
        return answered(0, encode_frame(out_head, payload))

    async def answer_http(
        self, request: HttpRequest, peer: str, arrived_at: Optional[float] = None, early: Optional[EarlyAnswer] = None
    ) -> Optional[bytes]:
        """The response bytes for one HTTP request (JSON envelope, health, metrics, 404/405);
        ``arrived_at`` and ``early`` as for :meth:`answer_frame`."""
        parts = urlsplit(request.target)
        if request.method == "POST":
            if arrived_at is None:
                arrived_at = asyncio.get_running_loop().time()
            return await self._json_call(request, peer, arrived_at, early)
        if request.method in ("GET", "HEAD"):
            if parts.path == "/metrics" and self.metrics_source is not None:
                response = plain_response(200, "OK", _METRICS_TYPE, (await self.metrics_source()).encode("utf-8"))
            else:
                response = self._resource(parts.path)
            # HEAD: the GET answer's status and headers (Content-Length included), no body.
            return response[: response.index(b"\r\n\r\n") + 4] if request.method == "HEAD" else response
        return plain_response(405, "Method Not Allowed", _TEXT, b"method not allowed\n", "Allow: GET, HEAD, POST\r\n")

    async def _json_call(self, request: HttpRequest, peer: str, arrived_at: float, early: Optional[EarlyAnswer]) -> Optional[bytes]:
        """A ``POST …?methodName=`` JSON call: the MSEC envelope, counted and access-logged."""
        method = method_name_of(request.target) or ""
        caller = request.header("caller") or DEFAULT_HTTP_CALLER
        served = method in self.methods
        label = method if served else UNKNOWN_METHOD_LABEL
        flow_id = _new_flow_id() if served else 0

        def answered(code: int, response: bytes) -> bytes:
            body_out = len(response) - response.index(b"\r\n\r\n") - 4
            self._answered(label, "http", JSON, code, arrived_at, method, caller, peer, flow_id, len(request.body), body_out)
            return response

        if len(method) < MIN_METHOD_NAME:
            label = UNKNOWN_METHOD_LABEL
            return answered(ERR_INVALID_PKG, envelope_response(ERR_INVALID_PKG))
        if not served:
            return answered(ERR_INVALID_METHOD_NAME, envelope_response(ERR_INVALID_METHOD_NAME))
        try:
            # A JSON object within the body rules of docs/request-decoding.md, BOM removed.
            text = json_body_text(request.body.decode("utf-8"))
        except ValueError:
            return answered(ERR_INVALID_PKG, envelope_response(ERR_INVALID_PKG))
        timeout_ms = parse_timeout_header(request.header(TIMEOUT_HEADER))
        due, deadline = _deadline(timeout_ms, arrived_at)
        ctx = CallContext(
            format=JSON,
            method=method,
            caller=caller,
            flow_id=flow_id,
            coloring=0,
            deadline=deadline,
            peer=peer,
            log=self.log,
        )
        answered_early = False

        def expired(code: int, message: str) -> None:
            nonlocal answered_early
            if early is not None:
                answered_early = True
                early(answered(code, envelope_response(code, message=message)))

        code, result = await self._call(method, text, ctx, timeout_ms, due, expired)
        if answered_early:
            return None
        if code != 0:
            return answered(code, envelope_response(code, message=result if isinstance(result, str) else None))
        if isinstance(result, (bytes, bytearray)):
            result = bytes(result).decode("utf-8")
        if isinstance(result, str):  # a handler that returned JSON text (MSEC style)
            try:
                result = json.loads(result)
            except ValueError:
                log_error(f"handler {method} returned text that is not JSON")
                return answered(ERR_SERVICE_IMPL_FAILED, envelope_response(ERR_SERVICE_IMPL_FAILED))
        try:
            to_json_text(result)
        except (TypeError, ValueError) as exc:
            log_error(f"handler {method} returned a value that is not JSON-able: {exc}")
            return answered(ERR_SERVICE_IMPL_FAILED, envelope_response(ERR_SERVICE_IMPL_FAILED))
        return answered(0, envelope_response(0, result))

    def metrics_text(self) -> str:
        """This process's Prometheus text, served by ``GET /metrics`` unless :attr:`metrics_source`
        is set: the monitor's attributes, the server's own metrics, then the process's
        (docs/metrics.md); one function, so a worker group can sum it."""
        return self.monitor.prometheus_text() + self.stats.prometheus_text() + process_metrics_text()

    def _resource(self, path: str) -> bytes:
        """The answer to ``GET <path>``: health, metrics, the OpenAPI document, the explorer, else 404."""
        if path == "/health":
            if self._draining:
                return plain_response(503, "Service Unavailable", _TEXT, b"draining\n")
            return plain_response(200, "OK", _TEXT, b"ok\n")
        if path == "/metrics":
            return plain_response(200, "OK", _METRICS_TYPE, self.metrics_text().encode("utf-8"))
        if path == "/openapi.json" and self.options.openapi is not None:
            return plain_response(200, "OK", "application/json; charset=utf-8", self.options.openapi.encode("utf-8"))
        if path == EXPLORER_PATH:
            return explorer_response()
        return plain_response(404, "Not Found", _TEXT, b"not found\n")


_METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _UdpProtocol(asyncio.DatagramProtocol):
    """SRPC over UDP: one frame per datagram, the answer sent back to the sender; at most
    ``max_udp_in_flight`` calls at once, later datagrams dropped and counted."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: Optional[asyncio.DatagramTransport] = None
        self.in_flight = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Tuple[str, int]) -> None:
        arrived_at = asyncio.get_running_loop().time()
        if check_frame(data) != len(data):
            self.server.stats.malformed("udp")
            return  # incomplete or malformed: a datagram is all there is
        if self.in_flight >= self.server.options.max_udp_in_flight:
            self.server.stats.dropped("udp", "overload")
            return
        self.in_flight += 1
        self.server.spawn(self._answer(data, addr, arrived_at))

    async def _answer(self, data: bytes, addr: Tuple[str, int], arrived_at: float) -> None:
        def send(response: bytes) -> None:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.sendto(response, addr)

        try:
            response = await self.server.answer_frame(data, f"{addr[0]}:{addr[1]}", arrived_at, send, transport="udp")
        except SrpcError:
            self.server.stats.malformed("udp")
            return
        finally:
            self.in_flight -= 1  # after the handler ended, even when the deadline answered earlier
        if response is not None:
            send(response)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket for ``host:port`` (the first address ``host`` resolves to)."""
    family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """``loop.call_soon_threadsafe`` that tolerates a loop already closed (a thread outliving its server)."""
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:
        pass


def run_server(methods: MethodTable, options: Optional[ServerOptions] = None, on_started: Optional[Callable[[Server], None]] = None) -> None:
    """Runs a server until SIGTERM/SIGINT, then drains gracefully (a process entry point).

    ``SystemExit`` or ``KeyboardInterrupt`` raised by a task a handler started
    itself (asyncio lets those two escape the event loop) is logged and the
    loop goes on: only SIGTERM/SIGINT stop the server.
    """

    async def main() -> None:
        server = Server(methods, options)
        await server.start()
        server.install_signal_handlers()
        if on_started is not None:
            on_started(server)
        await server.serve_until_stopped()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main_task = loop.create_task(main())
    try:
        while True:
            try:
                loop.run_until_complete(main_task)
                break
            except (SystemExit, KeyboardInterrupt) as exc:
                if main_task.done():
                    raise
                write_log(ERROR, f"a task started by a handler raised {type(exc).__name__}; the server goes on", {"stack": traceback.format_exc()})
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()

