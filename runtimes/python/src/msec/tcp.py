"""Calls to heterogeneous (non-SRPC) TCP services, and the seed's length-prefixed JSON protocol.

A completeness callback decides when a reply is whole, as in MSEC: it gets the
bytes received so far and returns ``0`` (need more), the total length of the
reply (``> 0``) or a negative number (malformed).
"""
import asyncio
import json
import socket
import time
from typing import Any, Callable, Dict, Optional

from .route import Address, Router, default_router

Completeness = Callable[[bytes], int]

#: Width of the ASCII decimal length prefix of the Jsoup protocol (``"%-10d"``).
JSON_LENGTH_PREFIX = 10
#: Largest reply buffered before giving up (guards against a peer that never completes).
MAX_REPLY_SIZE = 64 * 1024 * 1024
_RECV_CHUNK = 4096


class TcpCallError(Exception):
    """A heterogeneous call failed; ``errmsg`` is the MSEC ``callmethod_tcp`` text."""

    def __init__(self, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errmsg = errmsg


def encode_length_prefixed_json(obj: Any) -> bytes:
    """``"%-10d%s" % (len(json), json)``: the length, left-justified in 10 ASCII chars, then the JSON."""
    text = json.dumps(obj).encode("utf-8")
    return f"{len(text):<{JSON_LENGTH_PREFIX}d}".encode("ascii") + text


def length_prefixed_json_complete(buf: bytes) -> int:
    """Completeness of a length-prefixed JSON reply (the seed's ``callback``)."""
    if len(buf) < JSON_LENGTH_PREFIX:
        return 0
    try:
        total = int(buf[:JSON_LENGTH_PREFIX].decode("ascii").strip()) + JSON_LENGTH_PREFIX
    except (UnicodeDecodeError, ValueError):
        return -1
    if total < JSON_LENGTH_PREFIX:
        return -1
    return total if len(buf) >= total else 0


def decode_length_prefixed_json(reply: bytes) -> Any:
    """The JSON value of a complete reply (prefix removed)."""
    return json.loads(reply[JSON_LENGTH_PREFIX:].decode("utf-8"))


def _judge(is_complete: Completeness, buf: bytes) -> int:
    try:
        n = is_complete(bytes(buf))
    except Exception:
        raise TcpCallError("callback function error") from None
    if not isinstance(n, int) or isinstance(n, bool):
        raise TcpCallError("callback function error")
    if n < 0:
        raise TcpCallError("response package format error")
    return n


def call_tcp(address: Address, request: bytes, is_complete: Completeness, timeout_s: float) -> bytes:
    """Sends ``request`` and reads until ``is_complete`` accepts; returns the reply bytes.

    Raises :class:`TcpCallError` with ``"timeout"``, ``"peer closed the
    connection"`` (connect refused/reset or EOF before completion),
    ``"callback function error"`` or ``"response package format error"``.
    """
    deadline = time.monotonic() + timeout_s
    try:
        sock = socket.create_connection((address.ip, address.port), timeout=max(timeout_s, 0.001))
    except socket.timeout:
        raise TcpCallError("timeout") from None
    except OSError:
        raise TcpCallError("peer closed the connection") from None
    with sock:
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendall(request)
            buf = bytearray()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TcpCallError("timeout")
                sock.settimeout(remaining)
                chunk = sock.recv(_RECV_CHUNK)
                if not chunk:
                    raise TcpCallError("peer closed the connection")
                buf += chunk
                n = _judge(is_complete, bytes(buf))
                if n > 0:
                    if n > len(buf):
                        continue
                    return bytes(buf[:n])
                if len(buf) > MAX_REPLY_SIZE:
                    raise TcpCallError("response package format error")
        except socket.timeout:
            raise TcpCallError("timeout") from None
        except OSError:
            raise TcpCallError("peer closed the connection") from None


async def call_tcp_async(address: Address, request: bytes, is_complete: Completeness, timeout_s: float) -> bytes:
    """asyncio twin of :func:`call_tcp` (same errors)."""

    async def exchange() -> bytes:
        try:
            reader, writer = await asyncio.open_connection(address.ip, address.port)
        except OSError:
            raise TcpCallError("peer closed the connection") from None
        try:
            writer.write(request)
            await writer.drain()
            buf = bytearray()
            while True:
                chunk = await reader.read(_RECV_CHUNK)
                if not chunk:
                    raise TcpCallError("peer closed the connection")
                buf += chunk
                n = _judge(is_complete, bytes(buf))
                if 0 < n <= len(buf):
                    return bytes(buf[:n])
                if len(buf) > MAX_REPLY_SIZE:
                    raise TcpCallError("response package format error")
        except OSError:
            raise TcpCallError("peer closed the connection") from None
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(exchange(), timeout_s)
    except asyncio.TimeoutError:
        raise TcpCallError("timeout") from None


def _route(service_name: str, router: Optional[Router]) -> Optional[Address]:
    return (router or default_router).route(service_name)


def _result(reply: bytes) -> Dict[str, Any]:
    try:
        return {"ret": 0, "data": decode_length_prefixed_json(reply)}
    except (UnicodeDecodeError, ValueError):
        return {"ret": -1, "errmsg": "response package format error"}


def callmethod_tcp(
    service_name: str,
    request_obj: Any,
    callback: Optional[Completeness] = None,
    timeout_s: float = 10.0,
    router: Optional[Router] = None,
) -> Dict[str, Any]:
    """The seed's ``callmethod_tcp``: length-prefixed JSON over TCP to a routed service.

    Returns ``{'ret': 0, 'data': <decoded JSON>}`` or ``{'ret': -1, 'errmsg': <text>}``
    with the texts of the original (``'getroute failed'``, ``'timeout'``, …).
    ``callback`` defaults to :func:`length_prefixed_json_complete`.
    """
    address = _route(service_name, router)
    if address is None:
        return {"ret": -1, "errmsg": "getroute failed"}
    try:
        reply = call_tcp(address, encode_length_prefixed_json(request_obj), callback or length_prefixed_json_complete, timeout_s)
    except TcpCallError as exc:
        return {"ret": -1, "errmsg": exc.errmsg}
    return _result(reply)


async def callmethod_tcp_async(
    service_name: str,
    request_obj: Any,
    callback: Optional[Completeness] = None,
    timeout_s: float = 10.0,
    router: Optional[Router] = None,
) -> Dict[str, Any]:
    """asyncio twin of :func:`callmethod_tcp` (same return shapes)."""
    address = _route(service_name, router)
    if address is None:
        return {"ret": -1, "errmsg": "getroute failed"}
    try:
        reply = await call_tcp_async(address, encode_length_prefixed_json(request_obj), callback or length_prefixed_json_complete, timeout_s)
    except TcpCallError as exc:
        return {"ret": -1, "errmsg": exc.errmsg}
    return _result(reply)
