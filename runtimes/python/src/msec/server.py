"""The asyncio server: one port serving SRPC frames and HTTP/1.1 JSON, plus UDP on the same port number.

Behaviour shared with the TypeScript server:

* the first byte of a TCP connection decides: ``0x28`` ⇒ SRPC frames, else HTTP/1.1;
* SRPC: the response head is the request head echoed (raw bytes when its
  ``flow_id`` is non-zero, else re-encoded with a fresh ``flow_id``); errors
  add ``err`` to the head and carry no body (vector V3); a malformed frame or
  head closes that connection only; responses go out as they complete;
* HTTP: ``POST …?methodName=pkg.Service.Method`` (URL-decoded, anywhere in the
  query) is a JSON call answered with the MSEC envelope (vector V8); no
  ``methodName`` or one shorter than 5 characters ⇒ -3; an unknown method ⇒
  -6; a body that is not JSON ⇒ -3; an empty body means ``{}``; chunked
  bodies are concatenated; any ``Content-Type`` is accepted; ``GET /health``
  (503 while draining) and ``GET /metrics``; other ``GET`` ⇒ 404, other
  methods ⇒ 405;
  keep-alive and pipelining, answered in request order;
* UDP: one SRPC frame per datagram, answered to the sender; others dropped;
* a handler raising :class:`SrpcError` answers its code; any other exception
  answers -18 and is logged; the server never crashes on a request.
"""
import asyncio
import concurrent.futures
import contextvars
import inspect
import json
import random
import re
import signal
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Tuple, cast
from urllib.parse import unquote, urlsplit

from .context import CallScope, enter_call, leave_call, set_service_name
from .envelope import envelope_response, to_json_text
from .errors import (
    ERR_INVALID_METHOD_NAME,
    ERR_INVALID_PKG,
    ERR_SERVICE_IMPL_FAILED,
    SrpcError,
    errmsg,
)
from .frame import MAX_FRAME_SIZE, FrameDecoder, check_frame, decode_head, encode_frame, encode_head, split_frame
from .handler import BINARY, JSON, CallContext, Handler, MethodTable, RequestBody
from .http1 import MAX_HEADER_BYTES, HttpError, HttpRequest, expects_continue, parse_request, plain_response
from .log import ERROR, Logger, log_error, write_log
from .monitor import Monitor, default_monitor
from .request_decoding import json_body_text

#: Default port of MSEC services.
DEFAULT_PORT = 7963
#: Connections beyond this are closed as soon as they are accepted.
MAX_CONNECTIONS = 10000
#: Requests one connection may have in flight; reading pauses at the limit (back-pressure).
MAX_IN_FLIGHT_PER_CONNECTION = 128
#: A connection with nothing in flight and no bytes for this long is closed (MSEC proxy: 60 s).
IDLE_TIMEOUT_S = 60.0
#: How long shutdown waits for in-flight requests before closing connections.
DRAIN_TIMEOUT_S = 10.0
#: Threads running plain ``def`` handlers.
HANDLER_THREADS = 32
#: Method names shorter than this are rejected with -3, as MSEC did.
MIN_METHOD_NAME = 5
#: Caller name of HTTP requests without a ``caller`` header.
DEFAULT_HTTP_CALLER = "http.json"

_READ_CHUNK = 65536
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


def _new_flow_id() -> int:
    return random.randrange(1, 1 << 32)


def _is_async(handler: Handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None))


