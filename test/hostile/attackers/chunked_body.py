#!/usr/bin/env python3
"""Sends one HTTP request with a chunked body in small chunks, each its own ``send()``.

    python3 chunked_body.py --port P --message-bytes 3145728 [--chunk-bytes 16]

The request calls ``echo.EchoService.Echo`` with ``{"message": base64 of
--message-bytes bytes}`` (a 4 MiB body for 3 MiB), ``Transfer-Encoding:
chunked``, ``--chunk-bytes`` body bytes per chunk, TCP_NODELAY. Then reads the
answer and prints one JSON line: ``{"sent_s": sending time, "answered_s": time
to the whole answer, "status": HTTP status, "ret": envelope ret, "echoed":
whether the message came back unchanged}`` (``status`` 0 when no answer came).

A process of its own, so that the test process stays free to run the probe.
"""
import argparse
import base64
import json
import socket
import time


def read_response(s: socket.socket) -> "tuple[int, bytes]":
    buf = b""
    while b"\r\n\r\n" not in buf:
        more = s.recv(65536)
        if not more:
            return 0, b""
        buf += more
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = bytearray(rest)
    while len(body) < length:
        more = s.recv(1 << 20)
        if not more:
            break
        body += more
    return status, bytes(body[:length])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--message-bytes", type=int, required=True)
    p.add_argument("--chunk-bytes", type=int, default=16)
    p.add_argument("--timeout-s", type=float, default=60.0)
    a = p.parse_args()
    message = b"b" * a.message_bytes
    body = json.dumps({"message": base64.b64encode(message).decode()}).encode()
    s = socket.create_connection(("127.0.0.1", a.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(a.timeout_s)
    started = time.monotonic()
    try:
        s.sendall(b"POST /?methodName=echo.EchoService.Echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        n = a.chunk_bytes
        for at in range(0, len(body), n):
            chunk = body[at : at + n]
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        s.sendall(b"0\r\n\r\n")
        sent_s = time.monotonic() - started
        status, answer = read_response(s)
    except OSError:  # a timeout, or the server closed or reset the connection
        sent_s = time.monotonic() - started
        status, answer = 0, b""
    answered_s = time.monotonic() - started
    ret, echoed = None, False
    if status:
        envelope = json.loads(answer)
        ret = envelope.get("ret")
        echoed = base64.b64decode(envelope.get("resultObj", {}).get("message", "")) == message
    print(json.dumps({"sent_s": round(sent_s, 3), "answered_s": round(answered_s, 3), "status": status, "ret": ret, "echoed": echoed}), flush=True)


if __name__ == "__main__":
    main()
