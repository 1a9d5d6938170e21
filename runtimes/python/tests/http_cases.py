"""Malformed HTTP requests and the answer both servers give (status, message), then close."""

REASONS = {400: "Bad Request", 413: "Content Too Large", 431: "Request Header Fields Too Large", 501: "Not Implemented"}

BAD_HTTP = [
    (b"POST\r\n\r\n", 400, "bad request line"),
    (b"POST / HTTP/2.0\r\n\r\n", 400, "bad request line"),
    (b"POST / HTTP/1.1\r\nno colon\r\n\r\n", 400, "bad header line"),
    (b"POST / HTTP/1.1\r\nbad name: x\r\n\r\n", 400, "bad header name"),
    (b"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}", 400, "both Transfer-Encoding and Content-Length"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unsupported transfer coding"),
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}", 400, "bad Content-Length"),
    (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad Content-Length"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "bad chunk size"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX", 400, "missing CRLF after chunk"),
    (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413, "request body too large"),
    (b"POST / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431, "request headers too large"),
]


def bad_http_answer(status: int, message: str) -> bytes:
    body = f"{message}\n".encode()
    head = (
        f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body
