"""A small HTTP/1.1 request parser for the shared SRPC/HTTP port, with the TypeScript parser's rules.

Only what the server needs: request line, headers, a body framed by
``Content-Length`` or chunked (chunks concatenated; trailers read, bounded and
ignored), keep-alive, ``Expect: 100-continue``. :class:`HttpParser` is fed the
bytes of a connection as they arrive and keeps its place, so a request sent in
tiny segments costs no more than one sent whole. Malformed input raises :class:`HttpError`
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


_METHOD_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Parser states: where the next bytes of the current request belong.
_HEAD, _BODY, _CHUNK_SIZE_LINE, _CHUNK_DATA, _TRAILERS, _FAILED = range(6)


class HttpParser:
    """Incremental HTTP/1.1 request parser for one connection: linear in the bytes fed.

    :meth:`feed` returns the requests completed by the new bytes, in order; a
    malformed request ends the list with its :class:`HttpError` and the parser
    stops (the connection answers it and closes). Every byte is examined a
    bounded number of times, however the stream is segmented, and the result
    does not depend on the segmentation. Limits: request line + headers ≤
    ``max_header`` (431), chunk-size lines ≤ :data:`MAX_CHUNK_LINE_BYTES`
    (400), trailers ≤ ``max_header`` in total (431), body ≤ ``max_body`` (413).
    A request must start with an ASCII capital letter (every method does),
    else 400 "bad request line" at once.
    """

    def __init__(self, max_body: int, max_header: int = MAX_HEADER_BYTES) -> None:
        self.max_body = max_body
        self.max_header = max_header
        self._buf = bytearray()
        self._state = _HEAD
        self._scan = 0  # where the search for the end of the head (or of a line) resumes
        self._request: Optional[HttpRequest] = None
        self._need = 0  # body bytes (Content-Length) or chunk bytes still to come
        self._body = bytearray()
        self._trailer_bytes = 0
        #: Set when a head asking ``Expect: 100-continue`` is complete and none of its body has arrived.
        self.wants_continue = False

    @property
    def in_request(self) -> bool:
        """Whether part of a request has arrived (a request is under way)."""
        return self._state != _HEAD or len(self._buf) > 0

    @property
    def buffered(self) -> int:
        """Bytes held for the request under way (head, body and unparsed bytes)."""
        return len(self._buf) + len(self._body)

    def feed(self, data: "bytes | bytearray | memoryview") -> "List[HttpRequest | HttpError]":
        if self._state == _FAILED:
            return []
        self._buf += data
        out: "List[HttpRequest | HttpError]" = []
        try:
            while True:
                request = self._step()
                if request is None:
                    break
                out.append(request)
        except HttpError as exc:
            self._state = _FAILED
            self._buf = bytearray()
            self._body = bytearray()
            out.append(exc)
        return out

    def _step(self) -> Optional[HttpRequest]:
        """Advances through the buffer; a request when one completes, ``None`` when more bytes are needed."""
        while True:
            buf = self._buf
            if self._state == _HEAD:
                if not buf:
                    return None
                if buf[0] not in _METHOD_START:
                    raise HttpError(400, "bad request line")
                end = buf.find(b"\r\n\r\n", self._scan)
                if end < 0:
                    if len(buf) > self.max_header:
                        raise HttpError(431, "request headers too large")
                    self._scan = max(len(buf) - 3, 0)
                    return None
                if end + 4 > self.max_header:
                    raise HttpError(431, "request headers too large")
                request = _parse_head(bytes(buf[:end]).decode("latin-1"))
                del buf[:end + 4]
                self._scan = 0
                self._start_body(request)
                if self._state == _HEAD:
                    return self._finish()
                self.wants_continue = not buf and _asks_continue(request)
            elif self._state == _BODY:
                if len(buf) < self._need:
                    return None
                self._body += buf[:self._need]
                del buf[:self._need]
                return self._finish()
            elif self._state == _CHUNK_SIZE_LINE:
                line = self._line(MAX_CHUNK_LINE_BYTES, 400, "chunk size line too long")
                if line is None:
                    return None
                size_text = line.decode("latin-1").split(";", 1)[0].strip()
                if not _CHUNK_SIZE.fullmatch(size_text):
                    raise HttpError(400, "bad chunk size")
                size = int(size_text, 16)
                if size == 0:
                    self._state = _TRAILERS
                    self._trailer_bytes = 0
                    continue
                if len(self._body) + size > self.max_body:
                    raise HttpError(413, "request body too large")
                self._need = size
                self._state = _CHUNK_DATA
            elif self._state == _CHUNK_DATA:
                if len(buf) < self._need + 2:
                    return None
                if buf[self._need:self._need + 2] != b"\r\n":
                    raise HttpError(400, "missing CRLF after chunk")
                self._body += buf[:self._need]
                del buf[:self._need + 2]
                self._state = _CHUNK_SIZE_LINE
            elif self._state == _TRAILERS:
                # Trailer fields are read and ignored; all of them count against max_header.
                line = self._line(self.max_header - self._trailer_bytes, 431, "trailers too large")
                if line is None:
                    return None
                self._trailer_bytes += len(line) + 2
                if self._trailer_bytes > self.max_header:
                    raise HttpError(431, "trailers too large")
                if not line:
                    return self._finish()
            else:
                return None

    def _line(self, limit: int, status: int, message: str) -> Optional[bytes]:
        """The next CRLF-terminated line (CRLF removed and consumed), ``None`` if incomplete.

        A line longer than ``limit`` fails as soon as that is certain, so the
        answer is the same whether the line arrives whole or byte by byte.
        """
        buf = self._buf
        eol = buf.find(b"\r\n", self._scan)
        if eol < 0:
            pending = len(buf) - (1 if buf.endswith(b"\r") else 0)
            if pending > limit:
                raise HttpError(status, message)
            self._scan = max(len(buf) - 1, 0)
            return None
        self._scan = 0
        if eol > limit:
            raise HttpError(status, message)
        line = bytes(buf[:eol])
        del buf[:eol + 2]
        return line

    def _start_body(self, request: HttpRequest) -> None:
        self._request = request
        self._body = bytearray()
        te = [v.lower() for n, v in request.headers if n == "transfer-encoding"]
        cl = [v for n, v in request.headers if n == "content-length"]
        if te:
            if cl:  # both framings at once is the request-smuggling shape
                raise HttpError(400, "both Transfer-Encoding and Content-Length")
            codings = [c.strip() for c in ",".join(te).split(",") if c.strip()]
            if codings != ["chunked"]:
                raise HttpError(501, "unsupported transfer coding")
            self._state = _CHUNK_SIZE_LINE
            return
        length = 0
        if cl:
            values = {v.strip() for v in ",".join(cl).split(",")}
            only = next(iter(values))
            if len(values) != 1 or not _CONTENT_LENGTH.fullmatch(only):
                raise HttpError(400, "bad Content-Length")
            length = int(only)
            if length > self.max_body:
                raise HttpError(413, "request body too large")
        self._need = length
        self._state = _BODY if length > 0 else _HEAD

    def _finish(self) -> HttpRequest:
        request = self._request
        assert request is not None
        request.body = bytes(self._body)
        self._request = None
        self._body = bytearray()
        self._state = _HEAD
        self.wants_continue = False
        return request


def _asks_continue(request: HttpRequest) -> bool:
    return any(n == "expect" and v.lower() == "100-continue" for n, v in request.headers)


def plain_response(status: int, reason: str, content_type: str, body: bytes, extra_headers: str = "") -> bytes:
    """A non-envelope response (health, metrics, 404/405/400), laid out as the TypeScript server does."""
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra_headers}Content-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body

