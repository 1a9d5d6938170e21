"""The call being served by the current task or thread.

The server sets it around each handler; logging stamps its flow id, method and
caller on every line, and outgoing calls inherit its flow id and colouring
(MSEC's end-to-end ``ReqID`` and "colouring" of a request chain).
"""
import contextvars
import os
import math
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class CallScope:
    """What a handler's downstream calls and log lines inherit."""

    method: str = ""
    caller: str = ""
    flow_id: int = 0
    coloring: int = 0
    #: Absolute deadline (``time.time()`` scale); ``math.inf`` when none.
    deadline: float = math.inf
    peer: str = ""


_current: "contextvars.ContextVar[Optional[CallScope]]" = contextvars.ContextVar("msec_call", default=None)


def current_call() -> Optional[CallScope]:
    """The scope of the request being handled, or ``None`` outside a handler."""
    return _current.get()


def enter_call(scope: CallScope) -> "contextvars.Token[Optional[CallScope]]":
    """Makes ``scope`` current; undo with :func:`leave_call`."""
    return _current.set(scope)


def leave_call(token: "contextvars.Token[Optional[CallScope]]") -> None:
    _current.reset(token)


#: Environment variable naming this process's service (``Group.Service``), as in the TS runtime.
SERVICE_NAME_ENV = "MSEC_SERVICE_NAME"
#: Caller name when nothing names this process (what MSEC's Python client always sent).
DEFAULT_CALLER = "python.client"

_service_name: "list[Optional[str]]" = [None]


def service_name() -> str:
    """This process's service name, sent as ``caller`` on outgoing calls.

    Set by the server from its options (:func:`set_service_name`), else
    ``$MSEC_SERVICE_NAME``, else ``python.client``.
    """
    return _service_name[0] or os.environ.get(SERVICE_NAME_ENV) or DEFAULT_CALLER


def set_service_name(name: Optional[str]) -> None:
    _service_name[0] = name or None
