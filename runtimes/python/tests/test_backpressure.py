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
    """Sends ``payload`` from a thread until the server stops taking it (no progress for 1 s) or all
    of it is sent; returns the server's memory growth at that point, and the sender."""
    base = server.rss_bytes()
    sent = [0]

    def send() -> None:
        for i in range(0, len(payload), 65536):
            sock.sendall(payload[i:i + 65536])
            sent[0] = i + 65536

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    last, last_change = -1, time.monotonic()
    deadline = time.monotonic() + 30
    while sender.is_alive() and time.monotonic() - last_change < 1.0 and time.monotonic() < deadline:
        time.sleep(0.05)
        if sent[0] != last:
            last, last_change = sent[0], time.monotonic()
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
