"""A handler bug answers -18 and is logged; it never ends the server nor leaves its client waiting."""
import asyncio
import json
import sys

import pytest

from conftest import read_http
from hostile import ServerProcess, connect, frame, http_post, read_frames
from methods import METHODS
from msec import configure_log, reset_log


def sync_exit(body, ctx):
    sys.exit(3)


def sync_interrupt(body, ctx):
    raise KeyboardInterrupt


async def async_exit(body, ctx):
    raise SystemExit(4)


async def async_interrupt(body, ctx):
    raise KeyboardInterrupt


async def async_cancelled(body, ctx):
    raise asyncio.CancelledError


def sync_cancelled(body, ctx):
    raise asyncio.CancelledError


async def async_cancels_itself(body, ctx):
    task = asyncio.current_task()
    assert task is not None
    task.cancel()
    await asyncio.sleep(1)


CRASHERS = {
    "test.Crash.SyncExit": sync_exit,
    "test.Crash.SyncInterrupt": sync_interrupt,
    "test.Crash.AsyncExit": async_exit,
    "test.Crash.AsyncInterrupt": async_interrupt,
    "test.Crash.AsyncCancelled": async_cancelled,
    "test.Crash.SyncCancelled": sync_cancelled,
    "test.Crash.CancelsItself": async_cancels_itself,
}


@pytest.fixture
def logged():
    lines = []
    configure_log(sink=lines.append)
    yield lines
    reset_log()


@pytest.mark.parametrize("method", sorted(CRASHERS))
def test_the_handler_crash_answers_minus_18_and_the_server_keeps_serving(serve, logged, method):
    s = serve({**METHODS, **CRASHERS})
    sock = connect(s.port)
    sock.sendall(frame(method, b"x", seq=1))
    heads = read_frames(sock, 1, timeout=5)
    assert [(h.sequence, h.err) for h in heads] == [(1, -18)]
    assert any(json.loads(line)["msg"].startswith(f"handler {method} failed") for line in logged)
    # the same connection and a new one are still served
    sock.sendall(frame("t.S.Echo", b"after", seq=2))
    assert [(h.sequence, h.err) for h in read_frames(sock, 1)] == [(2, None)]
    other = connect(s.port)
    other.sendall(http_post(method, b"{}"))
    assert json.loads(read_http(other).partition(b"\r\n\r\n")[2])["ret"] == -18
    other.sendall(http_post("t.S.Echo", b'{"a":1}'))
    assert json.loads(read_http(other).partition(b"\r\n\r\n")[2]) == {"ret": 0, "errmsg": "", "resultObj": {"a": 1}}


def test_other_clients_calls_are_not_lost_when_a_handler_exits(serve, logged):
    s = serve({**METHODS, **CRASHERS})
    calm = connect(s.port)
    calm.sendall(b"".join(frame("t.S.Slow", b"300", seq=i) for i in range(1, 6)))
    crash = connect(s.port)
    crash.sendall(b"".join(frame(m, b"", seq=i) for i, m in enumerate(sorted(CRASHERS), 1)))
    assert sorted(h.err for h in read_frames(crash, len(CRASHERS))) == [-18] * len(CRASHERS)
    assert sorted((h.sequence, h.err) for h in read_frames(calm, 5)) == [(i, None) for i in range(1, 6)]


def test_a_task_started_by_a_handler_that_raises_system_exit_does_not_end_the_process():
    server = ServerProcess()
    try:
        sock = connect(server.port)
        sock.sendall(frame("test.Crash.TaskExit", seq=1))
        assert [(h.sequence, h.err) for h in read_frames(sock, 1)] == [(1, None)]
        sock.sendall(frame("test.Raw.Echo", b"still", seq=2))
        assert [(h.sequence, h.err) for h in read_frames(sock, 1)] == [(2, None)]
        assert server.proc.poll() is None
        assert b"a task started by a handler raised SystemExit" in server.stderr()
        server.terminate()
        assert server.proc.wait(10) == 0
    finally:
        server.stop()