class Server:
    """Serves a method table; see the module doc for the wire behaviour."""

    def __init__(self, methods: MethodTable, options: Optional[ServerOptions] = None, monitor: Optional[Monitor] = None) -> None:
        self.methods = dict(methods)
        self.options = options or ServerOptions()
        self.monitor = monitor or default_monitor
        self.log = Logger()
        self._pool = concurrent.futures.ThreadPoolExecutor(self.options.handler_threads, thread_name_prefix="msec-handler")
        self._tcp: Optional[asyncio.AbstractServer] = None
        self._udp: Optional[asyncio.DatagramTransport] = None
        self._connections: Set["_Connection"] = set()
        self._connection_tasks: Set["asyncio.Task[Any]"] = set()
        self._tasks: Set["asyncio.Task[Any]"] = set()
        self._draining = False
        self._closed: Optional["asyncio.Future[None]"] = None
        self.port = 0
        if self.options.service_name:
            set_service_name(self.options.service_name)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Binds TCP (and UDP on the same port number); ``port=0`` picks a free one."""
        loop = asyncio.get_running_loop()
        self._closed = loop.create_future()
        attempts = 20 if self.options.port == 0 else 1
        for attempt in range(attempts):
            self._tcp = await asyncio.start_server(self._on_connection, self.options.host, self.options.port, limit=_READ_CHUNK)
            self.port = int(self._tcp.sockets[0].getsockname()[1])
            if not self.options.udp:
                return
            try:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), local_addr=(self.options.host, self.port)
                )
                return
            except OSError:
                self._tcp.close()
                await self._tcp.wait_closed()
                if attempt == attempts - 1:
                    raise

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
        """Stops accepting, lets in-flight requests finish (bounded), then closes everything."""
        if self._draining:
            if self._closed is not None:
                await asyncio.shield(self._closed)
            return
        self._draining = True
        timeout = self.options.drain_timeout_s if drain_timeout_s is None else drain_timeout_s
        if self._tcp is not None:
            self._tcp.close()
        if self._udp is not None:
            self._udp.close()
        for conn in list(self._connections):
            conn.drain()
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(list(self._tasks), timeout=max(deadline - time.monotonic(), 0))
        for conn in list(self._connections):
            conn.close()
        for task in list(self._tasks):
            task.cancel()
        if self._connection_tasks:  # let each connection see its close and finish
            await asyncio.wait(list(self._connection_tasks), timeout=1.0)
        if self._tcp is not None:
            try:
                await asyncio.wait_for(self._tcp.wait_closed(), 1.0)
            except asyncio.TimeoutError:
                pass
        self._pool.shutdown(wait=False)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    # ----------------------------------------------------------------- dispatch

    def _spawn(self, coro: Awaitable[Any]) -> "asyncio.Task[Any]":
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _invoke(self, handler: Handler, body: RequestBody, ctx: CallContext) -> Any:
        scope = CallScope(ctx.method, ctx.caller, ctx.flow_id, ctx.coloring, ctx.deadline, ctx.peer)
        token = enter_call(scope)
        try:
            if _is_async(handler):
                return await cast(Awaitable[Any], handler(body, ctx))
            context = contextvars.copy_context()
            result = await asyncio.get_running_loop().run_in_executor(self._pool, context.run, handler, body, ctx)
            if inspect.isawaitable(result):
                result = await result
            return result
        finally:
            leave_call(token)

    async def _call(self, method: str, body: RequestBody, ctx: CallContext) -> Tuple[int, Any]:
        """Runs one method; returns (0, response) or (code, None). Never raises."""
        self.monitor.add(f"frm.rpc caller [{ctx.caller}]")
        handler = self.methods.get(method)
        if handler is None:
            self.monitor.add(f"frm.rpc request [{method}] fail:{errmsg(ERR_INVALID_METHOD_NAME)}")
            return ERR_INVALID_METHOD_NAME, None
        try:
            result = await self._invoke(handler, body, ctx)
        except SrpcError as exc:
            self.monitor.add(f"frm.rpc request [{method}] fail:{errmsg(exc.code)}")
            return exc.code, None
        except Exception as exc:  # the server must survive any handler bug
            fields: Dict[str, object] = {"flowId": str(ctx.flow_id), "method": ctx.method, "caller": ctx.caller, "stack": traceback.format_exc()}
            write_log(ERROR, f"handler {method} failed: {type(exc).__name__}: {exc}", fields)
            self.monitor.add(f"frm.rpc request [{method}] fail:{errmsg(ERR_SERVICE_IMPL_FAILED)}")
            return ERR_SERVICE_IMPL_FAILED, None
        self.monitor.add(f"frm.rpc request [{method}] success")
        return 0, result

    async def answer_frame(self, frame: bytes, peer: str) -> bytes:
        """The response frame for one complete request frame (raises ``SrpcError`` -3/-4 if unanswerable)."""
        raw_head, body = split_frame(frame)
        head = decode_head(raw_head)
        method = head.method_name.decode("utf-8", "replace")
        flow_id = head.flow_id or _new_flow_id()
        ctx = CallContext(
            format=BINARY,
            method=method,
            caller=head.caller.decode("utf-8", "replace") if head.caller else "",
            flow_id=flow_id,
            coloring=head.coloring or 0,
            peer=peer,
            log=self.log,
        )
        code, result = await self._call(method, body, ctx)
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
            return encode_frame(encode_head(head.with_fields(err=code)))
        out_head = raw_head if head.flow_id else encode_head(head.with_fields(flow_id=flow_id))
        return encode_frame(out_head, payload)

    async def answer_http(self, request: HttpRequest, peer: str) -> bytes:
        """The response bytes for one HTTP request (JSON envelope, health, metrics, 404/405)."""
        parts = urlsplit(request.target)
        if request.method == "POST":
            method = method_name_of(request.target) or ""
            if len(method) < MIN_METHOD_NAME:
                return envelope_response(ERR_INVALID_PKG)
            if method not in self.methods:
                self.monitor.add(f"frm.rpc caller [{request.header('caller') or DEFAULT_HTTP_CALLER}]")
                return envelope_response(ERR_INVALID_METHOD_NAME)
            try:
                # A JSON object within the body rules of docs/request-decoding.md, BOM removed.
                text = json_body_text(request.body.decode("utf-8"))
            except ValueError:
                return envelope_response(ERR_INVALID_PKG)
            ctx = CallContext(
                format=JSON,
                method=method,
                caller=request.header("caller") or DEFAULT_HTTP_CALLER,
                flow_id=_new_flow_id(),
                coloring=0,
                peer=peer,
                log=self.log,
            )
            code, result = await self._call(method, text, ctx)
            if code != 0:
                return envelope_response(code)
            if isinstance(result, (bytes, bytearray)):
                result = bytes(result).decode("utf-8")
            if isinstance(result, str):  # a handler that returned JSON text (MSEC style)
                try:
                    result = json.loads(result)
                except ValueError:
                    log_error(f"handler {method} returned text that is not JSON")
                    return envelope_response(ERR_SERVICE_IMPL_FAILED)
            try:
                to_json_text(result)
            except (TypeError, ValueError) as exc:
                log_error(f"handler {method} returned a value that is not JSON-able: {exc}")
                return envelope_response(ERR_SERVICE_IMPL_FAILED)
            return envelope_response(0, result)
        if request.method == "GET":
            if parts.path == "/health":
                if self._draining:
                    return plain_response(503, "Service Unavailable", _TEXT, b"draining\n")
                return plain_response(200, "OK", _TEXT, b"ok\n")
            if parts.path == "/metrics":
                body = self.monitor.prometheus_text().encode("utf-8")
                return plain_response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", body)
            return plain_response(404, "Not Found", _TEXT, b"not found\n")
        return plain_response(405, "Method Not Allowed", _TEXT, b"method not allowed\n", "Allow: GET, POST\r\n")

    # ----------------------------------------------------------------- transport

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._draining or len(self._connections) >= self.options.max_connections:
            writer.close()
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        conn = _Connection(self, reader, writer, peer)
        self._connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._connection_tasks.add(task)
            task.add_done_callback(self._connection_tasks.discard)
        self.monitor.set("frm.rpc connections", len(self._connections))
        try:
            await conn.serve()
        finally:
            self._connections.discard(conn)
            self.monitor.set("frm.rpc connections", len(self._connections))
            conn.close()


class _Connection:
    """One TCP connection, SRPC or HTTP as its first byte says."""

    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.in_flight = 0
        #: HTTP answers queued but not yet written (an interim 100 Continue must not overtake them).
        self.unwritten = 0
        self.closed = False
        self.draining = False
        self._slots = asyncio.Semaphore(server.options.max_in_flight_per_connection)
        self._answered = asyncio.Event()  # set each time an SRPC answer finishes
        self._loop = asyncio.get_running_loop()
        self._last_active = self._loop.time()
        self._idle_timer: Optional[asyncio.TimerHandle] = self._loop.call_later(server.options.idle_timeout_s, self._check_idle)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self._answered.set()
            self.writer.close()

    def drain(self) -> None:
        """Shutdown started: stop reading; close now if nothing is in flight."""
        self.draining = True
        if self.in_flight == 0:
            self.close()

    def _check_idle(self) -> None:
        """Closes the connection after ``idle_timeout_s`` without bytes while nothing is in flight.

        A timer instead of a timeout around every read keeps the read path cheap.
        """
        if self.closed:
            return
        timeout = self.server.options.idle_timeout_s
        idle_for = self._loop.time() - self._last_active
        if self.in_flight == 0 and idle_for >= timeout:
            self.close()
            return
        self._idle_timer = self._loop.call_later(max(timeout - idle_for, 0.001) if self.in_flight == 0 else timeout, self._check_idle)

    async def _read(self) -> bytes:
        """Next bytes; ``b""`` on EOF, error, or when the idle timer closed the connection."""
        try:
            data = await self.reader.read(_READ_CHUNK)
        except OSError:
            return b""
        self._last_active = self._loop.time()
        return data

    def _write(self, data: bytes) -> None:
        self._last_active = self._loop.time()
        if not self.closed and not self.writer.is_closing():
            self.writer.write(data)

    async def serve(self) -> None:
        first = await self._read()
        if not first or self.draining:
            return
        if first[0] == 0x28:
            await self._serve_srpc(first)
        else:
            await self._serve_http(first)

    async def _serve_srpc(self, data: bytes) -> None:
        decoder = FrameDecoder(self.server.options.max_frame_size)
        while data and not self.closed:
            try:
                frames = decoder.feed(data)
            except SrpcError:
                self.close()  # cannot resynchronise a byte stream: close this connection only
                return
            for frame in frames:
                await self._slots.acquire()
                self.in_flight += 1
                self.server._spawn(self._answer_frame(frame))
            if self.draining:
                return
            data = await self._read()
        await self._wait_idle()

    async def _answer_frame(self, frame: bytes) -> None:
        try:
            response = await self.server.answer_frame(frame, self.peer)
            self._write(response)
        except SrpcError:
            self.close()  # unparsable head: there is nothing to echo
        finally:
            self.in_flight -= 1
            self._slots.release()
            self._answered.set()
            if self.draining and self.in_flight == 0:
                self.close()

    async def _wait_idle(self) -> None:
        """Waits until every frame read from this connection has been answered."""
        while self.in_flight > 0 and not self.closed:
            self._answered.clear()
            await self._answered.wait()

    async def _serve_http(self, data: bytes) -> None:
        buf = bytearray(data)
        queue: "asyncio.Queue[Optional[Tuple[asyncio.Future[bytes], bool]]]" = asyncio.Queue()
        writer_task = self.server._spawn(self._write_in_order(queue))
        continued = False
        try:
            while not self.closed:
                while True:
                    try:
                        options = self.server.options
                        parsed = parse_request(bytes(buf), options.max_frame_size, options.max_http_header_bytes)
                    except HttpError as exc:  # answered in its turn, then the connection closes
                        done: "asyncio.Future[bytes]" = asyncio.get_running_loop().create_future()
                        body = f"{exc.message}\n".encode()
                        done.set_result(plain_response(exc.status, exc.reason, _TEXT, body, "Connection: close\r\n"))
                        self.unwritten += 1
                        await queue.put((done, True))
                        return
                    if parsed is None:
                        if not continued and self.unwritten == 0 and expects_continue(bytes(buf), options.max_http_header_bytes):
                            continued = True  # interim answer only when it cannot overtake an earlier one
                            self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
                        break
                    continued = False
                    request, consumed = parsed
                    del buf[:consumed]
                    await self._slots.acquire()
                    self.in_flight += 1
                    task = self.server._spawn(self._answer_http(request))
                    keep = request.keep_alive
                    self.unwritten += 1
                    await queue.put((task, not keep))
                    if not keep:
                        return
                if self.draining:
                    return
                more = await self._read()
                if not more:
                    return
                buf += more
        finally:
            await queue.put(None)
            await writer_task

    async def _answer_http(self, request: HttpRequest) -> bytes:
        try:
            return await self.server.answer_http(request, self.peer)
        except Exception as exc:  # answer_http handles handler errors; this is a last resort
            log_error(f"http request failed: {type(exc).__name__}: {exc}")
            return envelope_response(ERR_SERVICE_IMPL_FAILED)
        finally:
            self.in_flight -= 1
            self._slots.release()

    async def _write_in_order(self, queue: "asyncio.Queue[Optional[Tuple[asyncio.Future[bytes], bool]]]") -> None:
        while True:
            item = await queue.get()
            if item is None:
                break
            fut, close_after = item
            try:
                data = await fut
            except asyncio.CancelledError:
                break
            self._write(data)
            self.unwritten -= 1
            if close_after or (self.draining and self.in_flight == 0 and queue.empty()):
                break
        try:
            await self.writer.drain()
        except (OSError, ConnectionError):
            pass
        self.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    """SRPC over UDP: one frame per datagram, the answer sent back to the sender."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: Optional[asyncio.DatagramTransport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Tuple[str, int]) -> None:
        if check_frame(data) != len(data):
            return  # incomplete or malformed: a datagram is all there is
        self.server._spawn(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: Tuple[str, int]) -> None:
        try:
            response = await self.server.answer_frame(data, f"{addr[0]}:{addr[1]}")
        except SrpcError:
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(response, addr)


def run_server(methods: MethodTable, options: Optional[ServerOptions] = None, on_started: Optional[Callable[[Server], None]] = None) -> None:
    """Runs a server until SIGTERM/SIGINT, then drains gracefully (a process entry point)."""

    async def main() -> None:
        server = Server(methods, options)
        await server.start()
        server.install_signal_handlers()
        if on_started is not None:
            on_started(server)
        await server.serve_until_stopped()

    asyncio.run(main())

