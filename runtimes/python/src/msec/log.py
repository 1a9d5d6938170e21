"""Leveled logs with request colouring (spec §9.2), as JSON Lines like the TypeScript runtime.

A record is written when its level is at or above the threshold (``[LOG]
Level`` in the config, default ``ERROR``) **or** when one of its fields
matches a colour condition: each ``[COLOR] FieldName<i>`` / ``FieldValue<i>``
pair of the config (MSEC header names ``ReqID``, ``RPCName``, ``Caller``,
``ServiceName``, ``ClientIP``, ``Coloring`` are aliases of our fields), plus
the built-in ``coloring=1`` (a request flagged for logging along its whole
call chain). Every line carries the flow id, method and caller of the
current request::

    {"time":"2026-01-02T03:04:05.678Z","level":"INFO","flowId":"42","method":"a.B.C","caller":"x.y","msg":"…","service":"…"}
"""
import json
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

from .config import get_config, read_config
from .context import current_call, service_name

TRACE, DEBUG, INFO, ERROR, FATAL, NONE = 0, 1, 2, 3, 4, 5
LEVEL_NAMES = ("TRACE", "DEBUG", "INFO", "ERROR", "FATAL", "NONE")
DEFAULT_LEVEL = ERROR
#: Upper bound of ``[COLOR]`` pairs read (the original's limit).
MAX_COLOR_CONDITIONS = 1000
#: Longest message body kept per record (the remote log truncated at 7168 bytes).
MAX_MESSAGE = 7168

Sink = Callable[[str], None]


def parse_level(text: Optional[str]) -> Optional[int]:
    """``"info"`` → ``INFO``; ``None`` for anything that is not a level name."""
    if text is None:
        return None
    name = text.strip().upper()
    return LEVEL_NAMES.index(name) if name in LEVEL_NAMES else None


