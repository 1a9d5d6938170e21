"""Client-chosen names never become unbounded metric labels: unknown methods count under
``(unknown)``, callers beyond ``max_caller_labels`` under ``(other)``."""
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
    counters = default_monitor.counters()
    callers = [k for k in counters if k.startswith("frm.rpc caller [")]
    assert len(callers) == 257  # 256 kept names + (other)
    assert counters["frm.rpc caller [(other)]"] == NAMES + 200 - 256
    assert counters["frm.rpc request [(unknown)] fail:invalid method name"] == NAMES + 200
    assert not any("Unknown1" in k or "Http1" in k for k in counters)
    assert grown < 8 * 1024 * 1024, f"{grown} bytes still held"
    assert 'frm.rpc caller [(other)]' in metrics and "Unknown" not in metrics


def test_max_caller_labels_is_an_option(serve):
    default_monitor.clear()
    s = serve(METHODS, max_caller_labels=2)
    sock = connect(s.port)
    sock.sendall(b"".join(frame("t.S.Echo", b"", seq=i, caller=f"c{i % 4}") for i in range(1, 9)))
    assert len(read_frames(sock, 8)) == 8
    counters = default_monitor.counters()
    assert {k: v for k, v in counters.items() if k.startswith("frm.rpc caller")} == {
        "frm.rpc caller [c1]": 2,
        "frm.rpc caller [c2]": 2,
        "frm.rpc caller [(other)]": 4,
    }
