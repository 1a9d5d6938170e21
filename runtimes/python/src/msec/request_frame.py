"""Request frames of the clients, encoded from a cached per-method head template.

A client request head always has the same fields (spec §1.6): ``sequence``, ``coloring``,
``color_id``, ``flow_id``, ``caller``, ``method_name`` and, unless ``send_timeout`` is off,
``timeout_ms``. For one (method, caller, coloring) only the sequence, the flow id and the
timeout change between calls, so the other fields are encoded once and kept; a call joins
the template's constant parts with its three varints. The bytes are those of
``encode_frame(encode_head(head), body)`` for the same head (the tests compare both), as the
TypeScript runtime's ``encodeRequestFrame`` does (runtimes/ts/src/client/request-frame.ts).
"""
import struct
import threading
from typing import Dict, Optional, Tuple

from .color import color_id
from .frame import _varint

_LENGTHS = struct.Struct(">ii")
#: Templates kept; beyond this many (method, caller, coloring) keys the cache starts again.
MAX_TEMPLATES = 4096


class HeadTemplate:
    """The constant parts of a request head for one (method, caller, coloring)."""

    __slots__ = ("color_id", "middle", "tail")

    def __init__(self, method: str, caller: str, coloring: int) -> None:
        #: MSEC's djb2 of the method name (spec §1.6).
        self.color_id = color_id(method)
        #: Fields 20 and 21 (between ``sequence`` and ``flow_id``).
        self.middle = b"\xa0\x01" + _varint(coloring & 0xFFFFFFFF) + b"\xa8\x01" + _varint(self.color_id)
        method_bytes = method.encode("utf-8")
        caller_bytes = caller.encode("utf-8")
        #: Fields 50 and 51 (between ``flow_id`` and ``timeout_ms``).
        self.tail = b"\x92\x03" + _varint(len(caller_bytes)) + caller_bytes + b"\x9a\x03" + _varint(len(method_bytes)) + method_bytes

    def frame(self, sequence: int, flow_id: int, timeout_ms: Optional[int], body: bytes) -> bytes:
        """The whole SRPC frame of one request (``timeout_ms`` ``None``: field 70 left out)."""
        head = b"".join((
            b"\x50", _varint(sequence), self.middle, b"\xf0\x01", _varint(flow_id), self.tail,
            b"" if timeout_ms is None else b"\xb0\x04" + _varint(timeout_ms & 0xFFFFFFFF),
        ))
        return b"".join((b"\x28", _LENGTHS.pack(len(head), len(body)), head, body, b"\x29"))


_templates: Dict[Tuple[str, str, int], HeadTemplate] = {}
_templates_lock = threading.Lock()


def head_template(method: str, caller: str, coloring: int) -> HeadTemplate:
    """The cached template of (method, caller, coloring)."""
    key = (method, caller, coloring)
    found = _templates.get(key)
    if found is not None:
        return found
    made = HeadTemplate(method, caller, coloring)
    with _templates_lock:
        if len(_templates) >= MAX_TEMPLATES:
            _templates.clear()
        _templates[key] = made
    return made


class RequestFrame:
    """A request being sent: :meth:`__call__` gives its frame for the budget left (seconds) when
    it is written — ``timeout_ms`` = that budget in ms, at least 1 — or, with ``send_timeout``
    off, always the same frame without field 70."""

    __slots__ = ("template", "sequence", "flow_id", "body", "send_timeout")

    def __init__(self, template: HeadTemplate, sequence: int, flow_id: int, body: bytes, send_timeout: bool) -> None:
        self.template = template
        self.sequence = sequence
        self.flow_id = flow_id
        self.body = body
        self.send_timeout = send_timeout

    def __call__(self, left_s: float) -> bytes:
        timeout_ms = max(1, int(left_s * 1000.0)) if self.send_timeout else None
        return self.template.frame(self.sequence, self.flow_id, timeout_ms, self.body)
