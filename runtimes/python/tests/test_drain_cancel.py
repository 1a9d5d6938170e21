"""Shutdown answers what it received; a client that leaves takes its calls with it."""
import asyncio
import socket
import threading
import time

from hostile import ServerProcess, closed_within, connect, frame, read_frames, reset
from methods import METHODS


def test_sigterm_answers_the_running_call_and_refuses_the_next_frame_cleanly():
    server = ServerProcess()
    try:
        sock = connect(server.port, timeout=10)
        sock.sendall(frame("test.Slow.Sleep", b"1000", seq=1))
        time.sleep(0.3)
        server.terminate()
        time.sleep(0.3)
        try:
            sock.sendall(frame("test.Slow.Sleep", b"0", seq=2))
        except OSError:
            pass
        heads = read_frames(sock, 2, timeout=10)
        # the running call is answered; the frame sent after SIGTERM is answered or never read
        assert [(h.sequence, h.err) for h in heads][:1] == [(1, None)]
        assert all(h.err is None for h in heads)
        assert closed_within(sock, 5) is not None
        assert server.proc.wait(10) == 0
    finally:
        server.stop()


def test_abandoned_sync_calls_do_not_delay_a_new_call(serve):
    release = threading.Event()
    started = []

    def block(body, ctx):
        started.append(body)
        release.wait(5)
        return b"late"

    s = serve({**METHODS, "test.Slow.Block": block})
    try:
        gone = connect(s.port)
        gone.sendall(b"".join(frame("test.Slow.Block", b"%d" % i, seq=i + 1) for i in range(64)))
        deadline = time.monotonic() + 5
        while len(started) < 32 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(started) == 32  # the pool's 32 threads are all busy
        reset(gone)
        deadline = time.monotonic() + 3
        while s.server._connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not s.server._connections, "a connection whose client left still counts as open"
        fresh = connect(s.port)
        t0 = time.monotonic()
        fresh.sendall(frame("t.S.BlockingSlow", b"100", seq=1))
        heads = read_frames(fresh, 1, timeout=10)
        took = time.monotonic() - t0
        print(f"a 0.1 s call behind 64 abandoned 5 s calls took {took:.2f} s")
        assert [(h.sequence, h.err) for h in heads] == [(1, None)]
        assert took < 2.5, f"a 0.1 s call took {took:.1f} s behind abandoned calls"
        assert len(started) == 32  # the 32 calls still queued when their client left never ran
    finally:
        release.set()


def test_abandoned_async_calls_are_cancelled(serve):
    cancelled = threading.Event()

    async def wait_long(body, ctx):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return b""

    s = serve({**METHODS, "test.Slow.Wait": wait_long})
    gone = connect(s.port)
    gone.sendall(frame("test.Slow.Wait", seq=1))
    time.sleep(0.2)
    reset(gone)
    assert cancelled.wait(3)
    ok = connect(s.port)
    ok.sendall(frame("t.S.Echo", b"hi", seq=7))
    assert [(h.sequence, h.err) for h in read_frames(ok, 1)] == [(7, None)]


def test_a_half_closed_client_still_gets_every_answer(serve):
    s = serve(METHODS)
    sock = connect(s.port)
    sock.sendall(b"".join(frame("t.S.Slow", b"200", seq=i) for i in range(1, 4)))
    sock.shutdown(socket.SHUT_WR)
    assert sorted(h.sequence for h in read_frames(sock, 3)) == [1, 2, 3]
    assert closed_within(sock, 3) is not None
