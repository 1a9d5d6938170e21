"""Shared fixtures: the runtime on sys.path, the wire vectors, servers on free ports."""
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, Optional

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "templates", "python"))
sys.path.insert(0, os.path.join(ROOT, "examples", "echo", "python"))

from msec import MethodTable, Server, ServerOptions  # noqa: E402

VECTORS = os.path.join(ROOT, "fixtures", "vectors")
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
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"echo server did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.port = int(line.split()[2].rsplit(":", 1)[1])

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
