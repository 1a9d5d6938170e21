"""A small incremental HTTP/1.1 request parser for the shared SRPC/HTTP port.

Only what the server needs: request line, headers, ``Content-Length`` or
chunked bodies (chunks concatenated; trailers ignored), keep-alive.
"""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

#: Largest request line + headers accepted.
MAX_HEADER_BYTES = 64 * 1024


class HttpError(Exception):
    """The request cannot be parsed; answer ``status`` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass
class HttpRequest:
    method: str
    target: str
    version: str
    headers: Dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


def _parse_head(head: bytes) -> Tuple[str, str, str, Dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
        raise HttpError(400, "Bad Request") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "Bad Request")
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HttpError(400, "Bad Request")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return parts[0], parts[1], parts[2], headers


def _parse_chunked(buf: bytes, start: int, max_body: int) -> Optional[Tuple[bytes, int]]:
    """(body, end offset) when the chunked body starting at ``start`` is complete, else ``None``."""
    body = bytearray()
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            if len(buf) - pos > 1024:
                raise HttpError(400, "Bad Request")
            return None
        size_text = buf[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError(400, "Bad Request") from None
        if size < 0:
            raise HttpError(400, "Bad Request")
        pos = eol + 2
        if size == 0:
            while True:  # trailers until an empty line
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return bytes(body), eol + 2
                pos = eol + 2
        if len(body) + size > max_body:
            raise HttpError(413, "Payload Too Large")
        if len(buf) < pos + size + 2:
            return None
        if buf[pos + size:pos + size + 2] != b"\r\n":
            raise HttpError(400, "Bad Request")
        body += buf[pos:pos + size]
        pos += size + 2


def parse_request(buf: bytes, max_body: int, max_header: int = MAX_HEADER_BYTES) -> Optional[Tuple[HttpRequest, int]]:
    """Parses one request at the start of ``buf``: (request, bytes consumed), or ``None`` if incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > max_header:
            raise HttpError(431, "Request Header Fields Too Large")
        return None
    if end > max_header:
        raise HttpError(431, "Request Header Fields Too Large")
    method, target, version, headers = _parse_head(buf[:end])
    start = end + 4
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parsed = _parse_chunked(buf, start, max_body)
        if parsed is None:
            return None
        body, consumed = parsed
        return HttpRequest(method, target, version, headers, body), consumed
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit():
        raise HttpError(400, "Bad Request")
    length = int(length_text)
    if length > max_body:
        raise HttpError(413, "Payload Too Large")
    if len(buf) < start + length:
        return None
    return HttpRequest(method, target, version, headers, bytes(buf[start:start + length])), start + length


def plain_response(status: int, reason: str, content_type: str, body: bytes, extra_headers: str = "") -> bytes:
    """A non-envelope response (health, metrics, 404/405/400), laid out as the TypeScript server does."""
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra_headers}Content-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body
