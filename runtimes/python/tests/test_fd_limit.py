"""Under a low descriptor limit the server caps max_connections, sheds what it cannot hold, logs
briefly and keeps serving (before: one traceback per failed accept, 115 MB of stderr in 5 s)."""
import json
import select
import socket
import time

from conftest import read_http
from hostile import ServerProcess, connect, frame, read_frames

NOFILE = 256


def _open(port: int, n: int):
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]


def _closed_by_server(socks, wait_s: float = 3.0) -> int:
    """How many of ``socks`` the server closes within ``wait_s`` (all watched at once)."""
    deadline = time.monotonic() + wait_s
    open_socks = list(socks)
    closed = 0
    while open_socks and time.monotonic() < deadline:
        readable, _, _ = select.select(open_socks, [], [], max(deadline - time.monotonic(), 0))
        for s in readable:
            try:
                data = s.recv(1024)
            except OSError:
                data = b""
            if not data:
                closed += 1
                open_socks.remove(s)
    return closed


def test_the_server_respects_rlimit_nofile_and_keeps_serving():
    server = ServerProcess(nofile=NOFILE)
    try:
        log = [json.loads(line) for line in server.stderr().decode().splitlines() if line.startswith("{")]
        cap = [line for line in log if "max_connections capped" in line["msg"]]
        assert len(cap) == 1 and (cap[0]["maxConnections"], cap[0]["fdLimit"], cap[0]["effectiveMaxConnections"]) == (10000, NOFILE, NOFILE - 64)

        keeper = connect(server.port)
        keeper.sendall(frame("test.Fds.Hog", b"1000", seq=1))  # a handler takes every free descriptor
        assert [h.err for h in read_frames(keeper, 1)] == [None]
        shed = _open(server.port, 40)
        assert _closed_by_server(shed) == 40  # accepted and closed at once, not left in the backlog
        for s in shed:
            s.close()
        keeper.sendall(frame("test.Fds.Free", b"", seq=2))
        assert [h.err for h in read_frames(keeper, 1)] == [None]

        crowd = _open(server.port, 240)  # beyond the capped max_connections (192, keeper included)
        time.sleep(0.5)
        refused = _closed_by_server(crowd, 3.0)
        assert refused == 240 - (NOFILE - 64 - 1)
        for s in crowd:
            s.close()
        time.sleep(0.3)

        ok = connect(server.port)
        ok.sendall(frame("test.Raw.Echo", b"still here", seq=3))
        assert [(h.sequence, h.err) for h in read_frames(ok, 1)] == [(3, None)]
        ok.close()
        http = connect(server.port)
        http.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        metrics = read_http(http).decode()
        assert f'msec_server_rejected_connections_total{{reason="fd_limit"}} 40' in metrics
        assert f'msec_server_rejected_connections_total{{reason="max_connections"}} {refused}' in metrics
        err = server.stderr()
        print(f"stderr after {refused} refused and 40 shed connections: {len(err)} bytes")
        assert b"Traceback" not in err
        assert len(err) < 4096, err[:2000]
    finally:
        server.stop()
