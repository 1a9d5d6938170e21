"""The server's own counters of refused and cut-short work, and the bound on client-chosen labels.

Exported on ``GET /metrics`` after the monitor's attributes, with the names the
TypeScript server uses: ``msec_server_timeouts_total{transport}``,
``msec_server_dropped_total{transport,reason}``,
``msec_server_rejected_connections_total{reason}``,
``msec_server_malformed_total{transport}`` and
``msec_server_deadline_exceeded_total{method}`` (registered methods only). Every label value here is chosen by
the server, never by a client, so the exposition stays small whatever clients send.
"""
import threading
from typing import Dict, List, Set, Tuple

#: Label of calls to a method the server does not serve (clients choose those names).
UNKNOWN_METHOD_LABEL = "(unknown)"
#: Label of callers beyond ``max_caller_labels``.
OTHER_CALLER_LABEL = "(other)"
#: Distinct ``caller`` label values kept by default.
MAX_CALLER_LABELS = 256
#: Longest caller label kept (the monitor keeps 256-character attribute names).
MAX_CALLER_LABEL_LENGTH = 128

_FAMILIES: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("msec_server_timeouts_total", "Connections closed because a frame or HTTP request was not complete within request_timeout_ms.", ("transport",)),
    ("msec_server_dropped_total", "Requests dropped unanswered, by transport and reason.", ("transport", "reason")),
    ("msec_server_rejected_connections_total", "TCP connections closed at once, by the limit that refused them.", ("reason",)),
    ("msec_server_malformed_total", "Malformed frames, datagrams, HTTP requests and unknown first bytes, by transport.", ("transport",)),
    ("msec_server_deadline_exceeded_total", "Calls answered -10 because the caller's deadline (timeout_ms, X-Msec-Timeout-Ms) passed, by method.", ("method",)),
)


class ServerStats:
    """Counters keyed by (family, label values); thread-safe, fixed label sets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Dict[Tuple[str, Tuple[str, ...]], int] = {}

    def count(self, family: str, *labels: str) -> None:
        key = (family, labels)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def get(self, family: str, *labels: str) -> int:
        with self._lock:
            return self._counts.get((family, labels), 0)

    def timeout(self, transport: str) -> None:
        self.count("msec_server_timeouts_total", transport)

    def dropped(self, transport: str, reason: str) -> None:
        self.count("msec_server_dropped_total", transport, reason)

    def rejected(self, reason: str) -> None:
        self.count("msec_server_rejected_connections_total", reason)

    def malformed(self, transport: str) -> None:
        self.count("msec_server_malformed_total", transport)

    def deadline_exceeded(self, method: str) -> None:
        """A served method's call passed its caller's deadline (method names are the server's own)."""
        self.count("msec_server_deadline_exceeded_total", method)

    def prometheus_text(self) -> str:
        with self._lock:
            counts = dict(self._counts)
        lines: List[str] = []
        for family, help_text, names in _FAMILIES:
            lines.append(f"# HELP {family} {help_text}")
            lines.append(f"# TYPE {family} counter")
            for (fam, values), n in sorted(counts.items()):
                if fam == family:
                    labels = ",".join(f'{k}="{v}"' for k, v in zip(names, values))
                    lines.append(f"{family}{{{labels}}} {n}")
        return "\n".join(lines) + "\n"


class CallerLabels:
    """The first ``limit`` distinct callers keep their name as a label; later ones become ``(other)``."""

    def __init__(self, limit: int = MAX_CALLER_LABELS) -> None:
        self.limit = limit
        self._known: Set[str] = set()
        self._lock = threading.Lock()

    def label(self, caller: str) -> str:
        caller = caller[:MAX_CALLER_LABEL_LENGTH]
        if caller in self._known:
            return caller
        with self._lock:
            if len(self._known) < self.limit:
                self._known.add(caller)
                return caller
        return OTHER_CALLER_LABEL
