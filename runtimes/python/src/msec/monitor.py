"""Counters and gauges with MSEC's monitor API, exported as Prometheus text (spec §9.1).

``attr_report`` accumulates and ``attr_set`` sets a business attribute
(``usr.<attr>``); ``monitor_add`` / ``monitor_set`` do the same for framework
attributes (``frm.rpc <attr>``). Attribute names are free text (spaces,
brackets), so they are exported as the ``name`` label of two fixed metric
families, as the TypeScript runtime does: ``msec_attr_total{name="usr.x"}``
(counter) and ``msec_attr_gauge{name="usr.x"}`` (gauge).
"""
import threading
from typing import Dict, List, Tuple

#: Longest attribute name kept (the original composed names in 256 bytes).
MAX_ATTR_NAME = 256
COUNTER_METRIC = "msec_attr_total"
GAUGE_METRIC = "msec_attr_gauge"


class Monitor:
    """A set of accumulated (counter) and instant (gauge) attributes; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: Dict[str, int] = {}
        self._gauges: Dict[str, int] = {}

    def add(self, name: str, value: int = 1) -> None:
        name = name[:MAX_ATTR_NAME]
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + value

    def set(self, name: str, value: int) -> None:
        name = name[:MAX_ATTR_NAME]
        with self._lock:
            self._gauges[name] = value

    def counters(self) -> Dict[str, int]:
        with self._lock:
            return dict(self._counters)

    def gauges(self) -> Dict[str, int]:
        with self._lock:
            return dict(self._gauges)

    def clear(self) -> None:
        with self._lock:
            self._counters.clear()
            self._gauges.clear()

    def prometheus_text(self) -> str:
        """Prometheus text exposition format 0.0.4, attributes sorted by name."""
        lines: List[str] = []
        families: Tuple[Tuple[str, str, str, Dict[str, int]], ...] = (
            (COUNTER_METRIC, "counter", "MSEC attributes accumulated with attr_report/monitor_add, by attribute name.", self.counters()),
            (GAUGE_METRIC, "gauge", "MSEC attributes set with attr_set/monitor_set, by attribute name.", self.gauges()),
        )
        for metric, kind, help_text, values in families:
            if not values:
                continue  # as the TypeScript registry: a family appears with its first series
            lines.append(f"# HELP {metric} {help_text}")
            lines.append(f"# TYPE {metric} {kind}")
            for name in sorted(values):
                lines.append(f'{metric}{{name="{_label(name)}"}} {values[name]}')
        return "".join(line + "\n" for line in lines)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


#: The process-wide monitor that the MSEC functions and ``/metrics`` use.
default_monitor = Monitor()


def attr_report(attr: str, value: int = 1) -> None:
    """Accumulates ``usr.<attr>``."""
    default_monitor.add(f"usr.{attr}", value)


def attr_set(attr: str, value: int = 1) -> None:
    """Sets ``usr.<attr>`` to an instant value."""
    default_monitor.set(f"usr.{attr}", value)


def monitor_add(attr: str, value: int = 1) -> None:
    """Accumulates the framework attribute ``frm.rpc <attr>``."""
    default_monitor.add(f"frm.rpc {attr}", value)


def monitor_set(attr: str, value: int = 1) -> None:
    """Sets the framework attribute ``frm.rpc <attr>``."""
    default_monitor.set(f"frm.rpc {attr}", value)
