"""MSEC's Python API (``msec_impl.py``, spec §5.5) with its original names and return shapes.

Code written for MSEC ports with ``from msec.msec_impl import *`` (or the
vendored package's equivalent). Where the original was broken this module
deliberately differs; every deviation is listed in ``docs/python-runtime.md``:

* ``CallMethod`` returns the real code of a failure instead of collapsing
  most of them into ``-3``: the server's ``err`` (e.g. ``-6``) with its text,
  ``-16 'invalid sequence'``, ``-15 'get route failed'``, ``-10``/``-12`` on
  timeouts; connections are pooled and flow id / colouring are propagated.
* ``updateroute`` works (the original recursed forever) and ``srpc_sendrcv``
  reports success to the balancer as success (the original reported failure).
* ``attr_set`` works (the original's guard checked the wrong variable).
"""
import asyncio
import weakref
from typing import Any, Dict, Optional, Union

from .client import AsyncClient, Client
from .color import color_id
from .config import get_config as _get_config
from .context import DEFAULT_CALLER
from .errors import (
    ERR_GET_ROUTE_FAILED,
    ERR_INVALID_PKG,
    ERR_INVALID_PKG_HEAD,
    ERR_INVALID_SEQUENCE,
    ERR_RECV_TIMEOUT,
    ERR_SEND_RECV_FAILED,
    ERR_TIMEOUT,
    SrpcError,
    errmsg,
)
from .frame import RpcHead, check_frame, decode_head, encode_frame, encode_head, split_frame
from .log import log_debug, log_error, log_fatal, log_info, log_set_option
from .monitor import attr_report, attr_set, monitor_add, monitor_set
from .route import UDP, Address, default_router
from .tcp import callmethod_tcp, callmethod_tcp_async

__all__ = [
    "CallMethod",
    "call_method_async",
    "srpc_serialize",
    "srpc_check_pkg",
    "srpc_deserialize",
    "srpc_sendrcv",
    "getroute",
    "updateroute",
    "callmethod_tcp",
    "callmethod_tcp_async",
    "log_error",
    "log_info",
    "log_debug",
    "log_fatal",
    "log_set_option",
    "get_config",
    "attr_report",
    "attr_set",
    "monitor_add",
    "monitor_set",
]

#: ``caller`` written by :func:`srpc_serialize`, as the original Python extension did.
PYTHON_CLIENT_CALLER = DEFAULT_CALLER.encode("ascii")

_client = Client()
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient]" = weakref.WeakKeyDictionary()

Request = Union[bytes, bytearray, Any]


def _body_of(request: Request) -> Optional[bytes]:
    if isinstance(request, (bytes, bytearray, memoryview)):
        return bytes(request)
    try:
        return bytes(request.SerializeToString())
    except Exception:  # missing required fields, or not a message
        return None


def _failure(service_name: str, code: int, text: str) -> Dict[str, Any]:
    monitor_add(f"call [{service_name}] failed: {text}")
    return {"ret": code, "errmsg": text}


def _errmsg_for(exc: SrpcError) -> str:
    if exc.code == ERR_SEND_RECV_FAILED:
        return "sendrecv failed"
    if exc.code == ERR_INVALID_SEQUENCE:
        return "invalid sequence"
    if exc.code in (ERR_INVALID_PKG, ERR_INVALID_PKG_HEAD):
        return "deserialize failed"
    if exc.code in (ERR_TIMEOUT, ERR_RECV_TIMEOUT, ERR_GET_ROUTE_FAILED):
        return errmsg(exc.code)
    return exc.message  # the server's err_msg, else the text of its err


def CallMethod(service_name: str, method_name: str, request: Request, timeout: float = 0) -> Dict[str, Any]:  # noqa: N802
    """Calls ``method_name`` on ``service_name`` (routing name or ``ip:port[@udp]``), timeout in ms (≤ 0 ⇒ 5000).

    Returns ``{'ret': 0, 'response': <body bytes>}`` or ``{'ret': <code>, 'errmsg': <text>}``.
    """
    monitor_add(f"call [{service_name}]")
    body = _body_of(request)
    if body is None:
        return _failure(service_name, ERR_INVALID_PKG, "serialize failed")
    try:
        response = _client.call(service_name, method_name, body, timeout)
    except SrpcError as exc:
        return _failure(service_name, exc.code, _errmsg_for(exc))
    monitor_add(f"call [{service_name}] success")
    return {"ret": 0, "response": response}


def _async_client() -> AsyncClient:
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = AsyncClient()
        _async_clients[loop] = client
    return client


