"""A small HTTP/1.1 request parser for the shared SRPC/HTTP port, with the TypeScript parser's rules.

Only what the server needs: request line, headers, a body framed by
``Content-Length`` or chunked (chunks concatenated; trailers read and ignored),
keep-alive, ``Expect: 100-continue``. Malformed input raises :class:`HttpError`
with the status to answer before closing (400, 413, 431, 501) and the same
messages as the TypeScript server.
"""
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

#: Largest request line + headers accepted (the TypeScript server's default).
MAX_HEADER_BYTES = 16 * 1024
#: Longest chunk-size line accepted.
MAX_CHUNK_LINE_BYTES = 1024

REASONS = {400: "Bad Request", 413: "Content Too Large", 431: "Request Header Fields Too Large", 501: "Not Implemented"}
_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP/1\.([01])")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_SIZE = re.compile(r"[0-9A-Fa-f]{1,8}")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")


class HttpError(Exception):
    """The request cannot be parsed; answer ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = REASONS.get(status, "Bad Request")
        self.message = message


@dataclass
class HttpRequest:
    method: str
    target: str
    version: str  # "1.0" or "1.1"
    headers: List[Tuple[str, str]]  # lower-case names, in order
    body: bytes
    keep_alive: bool

    def header(self, name: str) -> Optional[str]:
        """The first value of a header (``name`` in lower case)."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


def _parse_head(text: str) -> HttpRequest:
    lines = text.split("\r\n")
    m = _REQUEST_LINE.fullmatch(lines[0])
    if not m:
        raise HttpError(400, "bad request line")
    headers: List[Tuple[str, str]] = []
    for line in lines[1:]:
        colon = line.find(":")
        if colon <= 0:
            raise HttpError(400, "bad header line")
        name = line[:colon]
        if not _TOKEN.fullmatch(name):
            raise HttpError(400, "bad header name")
        headers.append((name.lower(), line[colon + 1:].strip()))
    version = f"1.{m.group(3)}"
    connection = [t.strip() for n, v in headers if n == "connection" for t in v.lower().split(",")]
    keep_alive = "close" not in connection if version == "1.1" else "keep-alive" in connection
    return HttpRequest(m.group(1), m.group(2), version, headers, b"", keep_alive)


def _parse_chunked(buf: bytes, pos: int, max_body: int, max_header: int) -> Optional[Tuple[bytes, int]]:
    """(body, end offset) when the chunked body starting at ``pos`` is complete, else ``None``."""
    body = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            if len(buf) - pos > MAX_CHUNK_LINE_BYTES:
                raise HttpError(400, "chunk size line too long")
            return None
        size_text = buf[pos:eol].decode("latin-1").split(";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise HttpError(400, "bad chunk size")
        size = int(size_text, 16)
        pos = eol + 2
        if size == 0:
            while True:  # trailer fields are read and ignored; an empty line ends the message
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if len(buf) - pos > max_header:
                        raise HttpError(431, "trailers too large")
                    return None
                if eol == pos:
                    return bytes(body), eol + 2
                pos = eol + 2
        if len(body) + size > max_body:
            raise HttpError(413, "request body too large")
        if len(buf) < pos + size + 2:
            return None
        if buf[pos + size:pos + size + 2] != b"\r\n":
            raise HttpError(400, "missing CRLF after chunk")
        body += buf[pos:pos + size]
        pos += size + 2


def _head_end(buf: bytes, max_header: int) -> int:
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > max_header:
            raise HttpError(431, "request headers too large")
        return -1
    if end + 4 > max_header:
        raise HttpError(431, "request headers too large")
    return end


def parse_request(buf: bytes, max_body: int, max_header: int = MAX_HEADER_BYTES) -> Optional[Tuple[HttpRequest, int]]:
    """Parses one request at the start of ``buf``: (request, bytes consumed), or ``None`` if incomplete."""
    end = _head_end(buf, max_header)
    if end < 0:
        return None
    req = _parse_head(buf[:end].decode("latin-1"))
    start = end + 4
    te = [v.lower() for n, v in req.headers if n == "transfer-encoding"]
    cl = [v for n, v in req.headers if n == "content-length"]
    if te:
        if cl:  # both framings at once is the request-smuggling shape
            raise HttpError(400, "both Transfer-Encoding and Content-Length")
        codings = [c.strip() for c in ",".join(te).split(",") if c.strip()]
        if codings != ["chunked"]:
            raise HttpError(501, "unsupported transfer coding")
        parsed = _parse_chunked(buf, start, max_body, max_header)
        if parsed is None:
            return None
        req.body, consumed = parsed
        return req, consumed
    length = 0
    if cl:
        values = {v.strip() for v in ",".join(cl).split(",")}
        only = next(iter(values))
        if len(values) != 1 or not _CONTENT_LENGTH.fullmatch(only):
            raise HttpError(400, "bad Content-Length")
        length = int(only)
        if length > max_body:
            raise HttpError(413, "request body too large")
    if len(buf) < start + length:
        return None
    req.body = bytes(buf[start:start + length])
    return req, start + length


def expects_continue(buf: bytes, max_header: int = MAX_HEADER_BYTES) -> bool:
    """Whether ``buf`` holds exactly a complete head that asked ``Expect: 100-continue`` (no body bytes yet).

    curl asks for bodies over 1 KiB and waits a second for ``100 Continue``.
    """
    try:
        end = _head_end(buf, max_header)
    except HttpError:
        return False
    if end < 0 or end + 4 != len(buf):
        return False
    for line in buf[:end].decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "expect" and value.strip().lower() == "100-continue":
            return True
    return False


def plain_response(status: int, reason: str, content_type: str, body: bytes, extra_headers: str = "") -> bytes:
    """A non-envelope response (health, metrics, 404/405/400), laid out as the TypeScript server does."""
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra_headers}Content-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body