def _stderr_sink(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class LogSettings:
    """Threshold, colour conditions, process-wide headers and output of the logs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.level: Optional[int] = None  # None: read [LOG] Level from the config on use
        self.colors: Optional[List[Tuple[str, str]]] = None
        self.options: Dict[str, str] = {}
        self.sink: Sink = _stderr_sink
        self.config_file: Optional[str] = None

    def threshold(self) -> int:
        if self.level is not None:
            return self.level
        parsed = parse_level(get_config("LOG", "Level", self.config_file))
        return DEFAULT_LEVEL if parsed is None else parsed

    def color_conditions(self) -> List[Tuple[str, str]]:
        if self.colors is not None:
            return self.colors
        section = read_config(self.config_file).get("COLOR", {})
        conditions = [("coloring", "1")]
        for i in range(MAX_COLOR_CONDITIONS):
            name = section.get(f"FieldName{i}")
            if not name:
                break
            conditions.append((name, section.get(f"FieldValue{i}", "")))
        return conditions


settings = LogSettings()


def configure_log(
    level: Optional[int] = None,
    colors: Optional[List[Tuple[str, str]]] = None,
    sink: Optional[Sink] = None,
    config_file: Optional[str] = None,
) -> None:
    """Overrides what the config says (``level``, ``colors`` as extra pairs) or where lines go."""
    with settings.lock:
        if level is not None:
            settings.level = level
        if colors is not None:
            settings.colors = [("coloring", "1")] + list(colors)
        if sink is not None:
            settings.sink = sink
        if config_file is not None:
            settings.config_file = config_file


def reset_log() -> None:
    """Back to the defaults: threshold and colours from the config, output to stderr."""
    with settings.lock:
        settings.level = None
        settings.colors = None
        settings.options = {}
        settings.sink = _stderr_sink
        settings.config_file = None


def log_set_option(key: object, value: object) -> None:
    """Adds a header to every later record of this process (MSEC ``log_set_option``)."""
    with settings.lock:
        settings.options[str(key)] = str(value)


#: MSEC log header names (as used in ``[COLOR]`` rules) and the record fields they mean.
MSEC_FIELD_ALIASES = {
    "ReqID": "flowId",
    "RPCName": "method",
    "Caller": "caller",
    "ServiceName": "service",
    "ClientIP": "peer",
    "Coloring": "coloring",
}
_FIXED = ("time", "level", "flowId", "method", "caller", "msg")


def record_fields(extra: Optional[Dict[str, object]] = None) -> Dict[str, object]:
    """Fields of a record written now: the current call's, the process options, ``extra``."""
    call = current_call()
    fields: Dict[str, object] = {
        "flowId": str(call.flow_id) if call else "",
        "method": call.method if call else "",
        "caller": call.caller if call else "",
        "service": service_name(),
    }
    if call and call.coloring:
        fields["coloring"] = call.coloring
    if call and call.peer:
        fields["peer"] = call.peer
    fields.update(settings.options)
    if extra:
        fields.update(extra)
    return fields


def _field(fields: Dict[str, object], name: str) -> object:
    if name in fields:
        return fields[name]
    alias = MSEC_FIELD_ALIASES.get(name)
    return fields.get(alias) if alias else None


def should_write(level: int, fields: Dict[str, object]) -> bool:
    """Level at or above the threshold, or a coloured record (``coloring`` = 1 or a ``[COLOR]`` pair)."""
    if level >= settings.threshold():
        return True
    for name, value in settings.color_conditions():
        v = _field(fields, name)
        if v is not None and str(v) == value:
            return True
    return False


def _stamp() -> str:
    """Now as ``2026-01-02T03:04:05.678Z`` (UTC, milliseconds), as JavaScript's ``toISOString``."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def format_line(level: int, fields: Dict[str, object], text: str) -> str:
    """One JSON object per line, keys as the TypeScript runtime writes them:
    ``{"time","level","flowId","method","caller","msg", …other fields}``."""
    record: Dict[str, object] = {
        "time": _stamp(),
        "level": LEVEL_NAMES[level],
        "flowId": fields.get("flowId", ""),
        "method": fields.get("method", ""),
        "caller": fields.get("caller", ""),
        "msg": text[:MAX_MESSAGE],
    }
    for key, value in fields.items():
        if key not in _FIXED:
            record[key] = value
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)


def write_log(level: int, text: str, extra: Optional[Dict[str, object]] = None) -> bool:
    """Writes one record if the threshold or a colour condition lets it through; returns whether it did."""
    fields = record_fields(extra)
    if not should_write(level, fields):
        return False
    settings.sink(format_line(level, fields, str(text)))
    return True


class Logger:
    """Writes records with fixed extra headers (e.g. a component name)."""

    def __init__(self, headers: Optional[Dict[str, object]] = None) -> None:
        self.headers: Dict[str, object] = dict(headers or {})

    def bind(self, **headers: object) -> "Logger":
        merged = dict(self.headers)
        merged.update(headers)
        return Logger(merged)

    def trace(self, text: str) -> None:
        write_log(TRACE, text, self.headers)

    def debug(self, text: str) -> None:
        write_log(DEBUG, text, self.headers)

    def info(self, text: str) -> None:
        write_log(INFO, text, self.headers)

    def error(self, text: str) -> None:
        write_log(ERROR, text, self.headers)

    def fatal(self, text: str) -> None:
        write_log(FATAL, text, self.headers)


def log_error(text: object) -> None:
    write_log(ERROR, str(text))


def log_info(text: object) -> None:
    write_log(INFO, str(text))


def log_debug(text: object) -> None:
    write_log(DEBUG, str(text))


def log_fatal(text: object) -> None:
    write_log(FATAL, str(text))


def log_trace(text: object) -> None:
    write_log(TRACE, str(text))


def format_access(
    method: str,
    caller: str,
    peer: str,
    transport: str,
    fmt: str,
    code: int,
    latency_ms: float,
    bytes_in: int,
    bytes_out: int,
    flow_id: int,
) -> str:
    """One access-log line, with the TypeScript server's fields in its order (docs/metrics.md)::

        {"time":"…","msg":"access","method":"…","caller":"…","peer":"…","transport":"tcp","format":"binary",
         "code":0,"latency_ms":0.184,"bytes_in":42,"bytes_out":40,"flow_id":"7"}
    """
    rounded = round(max(latency_ms, 0.0), 3)
    latency: object = int(rounded) if rounded == int(rounded) else rounded  # JavaScript writes 2, not 2.0
    record: Dict[str, object] = {
        "time": _stamp(),
        "msg": "access",
        "method": method,
        "caller": caller,
        "peer": peer,
        "transport": transport,
        "format": fmt,
        "code": code,
        "latency_ms": latency,
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
        "flow_id": str(flow_id),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def write_access(line: str) -> None:
    """Writes an access line where the logs go, whatever the level: an access log that is on logs every call."""
    settings.sink(line)
