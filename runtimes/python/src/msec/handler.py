"""The contract between the server runtime and generated service code (mirror of ``runtime/handler.ts``).

The runtime owns sockets, framing, the HTTP/JSON edge, limits and the
envelope. Generated code owns decoding the request body (protobuf or JSON),
calling the user's typed handler and encoding the response. They meet in a
dispatch table ``{full_method_name: handler}`` where::

    handler(body, ctx) -> response          # plain def: run in the thread pool
    async handler(body, ctx) -> response    # async def: run on the event loop

* ``ctx.format == "binary"``: ``body`` is the protobuf bytes, the response is
  ``bytes`` (the response message serialized).
* ``ctx.format == "json"``: ``body`` is the JSON text (``"{}"`` for an empty
  HTTP body), the response is a JSON-able value (e.g. a dict from
  :func:`message_to_json`) that the runtime writes as ``resultObj``.

Raise :class:`SrpcError` to answer with a specific code (generated code raises
-5 for an undecodable binary body, -3 for undecodable JSON); any other
exception answers -18 (service implement failed) and is logged.
"""
import inspect
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, TypeVar, Union

from .errors import ERR_INVALID_PKG, ERR_INVALID_PKG_BODY, SrpcError
from .log import Logger

BINARY = "binary"
JSON = "json"

RequestBody = Union[bytes, str]
ResponseBody = Any  # bytes for binary calls, a JSON-able value for JSON calls
Handler = Callable[[RequestBody, "CallContext"], Union[ResponseBody, Awaitable[ResponseBody]]]
MethodTable = Mapping[str, Handler]


@dataclass(frozen=True)
class CallContext:
    """Per-call facts handed to every handler."""

    #: ``"binary"`` (SRPC frame) or ``"json"`` (HTTP POST); the response uses the same format.
    format: str
    #: Full wire method name, e.g. ``crawl.CrawlService.GetMP3List``.
    method: str
    #: ``CRpcHead.caller`` or the HTTP ``caller`` header (default ``http.json``).
    caller: str = ""
    #: End-to-end request id (``CRpcHead.flow_id``), inherited by downstream calls.
    flow_id: int = 0
    #: ``CRpcHead.coloring``: 1 forces logging at every level along the call chain.
    coloring: int = 0
    #: Absolute deadline, ``time.time()`` scale: the arrival of the request's first byte plus the
    #: caller's ``timeout_ms`` (SRPC head field 70) or ``X-Msec-Timeout-Ms`` header; ``math.inf``
    #: when the caller sent none. Clients called inside the handler get at most the time left.
    deadline: float = math.inf
    #: Remote peer ``ip:port``.
    peer: str = ""
    #: Logger; every line also carries the flow id, method and caller of this call.
    log: Logger = field(default_factory=Logger)
    #: Set when the call is given up: its deadline passed (it was answered -10), its client went
    #: away, or shutdown ran out of time (see :attr:`cancelled` and :attr:`cancel_event`).
    cancellation: "Cancellation" = field(default_factory=lambda: Cancellation(), compare=False, repr=False)

    @property
    def cancelled(self) -> bool:
        """Whether the call was given up; whatever the handler returns now is dropped. An
        ``async def`` handler is cancelled then; a plain ``def`` handler, whose thread cannot be
        stopped, checks this flag."""
        return self.cancellation.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """A :class:`threading.Event` set when the call is given up: ``ctx.cancel_event.wait(s)``
        is a sleep that ends early (made on first use)."""
        return self.cancellation.event()

    def remaining_s(self) -> float:
        """Seconds left to :attr:`deadline` (``math.inf`` when none; negative once passed)."""
        return self.deadline - time.time()


class Cancellation:
    """A call's "given up" flag, settable from the event loop and read from handler threads.

    A bool for the common case; the :class:`threading.Event` behind ``ctx.cancel_event`` is made
    only when a handler asks for it (an Event per call would cost more than most calls)."""

    __slots__ = ("_set", "_event")
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._set = False
        self._event: "threading.Event | None" = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with Cancellation._lock:
            self._set = True
            event = self._event
        if event is not None:
            event.set()

    def event(self) -> threading.Event:
        with Cancellation._lock:
            if self._event is None:
                self._event = threading.Event()
                if self._set:
                    self._event.set()
            return self._event


M = TypeVar("M")


def decode_request(message_class: Callable[[], M], body: RequestBody, ctx: CallContext) -> M:
    """Decodes a request: protobuf bytes (failure -5) or JSON (failure -3), by the rule of docs/request-decoding.md.

    JSON is strict ProtoJSON: proto field names or lowerCamel names, enums by
    number or name; unknown fields, invalid base64 in ``bytes`` values, ``null``
    in a list or map, duplicate keys and nesting deeper than 100 levels are
    rejected. Binary fields must carry their declared wire type. In both formats
    proto2 ``required`` fields must be set. The error message names the field,
    e.g. ``cannot decode crawl.Req from JSON: crawl.Req.items[2].url: missing required field``.
    """
    from google.protobuf.json_format import ParseError
    from google.protobuf.message import DecodeError

    from .request_decoding import parse_binary_request, parse_json_request

    message = message_class()
    name = getattr(message, "DESCRIPTOR").full_name
    if ctx.format == JSON:
        try:
            text = body if isinstance(body, str) else bytes(body).decode("utf-8", "strict")
            parse_json_request(message, text)
        except (ParseError, ValueError, TypeError) as exc:
            raise SrpcError(ERR_INVALID_PKG, f"cannot decode {name} from JSON: {exc}") from None
        return message
    try:
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        parse_binary_request(message, raw)
    except (DecodeError, ValueError, TypeError) as exc:
        raise SrpcError(ERR_INVALID_PKG_BODY, f"cannot decode {name}: {exc}") from None
    return message


def message_to_json(message: Any) -> Any:
    """MSEC-compatible JSON of a message: proto field names, enums as numbers, set fields only."""
    from google.protobuf import json_format

    return json_format.MessageToDict(message, preserving_proto_field_name=True, use_integers_for_enums=True)


def encode_response(message: Any, ctx: CallContext) -> ResponseBody:
    """Encodes a response message in the request's format (bytes, or a JSON-able dict)."""
    if ctx.format == JSON:
        return message_to_json(message)
    return message.SerializeToString()


def typed_handler(request_class: Callable[[], Any], fn: Callable[[Any, CallContext], Any]) -> Handler:
    """A dispatch-table handler around a typed function ``fn(request, ctx) -> response message``.

    Decodes the body in the call's format (:func:`decode_request`), runs ``fn``
    (``async def`` on the event loop, plain ``def`` in the server's thread pool)
    and encodes its response in the same format (:func:`encode_response`).
    Generated dispatch modules are a table of these.
    """
    if inspect.iscoroutinefunction(fn):

        async def run_async(body: RequestBody, ctx: CallContext) -> ResponseBody:
            response = await fn(decode_request(request_class, body, ctx), ctx)
            return encode_response(response, ctx)

        return run_async

    def run(body: RequestBody, ctx: CallContext) -> ResponseBody:
        return encode_response(fn(decode_request(request_class, body, ctx), ctx), ctx)

    return run
