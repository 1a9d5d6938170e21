"""The MSEC JSON envelope and its HTTP response, byte-exact as spec §3.3 / vector V8."""
from decimal import Decimal
from typing import Any, Optional

from .errors import errmsg

_NO_DATA = object()
_HEADERS = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Encoding: UTF-8\r\nContent-Length: {}\r\n\r\n"


_ESCAPES = {0x22: '\\"', 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def json_string(text: str) -> str:
    """A JSON string escaped as jansson (and the TS runtime) do: ``"``, ``\\``, control
    characters (``\\uXXXX`` upper-case); ``/`` and non-ASCII kept as they are."""
    out = ['"']
    for ch in text:
        c = ord(ch)
        if c >= 0x20 and c != 0x22 and c != 0x5C:
            out.append(ch)
        else:
            out.append(_ESCAPES.get(c) or f"\\u{c:04X}")
    out.append('"')
    return "".join(out)


def json_number(x: float) -> str:
    """A float written as JavaScript's ``String(number)`` does (``1`` for 1.0, ``1e+21``, ``1e-7``),
    so Python and TypeScript servers write the same ``resultObj`` bytes."""
    if x != x or x in (float("inf"), float("-inf")):
        return "null"
    if x == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(abs(x))).as_tuple()
    d = "".join(map(str, digits)).rstrip("0")
    exponent += len(digits) - len(d)  # type: ignore[operator]
    k = len(d)
    n = exponent + k  # value = 0.d × 10^n
    minus = "-" if x < 0 else ""
    if k <= n <= 21:
        return minus + d + "0" * (n - k)
    if 0 < n <= 21:
        return minus + d[:n] + "." + d[n:]
    if -6 < n <= 0:
        return minus + "0." + "0" * (-n) + d
    e = n - 1
    mantissa = d if k == 1 else d[0] + "." + d[1:]
    return f"{minus}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def to_json_text(value: Any) -> str:
    """JSON on one line with MSEC's (jansson's) separators ``", "`` and ``": "``, written exactly
    as the TypeScript runtime's ``janssonJson`` writes the same tree."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json_string(str(k))}: {to_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_json_text(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def envelope_body(ret: int, result: Any = _NO_DATA, message: Optional[str] = None) -> str:
    """``{"ret":<n>, "errmsg":"<msg>", "resultObj": <json>}`` or, without data, ``{"ret":<n>, "errmsg":"<msg>" }``.

    ``errmsg`` is ``""`` for 0, else ``message`` (a handler's own error text) or the code's
    text, JSON-escaped (the original inserted it raw).
    """
    msg = json_string("" if ret == 0 else (message or errmsg(ret)))
    if result is _NO_DATA:
        return f'{{"ret":{ret}, "errmsg":{msg} }}'
    return f'{{"ret":{ret}, "errmsg":{msg}, "resultObj": {to_json_text(result)}}}'


def envelope_response(ret: int, result: Any = _NO_DATA, message: Optional[str] = None) -> bytes:
    """The whole HTTP response: status 200 always, MSEC's three headers, the envelope."""
    body = envelope_body(ret, result, message).encode("utf-8")
    return _HEADERS.format(len(body)).encode("ascii") + body
