"""The server's own metrics: calls by method, transport and code, their latency, connections, and
refused or cut-short work, all with labels the server chooses.

Exported on ``GET /metrics`` after the monitor's attributes, with the names, labels and meanings
of the TypeScript server (docs/metrics.md): ``msec_server_requests_total{method,transport,code}``,
``msec_server_request_duration_seconds{method,transport}`` (histogram),
``msec_server_in_flight``, ``msec_server_connections``, ``msec_server_connections_accepted_total``,
``msec_server_rejected_connections_total{reason}``, ``msec_server_connections_idle_closed_total``,
``msec_server_timeouts_total{transport}``, ``msec_server_dropped_total{transport,reason}``,
``msec_server_deadline_exceeded_total{method}`` (registered methods only) and
``msec_server_malformed_total{transport}``. Every label value here is chosen by the server, never
by a client (unknown methods count as ``(unknown)``), so the exposition stays small whatever
clients send.
"""
import os
import threading
import time
from typing import Dict, List, Optional, Tuple

#: Label of calls to a method the server does not serve (clients choose those names).
UNKNOWN_METHOD_LABEL = "(unknown)"
#: Buckets of ``msec_server_request_duration_seconds``: 100 µs to 10 s (the TypeScript server's).
DURATION_BUCKETS: Tuple[float, ...] = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
REQUESTS_METRIC = "msec_server_requests_total"
DURATION_METRIC = "msec_server_request_duration_seconds"

