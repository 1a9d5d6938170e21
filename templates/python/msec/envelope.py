"""The MSEC JSON envelope and its HTTP response, byte-exact as spec §3.3 / vector V8."""
import json
from typing import Any

from .errors import errmsg

_NO_DATA = object()
_HEADERS = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Encoding: UTF-8\r\nContent-Length: {}\r\n\r\n"


def to_json_text(value: Any) -> str:
    """JSON with MSEC's separators (``", "`` and ``": "``), non-ASCII kept as UTF-8."""
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False, allow_nan=False)


def envelope_body(ret: int, result: Any = _NO_DATA) -> str:
    """``{"ret":<n>, "errmsg":"<msg>", "resultObj": <json>}`` or, without data, ``{"ret":<n>, "errmsg":"<msg>" }``.

    ``errmsg`` is ``""`` for 0, else the code's text, JSON-escaped (the
    original inserted it raw).
    """
    msg = json.dumps("" if ret == 0 else errmsg(ret), ensure_ascii=False)
    if result is _NO_DATA:
        return f'{{"ret":{ret}, "errmsg":{msg} }}'
    return f'{{"ret":{ret}, "errmsg":{msg}, "resultObj": {to_json_text(result)}}}'


def envelope_response(ret: int, result: Any = _NO_DATA) -> bytes:
    """The whole HTTP response: status 200 always, MSEC's three headers, the envelope."""
    body = envelope_body(ret, result).encode("utf-8")
    return _HEADERS.format(len(body)).encode("ascii") + body
