"""``[SRPC] workers=N`` against real processes and sockets (tests/workers_server.py started by
``start_server``): the metrics sum, config errors, calls spread over both workers on TCP (SRPC and
HTTP) and UDP, ``/metrics`` summed exactly, a SIGKILLed worker replaced while the others serve,
SIGTERM draining a slow call while new connections are refused, and one etcd registration."""
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from conftest import read_frame, vector
from msec import ConfigError, decode_frame, encode_frame, encode_head, request_head, server_options_from_config
from msec.workers import aggregate_metrics, parse_workers

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workers_server.py")


class Running:
    """A workers_server main process; its stdout lines are gathered by a thread."""

    def __init__(self, config: str, argv: Optional[List[str]] = None, **popen: Any) -> None:
        self.proc = subprocess.Popen(
            argv or [sys.executable, SERVER, config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
        )
        self.lines: List[str] = []
        self.errors: List[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.errors), daemon=True).start()
        self.port = 0

    def _pump(self, stream: Any, into: List[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def count(self, pattern: str) -> int:
        return sum(1 for line in self.lines + self.errors if re.search(pattern, line))

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 60.0) -> str:
        """The first output line matching ``pattern`` once ``count`` lines match (stdout and stderr)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.count(pattern) < count:
                if self.proc.poll() is not None and self.count(pattern) < count:
                    self._changed.wait(0.5)  # the pumps may still hold the last lines
                    if self.count(pattern) < count:
                        raise AssertionError(f"server exited ({self.proc.returncode}) before {pattern!r}: {self.errors}")
                left = deadline - time.monotonic()
                assert left > 0, f"no {pattern!r} in {self.lines} {self.errors}"
                self._changed.wait(left)
            return next(line for line in self.lines + self.errors if re.search(pattern, line))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture()
def running() -> Iterator[List[Running]]:
    started: List[Running] = []
    yield started
    for r in started:
        r.stop()


def config_with(tmp_path: Any, lines: str) -> str:
    path = tmp_path / "config.ini"
    path.write_text(f"[SRPC]\nlisten = 127.0.0.1:0/tcp 127.0.0.1:0/udp\n{lines}\n[LOG]\nLevel = INFO\n")
    return str(path)


def start(started: List[Running], config: str, argv: Optional[List[str]] = None, **popen: Any) -> Running:
    r = Running(config, argv, **popen)
    started.append(r)
    line = r.wait_for(r'"msg":"listening on ')  # the JSON startup line
    r.port = int(re.search(r":(\d+) \(", line).group(1))  # type: ignore[union-attr]
    return r


def http_request(port: int, method: str, path: str, body: Optional[str] = None) -> Tuple[int, str]:
    """One request on a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body)
        res = conn.getresponse()
        return res.status, res.read().decode()
    finally:
        conn.close()


def pid_call(port: int, conn: Optional[http.client.HTTPConnection] = None) -> int:
    """``test.Workers.Pid`` over HTTP/JSON, on a new connection unless ``conn`` is given."""
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", "/?methodName=test.Workers.Pid", body="{}")
        envelope = json.loads(c.getresponse().read())
        assert envelope["ret"] == 0, envelope
        return int(envelope["resultObj"]["pid"])
    finally:
        if own:
            c.close()


def both_workers(port: int) -> List[int]:
    """Pids answering calls on new connections: at least 40 calls, until two pids were seen (at most 400)."""
    pids: List[int] = []
    while len(pids) < 400 and (len(pids) < 40 or len(set(pids)) < 2):
        pids.append(pid_call(port))
    return pids


def requests_for(metrics: str, method: str) -> float:
    """Calls of ``method`` counted in ``metrics``: every ``…requests_total`` sample labelled
    ``method="…"``, or (the MSEC attribute names) every ``msec_attr_total`` sample named
    ``frm.rpc request [method] …``, whatever the outcome."""
    total = 0.0
    for line in metrics.split("\n"):
        m = re.match(r"^(\w+)\{([^}]*)\} (\S+)$", line)
        if m is None:
            continue
        name, labels, value = m.groups()
        if name.endswith("requests_total") and f'method="{method}"' in labels:
            total += float(value)
        elif name == "msec_attr_total" and f'name="frm.rpc request [{method}] ' in labels:
            total += float(value)
    return total


def gauge(metrics: str, name: str) -> Optional[float]:
    m = re.search(rf"^{name} (\S+)$", metrics, re.M)
    return float(m.group(1)) if m else None