#: Counter families with fixed label names, and the series always shown (at 0 too), in exposition order.
_FAMILIES: Tuple[Tuple[str, str, Tuple[str, ...], Tuple[Tuple[str, ...], ...]], ...] = (
    ("msec_server_rejected_connections_total", "TCP connections refused: maxConnections reached (max_connections) or no file descriptor left (fd_limit).", ("reason",), (("max_connections",), ("fd_limit",))),
    ("msec_server_connections_idle_closed_total", "TCP connections closed after idle_timeout_ms.", (), ((),)),
    ("msec_server_timeouts_total", "Connections closed because a frame (tcp) or HTTP request (http) was not complete within request_timeout_ms of its first byte.", ("transport",), (("tcp",), ("http",))),
    ("msec_server_dropped_total", "Requests dropped unanswered, by transport and reason.", ("transport", "reason"), (("udp", "overload"),)),
    ("msec_server_deadline_exceeded_total", "Calls answered -10 because the caller's deadline (timeout_ms, X-Msec-Timeout-Ms) passed, by method.", ("method",), ()),
    ("msec_server_malformed_total", "Malformed frames, datagrams and HTTP requests, by transport.", ("transport",), (("tcp",), ("udp",), ("http",))),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_number(value: float) -> str:
    """A sample value or bucket bound as JavaScript's ``String(n)`` writes it (``1``, not ``1.0``)."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(float(value))


class _Histogram:
    """Observations per bucket (not cumulated; :meth:`ServerStats.prometheus_text` cumulates)."""

    __slots__ = ("counts", "sum", "count")

    def __init__(self) -> None:
        self.counts = [0] * len(DURATION_BUCKETS)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(DURATION_BUCKETS):
            if value <= bound:
                self.counts[i] += 1
                break
        self.sum += value
        self.count += 1


class ServerStats:
    """The server's counters, gauges and latency histograms; thread-safe, fixed label sets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Dict[Tuple[str, Tuple[str, ...]], int] = {}
        self._requests: Dict[Tuple[str, str, int], int] = {}
        self._durations: Dict[Tuple[str, str], _Histogram] = {}
        #: Calls whose handler is running (or waiting for a thread).
        self.in_flight = 0
        #: Open TCP connections.
        self.connections = 0
        #: TCP connections accepted (not refused) since start.
        self.accepted = 0

    def count(self, family: str, *labels: str) -> None:
        key = (family, labels)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def get(self, family: str, *labels: str) -> int:
        with self._lock:
            return self._counts.get((family, labels), 0)

    def request(self, method: str, transport: str, code: int, seconds: float) -> None:
        """A call answered with ``code`` after ``seconds`` (``method``: served name or ``(unknown)``)."""
        with self._lock:
            key = (method, transport, code)
            self._requests[key] = self._requests.get(key, 0) + 1
            histogram = self._durations.get((method, transport))
            if histogram is None:
                histogram = self._durations[(method, transport)] = _Histogram()
            histogram.observe(seconds)

    def requests(self, method: str, transport: str, code: int) -> int:
        with self._lock:
            return self._requests.get((method, transport, code), 0)

    def timeout(self, transport: str) -> None:
        self.count("msec_server_timeouts_total", transport)

    def dropped(self, transport: str, reason: str) -> None:
        self.count("msec_server_dropped_total", transport, reason)

    def rejected(self, reason: str) -> None:
        self.count("msec_server_rejected_connections_total", reason)

    def idle_closed(self) -> None:
        self.count("msec_server_connections_idle_closed_total")

    def malformed(self, transport: str) -> None:
        self.count("msec_server_malformed_total", transport)

    def deadline_exceeded(self, method: str) -> None:
        """A served method's call passed its caller's deadline (method names are the server's own)."""
        self.count("msec_server_deadline_exceeded_total", method)

    def prometheus_text(self) -> str:
        """The server's families in the order and format of the TypeScript server."""
        with self._lock:
            counts = dict(self._counts)
            requests = dict(self._requests)
            durations = {k: (list(h.counts), h.sum, h.count) for k, h in self._durations.items()}
        lines: List[str] = [
            f"# HELP {REQUESTS_METRIC} Requests answered, by method, transport and SRPC code.",
            f"# TYPE {REQUESTS_METRIC} counter",
        ]
        # By method, then transport and code compared as the TS server's "transport code" text keys.
        for (method, transport, code), n in sorted(requests.items(), key=lambda kv: (kv[0][0], f"{kv[0][1]} {kv[0][2]}")):
            lines.append(f'{REQUESTS_METRIC}{{method="{_label(method)}",transport="{transport}",code="{code}"}} {n}')

        def single(name: str, kind: str, help_text: str, value: int) -> None:
            lines.extend((f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"))

        single("msec_server_in_flight", "gauge", "Calls being processed.", self.in_flight)
        single("msec_server_connections", "gauge", "Open TCP connections.", self.connections)
        single("msec_server_connections_accepted_total", "counter", "TCP connections accepted.", self.accepted)
        for family, help_text, names, always in _FAMILIES:
            lines.append(f"# HELP {family} {help_text}")
            lines.append(f"# TYPE {family} counter")
            series = {values: 0 for values in always}
            series.update({values: n for (fam, values), n in counts.items() if fam == family})
            ordered = list(always) + sorted(v for v in series if v not in always)
            for values in ordered:
                labels = ",".join(f'{k}="{_label(v)}"' for k, v in zip(names, values))
                lines.append(f"{family}{{{labels}}} {series[values]}" if labels else f"{family} {series[values]}")
        if durations:
            lines.append(f"# HELP {DURATION_METRIC} Time from a request's first byte to its answer being handed to the socket, by method and transport (every code).")
            lines.append(f"# TYPE {DURATION_METRIC} histogram")
            for (method, transport), (buckets, total, n) in sorted(durations.items()):
                labels = f'method="{_label(method)}",transport="{transport}"'
                cumulative = 0
                for bound, c in zip(DURATION_BUCKETS, buckets):
                    cumulative += c
                    lines.append(f'{DURATION_METRIC}_bucket{{{labels},le="{format_number(bound)}"}} {cumulative}')
                lines.append(f'{DURATION_METRIC}_bucket{{{labels},le="+Inf"}} {n}')
                lines.append(f"{DURATION_METRIC}_sum{{{labels}}} {format_number(total)}")
                lines.append(f"{DURATION_METRIC}_count{{{labels}}} {n}")
        return "\n".join(lines) + "\n"


def _process_start_time() -> Optional[float]:
    """Start of this process in Unix seconds: ``/proc/self/stat`` start ticks after ``btime`` (Linux)."""
    try:
        with open("/proc/self/stat") as f:
            stat = f.read()
        with open("/proc/stat") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        # Fields after the command name (which may hold spaces) start at field 3; starttime is field 22.
        ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration, IndexError):
        return None


_START_TIME = _process_start_time()


def process_metrics_text() -> str:
    """``process_*`` metrics with the Prometheus client names, read now (docs/metrics.md)."""
    lines: List[str] = []

    def metric(name: str, kind: str, help_text: str, value: float) -> None:
        lines.extend((f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {format_number(value)}"))

    metric("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", time.process_time())
    try:
        with open("/proc/self/statm") as f:
            resident_pages = int(f.read().split()[1])
        metric("process_resident_memory_bytes", "gauge", "Resident memory size, in bytes.", resident_pages * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        pass  # not Linux: the family is left out
    try:
        # The directory listing holds the descriptor that reads it.
        metric("process_open_fds", "gauge", "Open file descriptors.", len(os.listdir("/proc/self/fd")) - 1)
    except OSError:
        pass
    try:
        import resource  # Unix only

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY:
            metric("process_max_fds", "gauge", "Most open file descriptors allowed (RLIMIT_NOFILE soft limit).", soft)
    except ImportError:
        pass
    if _START_TIME is not None:
        metric("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.", _START_TIME)
    return "\n".join(lines) + "\n"
