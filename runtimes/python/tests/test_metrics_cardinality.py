"""Client-chosen names never become metric labels: unknown methods count under ``(unknown)``,
and callers are no label at all (as in the TypeScript server; docs/metrics.md)."""
import json
import tracemalloc

from conftest import read_http
from hostile import connect, frame, http_post, read_frames
from methods import METHODS
from msec import default_monitor

NAMES = 20000


def test_20000_unknown_methods_and_callers_keep_metrics_small(serve):
    default_monitor.clear()
    s = serve(METHODS)
    sock = connect(s.port, timeout=30)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        batch = 1000
        for start in range(0, NAMES, batch):
            sock.sendall(b"".join(frame(f"pkg.Svc.Unknown{i}", b"", seq=i + 1, caller=f"caller.{i}") for i in range(start, start + batch)))
            heads = read_frames(sock, batch, timeout=30)
            assert [h.err for h in heads] == [-6] * batch
        http = connect(s.port)
        for i in range(200):
            http.sendall(http_post(f"pkg.Svc.Http{i}", b"{}", extra=f"caller: http.{i}\r\n"))
            assert json.loads(read_http(http).partition(b"\r\n\r\n")[2])["ret"] == -6
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    http.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    metrics = read_http(http).partition(b"\r\n\r\n")[2].decode()
    print(f"/metrics after {NAMES + 200} unknown names: {len(metrics)} bytes; {grown} bytes still allocated")
    assert len(metrics) <= 1024 * 1024
    assert s.server.stats.requests("(unknown)", "tcp", -6) == NAMES
    assert s.server.stats.requests("(unknown)", "http", -6) == 200
    assert f'msec_server_requests_total{{method="(unknown)",transport="tcp",code="-6"}} {NAMES}\n' in metrics
    assert f'msec_server_request_duration_seconds_count{{method="(unknown)",transport="tcp"}} {NAMES}\n' in metrics
    assert default_monitor.counters() == {}, "the server adds no MSEC attributes of its own"
    assert grown < 8 * 1024 * 1024, f"{grown} bytes still held"
    assert "Unknown" not in metrics and "caller." not in metrics and "http." not in metrics
