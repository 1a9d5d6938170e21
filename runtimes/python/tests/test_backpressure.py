"""A client that pipelines and never reads must not grow the server (max_pending_output_bytes).

Measured on a real server process: its resident memory while a client that
does not read has sent 32 MiB of requests whose answers are as large.
"""
import socket
import threading
import time

import pytest

from hostile import ServerProcess, connect, frame, http_post, read_frames

REQUESTS = 2000
BODY = b"x" * 16 * 1024
MIB = 1024 * 1024


@pytest.fixture
def server():
    p = ServerProcess()
    yield p
    p.stop()


def _pipeline_without_reading(server: ServerProcess, sock: socket.socket, payload: bytes) -> "tuple[int, threading.Thread]":
    """Sends ``payload`` from a thread; returns the server's memory growth once sending has stalled, and the sender."""
    base = server.rss_bytes()
    sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
    sender.start()
    sender.join(3.0)  # the server reads all of it only if it ignores its unsent answers
    time.sleep(0.5)
    return server.rss_bytes() - base, sender


def test_srpc_answers_wait_for_a_reader_instead_of_piling_up(server):
    sock = connect(server.port, timeout=30)
    payload = b"".join(frame("test.Raw.Echo", BODY, seq=i + 1) for i in range(REQUESTS))
    growth, sender = _pipeline_without_reading(server, sock, payload)
    print(f"SRPC: server grew {growth / MIB:.1f} MiB while {len(payload) / MIB:.0f} MiB were pipelined to it")
    assert sender.is_alive(), "the server read every request although nobody read its answers"
    assert growth <= 16 * MIB, f"server grew {growth / MIB:.1f} MiB"
    heads = read_frames(sock, REQUESTS, timeout=30)  # now read: every answer arrives, none dropped
    sender.join(10)
    assert [h.sequence for h in heads] == list(range(1, REQUESTS + 1))
    assert all(h.err is None for h in heads)
    sock.close()


def test_http_answers_wait_for_a_reader_instead_of_piling_up(server):
    sock = connect(server.port, timeout=30)
    body = b'{"m":"' + BODY + b'"}'
    payload = http_post("test.Raw.Echo", body) * REQUESTS
    growth, sender = _pipeline_without_reading(server, sock, payload)
    print(f"HTTP: server grew {growth / MIB:.1f} MiB while {len(payload) / MIB:.0f} MiB were pipelined to it")
    assert sender.is_alive(), "the server read every request although nobody read its answers"
    assert growth <= 16 * MIB, f"server grew {growth / MIB:.1f} MiB"
    sock.settimeout(30)
    received = bytearray()
    while received.count(b"HTTP/1.1 200 OK") < REQUESTS:
        chunk = sock.recv(1 << 20)
        assert chunk, f"closed after {received.count(b'HTTP/1.1 200 OK')} answers"
        received += chunk
    sender.join(10)
    assert received.count(b"HTTP/1.1 200 OK") == REQUESTS
    sock.close()