def connect_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def udp_call(port: int, data: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(data, ("127.0.0.1", port))
        assert select.select([s], [], [], 5)[0], "no UDP answer"
        return s.recv(65536)


def test_aggregate_metrics_sums_series_and_keeps_families_whole() -> None:
    a = "\n".join([
        "# HELP calls_total Calls.", "# TYPE calls_total counter", 'calls_total{method="a b",code="0"} 3',
        "# HELP open Open.", "# TYPE open gauge", "open 2",
        "# TYPE lat histogram", 'lat_bucket{le="0.1"} 1', 'lat_bucket{le="+Inf"} 2', "lat_sum 0.25", "lat_count 2", "",
    ])
    b = "\n".join([
        "# HELP calls_total Calls.", "# TYPE calls_total counter", 'calls_total{method="a b",code="0"} 4',
        'calls_total{method="a b",code="-6"} 1',
        "# HELP open Open.", "# TYPE open gauge", "open 5",
        "# TYPE lat histogram", 'lat_bucket{le="0.1"} 0', 'lat_bucket{le="+Inf"} 1', "lat_sum 0.5", "lat_count 1", "",
    ])
    assert aggregate_metrics([a, b]) == "\n".join([
        "# HELP calls_total Calls.", "# TYPE calls_total counter", 'calls_total{method="a b",code="0"} 7',
        'calls_total{method="a b",code="-6"} 1',
        "# HELP open Open.", "# TYPE open gauge", "open 7",
        "# TYPE lat histogram", 'lat_bucket{le="0.1"} 1', 'lat_bucket{le="+Inf"} 3', "lat_sum 0.75", "lat_count 3", "",
    ])
    assert aggregate_metrics([]) == ""


def test_per_process_gauges_are_not_summed() -> None:
    def worker(start: int, max_fds: int, rss: int) -> str:
        return "\n".join([
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {start}",
            "# TYPE process_max_fds gauge",
            f"process_max_fds {max_fds}",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {rss}",
        ])

    assert aggregate_metrics([worker(1700000100, 1024, 100), worker(1700000050, 4096, 250)]) == "\n".join([
        "# TYPE process_start_time_seconds gauge",
        "process_start_time_seconds 1700000050",
        "# TYPE process_max_fds gauge",
        "process_max_fds 4096",
        "# TYPE process_resident_memory_bytes gauge",
        "process_resident_memory_bytes 350",
        "",
    ])


def test_parse_workers() -> None:
    assert parse_workers(None) == 1
    assert parse_workers("auto") == len(os.sched_getaffinity(0))
    assert parse_workers("3") == 3
    for bad in ("0", "x", "-1", "1.5", "100000"):
        with pytest.raises(ValueError, match=rf'^\[SRPC\] workers: want a whole number from 1 to 256 or "auto", got "{re.escape(bad)}"$'):
            parse_workers(bad)


def test_config_errors_name_the_key(tmp_path: Any) -> None:
    path = tmp_path / "config.ini"
    path.write_text("[SRPC]\nworkers = 0\n")
    with pytest.raises(ConfigError, match=r'\[SRPC\] workers: .* got "0"'):
        server_options_from_config(str(path))
    path.write_text("[SRPC]\nworkers = auto\n")
    assert server_options_from_config(str(path)).workers == len(os.sched_getaffinity(0))
    proc = subprocess.run([sys.executable, SERVER, config_with(tmp_path, "workers = x")], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert '[SRPC] workers: want a whole number from 1 to 256 or "auto", got "x"' in proc.stderr


def test_two_workers_serve_sum_restart_and_drain(tmp_path: Any, running: List[Running]) -> None:
    r = start(running, config_with(tmp_path, "workers = 2"))
    assert http_request(r.port, "GET", "/health") == (200, "ok\n")
    before = http_request(r.port, "GET", "/metrics")[1]
    assert gauge(before, "msec_workers") == 2
    assert requests_for(before, "test.Workers.Pid") == 0

    # Calls on many connections: both workers serve (the kernel picks the acceptor), never the main process.
    pids = both_workers(r.port)
    workers = set(pids)
    assert len(workers) == 2, f"pids seen: {workers}"
    assert r.proc.pid not in workers

    # SRPC over TCP and UDP on the same port.
    v1 = bytes.fromhex(vector("v1-python-client-request.json")["frame_hex"])
    srpc_calls = 4
    for i in range(srpc_calls):
        with socket.create_connection(("127.0.0.1", r.port), timeout=10) as c:
            c.sendall(encode_frame(encode_head(request_head("test.Workers.Pid", i + 1))))
            head, body = decode_frame(read_frame(c))
            assert (head.err or 0) == 0
            assert int(body) in workers
    for _ in range(5):
        assert udp_call(r.port, v1) == v1

    # /metrics on any worker is the instance's sum: exactly the calls made.
    for _ in range(4):
        metrics = http_request(r.port, "GET", "/metrics")[1]
        assert requests_for(metrics, "test.Workers.Pid") == len(pids) + srpc_calls
        assert gauge(metrics, "msec_workers") == 2
    status, body = http_request(r.port, "HEAD", "/metrics")
    assert (status, body) == (200, "")

    # SIGKILL one worker while a kept-alive connection to the other goes on calling.
    kept = http.client.HTTPConnection("127.0.0.1", r.port, timeout=30)
    survivor = pid_call(r.port, kept)
    victim = next(p for p in workers if p != survivor)
    os.kill(victim, signal.SIGKILL)
    for _ in range(20):
        assert pid_call(r.port, kept) == survivor
    replacement = None
    for _ in range(5000):
        p = pid_call(r.port)
        assert p != victim
        if p != survivor:
            replacement = p
            break
    assert replacement is not None, "no replacement worker served a call"
    assert r.count("worker process exited; restarting it") == 1
    kept.close()
    assert gauge(http_request(r.port, "GET", "/metrics")[1], "msec_workers") == 2

    # SIGTERM: new connections are refused while the slow call in flight finishes; then exit 0.
    result: Dict[str, Any] = {}

    def slow() -> None:
        result["answer"] = http_request(r.port, "POST", "/?methodName=test.Workers.Slow", json.dumps({"ms": 6000}))

    caller = threading.Thread(target=slow)
    caller.start()
    r.wait_for(r"^slow call started$")
    r.proc.send_signal(signal.SIGTERM)
    r.wait_for("draining workers before exit")
    for i in range(400):
        if connect_refused(r.port):
            break
        time.sleep(0.01)
    else:
        raise AssertionError("new connections were still accepted while draining")
    assert "answer" not in result, "the refusal was seen while the slow call still ran"
    caller.join(30)
    status, text = result["answer"]
    assert status == 200
    assert json.loads(text) == {"ret": 0, "errmsg": "", "resultObj": {"slept": 6000}}
    assert r.proc.wait(30) == 0
    assert connect_refused(r.port)
    for p in (survivor, replacement):
        with pytest.raises(ProcessLookupError):
            os.kill(p, 0)


def test_two_workers_register_once_in_etcd(tmp_path: Any, running: List[Running]) -> None:
    from msec.etcd import EtcdGateway
    from test_etcd import Etcd

    etcd = Etcd()
    try:
        prefix = "/py-workers"
        r = start(
            running,
            config_with(tmp_path, f"workers = 2\n[ROUTE]\netcd = {etcd.url}\netcd_prefix = {prefix}\netcd_ttl = 5\netcd_advertise = 127.0.0.1"),
        )
        r.wait_for('"msg":"registered ')
        key = f"{prefix}/services/test.Workers/127.0.0.1:{r.port}"
        assert sum(1 for line in r.lines if f'"msg":"registered {key} in etcd"' in line) == 1
        assert r.count('"msg":"registered ') == 1
        stored = EtcdGateway([etcd.url]).get_prefix(f"{prefix}/services/test.Workers/")[1]
        assert [k for k, _ in stored] == [key]
        assert len(set(both_workers(r.port))) == 2
        r.proc.send_signal(signal.SIGTERM)
        assert r.proc.wait(30) == 0
        assert EtcdGateway([etcd.url]).get_prefix(f"{prefix}/services/test.Workers/")[1] == []
    finally:
        etcd.stop()


def test_workers_start_from_a_relative_script_path_after_a_chdir(tmp_path: Any, running: List[Running]) -> None:
    """The workers run the same command line; a relative script path still names the script
    after the program changed its working directory (as a generated main.py does)."""
    config = config_with(tmp_path, "workers = 2")
    here = os.path.dirname(SERVER)
    env = dict(os.environ, WORKERS_TEST_CHDIR=str(tmp_path))
    r = start(running, config, [sys.executable, os.path.basename(SERVER), config], cwd=here, env=env)
    assert len(set(both_workers(r.port))) == 2
    r.proc.send_signal(signal.SIGTERM)
    assert r.proc.wait(30) == 0
