"""Shared fixtures: the runtime on sys.path, the wire vectors, servers on free ports."""
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import struct
import time
import weakref
from typing import Any, Dict, Iterator, Optional

import pytest

#: This runtime project (runtimes/python) and its import root.
PROJECT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SRC = os.path.join(PROJECT, "src")
#: The msec-gen checkout this project lives in (the cross-language tests use its TS runtime and echo example).
ROOT = os.path.abspath(os.path.join(PROJECT, "..", ".."))
sys.path.insert(0, SRC)
sys.path.insert(0, os.path.join(ROOT, "examples", "echo", "python"))

from msec import MethodTable, Server, ServerOptions  # noqa: E402

#: The one copy of the wire vectors, shared by every runtime.
VECTORS = os.path.join(PROJECT, "..", "..", "fixtures", "vectors")
ECHO_SERVER = os.path.join(ROOT, "examples", "echo", "python", "echo_server.py")


def vector(name: str) -> Dict[str, Any]:
    with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
        return json.load(f)


class ServerThread:
    """A runtime server on its own event loop in a background thread, on a free port."""

    def __init__(self, methods: MethodTable, **options: Any) -> None:
        options.setdefault("host", "127.0.0.1")
        options.setdefault("port", 0)
        self.server = Server(methods, ServerOptions(**options))
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("server did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.start())
        self._ready.set()
        self.loop.run_until_complete(self.server.serve_until_stopped())
        self.loop.close()

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, drain_timeout_s: float = 2.0) -> None:
        if self._thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self.server.shutdown(drain_timeout_s), self.loop)
            fut.result(15)
            self._thread.join(15)


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(methods, **options)`` starts a server; all are stopped after the test."""
    started = []

    def start(methods: MethodTable, **options: Any) -> ServerThread:
        s = ServerThread(methods, **options)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EchoProcess:
    """The Python echo server example as a real subprocess."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, ECHO_SERVER, "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith('{"time":') or '"msg":"listening on ' not in line:  # the startup JSON log line
            self.proc.kill()
            raise RuntimeError(f"echo server did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.port = int(json.loads(line)["port"])

    def stop(self) -> Optional[int]:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.proc.returncode


@pytest.fixture
def echo_process() -> Iterator[EchoProcess]:
    p = EchoProcess()
    yield p
    p.stop()


def recv_exactly(sock: socket.socket, n: int, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"connection not closed; got {data!r}")


class RawServer:
    """A plain TCP listener that runs ``behaviour(conn)`` per connection in a thread (scripted peers)."""

    def __init__(self, behaviour: Any) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.behaviour = behaviour
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.behaviour(conn)
        except (OSError, ConnectionError):
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # a makefile() reader would otherwise keep it open
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self._stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.sock.close()
        self._thread.join(5)


@pytest.fixture
def raw_server() -> Iterator[Any]:
    made = []

    def make(behaviour: Any) -> RawServer:
        s = RawServer(behaviour)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


_readers: "weakref.WeakKeyDictionary[socket.socket, Any]" = weakref.WeakKeyDictionary()


def reader_of(sock: socket.socket) -> Any:
    """A buffered reader per socket, so bytes of a following response are not lost."""
    r = _readers.get(sock)
    if r is None:
        r = sock.makefile("rb")
        _readers[sock] = r
    return r


def read_frame(conn: socket.socket) -> bytes:
    """Reads one SRPC frame from a blocking socket."""
    r = reader_of(conn)
    fixed = r.read(9)
    if len(fixed) < 9:
        raise ConnectionError(f"closed after {fixed!r}")
    head_len, body_len = struct.unpack(">ii", fixed[1:9])
    rest = r.read(head_len + body_len + 1)
    return fixed + rest


def read_http(sock: socket.socket) -> bytes:
    """Reads one HTTP response (with Content-Length) from a blocking socket."""
    r = reader_of(sock)
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = r.readline()
        if not line:
            return head
        head += line
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
    return head + r.read(length)


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    """Each test starts without a service name set by an earlier test's server."""
    from msec import set_service_name

    set_service_name(None)
    yield
    set_service_name(None)