async def call_method_async(service_name: str, method_name: str, request: Request, timeout: float = 0) -> Dict[str, Any]:
    """asyncio twin of :func:`CallMethod` (same return shapes), multiplexed on one connection per address."""
    monitor_add(f"call [{service_name}]")
    body = _body_of(request)
    if body is None:
        return _failure(service_name, ERR_INVALID_PKG, "serialize failed")
    try:
        response = await _async_client().call(service_name, method_name, body, timeout)
    except SrpcError as exc:
        return _failure(service_name, exc.code, _errmsg_for(exc))
    monitor_add(f"call [{service_name}] success")
    return {"ret": 0, "response": response}


def srpc_serialize(methodname: str, body: Union[bytes, str], seq: int) -> Optional[bytes]:
    """A request frame exactly as the original Python client built it (vector V1), or ``None``.

    Head: ``sequence``, ``coloring=0``, djb2 ``color_id``, ``flow_id = color_id XOR seq``,
    ``caller='python.client'``, ``method_name``.
    """
    try:
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        method = methodname.encode("utf-8") if isinstance(methodname, str) else bytes(methodname)
        seq = int(seq) & 0xFFFFFFFFFFFFFFFF
    except (TypeError, ValueError, AttributeError):
        return None
    cid = color_id(method.decode("utf-8", "surrogateescape"))
    head = RpcHead(
        sequence=seq,
        method_name=method,
        coloring=0,
        color_id=cid,
        flow_id=cid ^ seq,
        caller=PYTHON_CLIENT_CALLER,
    )
    return encode_frame(encode_head(head), raw)


def srpc_check_pkg(pkg: bytes) -> int:
    """Completeness of a received buffer: ``-1`` invalid (every negative, as the wrapper mapped), ``0`` more, ``>0`` length."""
    try:
        result = check_frame(bytes(pkg))
    except TypeError:
        return -1
    return -1 if result < 0 else result


def _c_int(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def srpc_deserialize(pkg: bytes) -> Dict[str, Any]:
    """``{'body', 'seq', 'errmsg'}`` of one complete frame; ``{'errmsg': <text>}`` on failure.

    ``errmsg`` is ``'success'`` or the text of the head's ``err``; callers test
    ``errmsg == 'success'``. ``seq`` is truncated to a C ``int`` as the original did.
    """
    if not isinstance(pkg, (bytes, bytearray, memoryview)):
        return {"errmsg": "Invalid parameter"}
    try:
        raw_head, body = split_frame(bytes(pkg))
        head = decode_head(raw_head)
    except SrpcError as exc:
        return {"errmsg": errmsg(exc.code)}
    return {"body": body, "seq": _c_int(head.sequence), "errmsg": errmsg(head.err) if head.err else "success"}


def srpc_sendrcv(host: str, send_pkg: bytes, timeout: float = 0) -> Optional[bytes]:
    """Sends a frame to a routed service or literal address, returns the response frame or ``None`` (timeout in ms)."""
    try:
        return _client.exchange(host, bytes(send_pkg), timeout)
    except SrpcError:
        return None


def getroute(service_name: str) -> Optional[Dict[str, Any]]:
    """``{'ip', 'port', 'type'}`` for a name, or ``None``.

    A name containing both ``:`` and ``@`` is a literal (``type`` is ``'udp'``
    only for the suffix ``udp``); anything else, including ``ip:port`` without
    ``@``, is looked up as a routing name (routes file + balancer), as MSEC did.
    """
    colon, at = service_name.find(":"), service_name.find("@")
    if colon > 0 and at > 0:
        try:
            port = int(service_name[colon + 1:at])
        except ValueError:
            return None
        return {"ip": service_name[:colon], "port": port, "type": UDP if service_name[at + 1:] == UDP else "tcp"}
    instances = default_router.instances(service_name)
    if not instances:
        return None
    address = default_router.balancer.pick(service_name, instances)
    if address is None:
        return None
    return {"ip": address.ip, "port": address.port, "type": address.type}


def updateroute(service_name: str, ip: str, failed: int, cost: int) -> int:
    """Reports a call to ``ip`` of ``service_name`` (``failed`` ≥ 1 failures, 0 = success in ``cost`` ms).

    No-op for literal addresses (names containing ``:``). Returns NLB's codes:
    0, -4 unknown service, -9 unknown server.
    """
    if ":" in service_name:
        return 0
    return default_router.update(service_name, Address(ip, 0), int(failed), int(cost))


def get_config(session: str, key: str, filename: Optional[str] = None) -> Optional[str]:
    """``[session] key`` of the config (``$MSEC_CONFIG``, ``etc/config.ini`` or ``../etc/config.ini``), or ``None``."""
    return _get_config(session, key, filename)

