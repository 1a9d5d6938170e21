"""SRPC error codes and their texts (spec §2), and the one exception type carrying them."""
from typing import Dict

SUCCESS = 0
ERR_PARA_ERROR = -1
ERR_SYSTEM_ERROR = -2
ERR_INVALID_PKG = -3
ERR_INVALID_PKG_HEAD = -4
ERR_INVALID_PKG_BODY = -5
ERR_INVALID_METHOD_NAME = -6
ERR_HEADER_UNINIT = -7
ERR_BODY_UNINIT = -8
ERR_NO_MEMORY = -9
ERR_TIMEOUT = -10
ERR_NETWORK = -11
ERR_RECV_TIMEOUT = -12
ERR_SEND_RECV_FAILED = -13
ERR_INVALID_ENDPOINT = -14
ERR_GET_ROUTE_FAILED = -15
ERR_INVALID_SEQUENCE = -16
ERR_NO_BODY = -17
ERR_SERVICE_IMPL_FAILED = -18
ERR_BACKEND = -19
ERR_PHP_FAILED = -20
ERR_PYTHON_FAILED = -21

#: ``errmsg()`` of the original, verbatim including its typos ("recevice", "unkown").
ERROR_TEXTS: Dict[int, str] = {
    SUCCESS: "success",
    ERR_PARA_ERROR: "invalid parameter",
    ERR_SYSTEM_ERROR: "system error",
    ERR_INVALID_PKG: "invalid package",
    ERR_INVALID_PKG_HEAD: "invalid package header",
    ERR_INVALID_PKG_BODY: "invalid package body",
    ERR_INVALID_METHOD_NAME: "invalid method name",
    ERR_HEADER_UNINIT: "package header uninitialized",
    ERR_BODY_UNINIT: "package body uninitialized",
    ERR_NO_MEMORY: "no memory",
    ERR_TIMEOUT: "timeout",
    ERR_NETWORK: "network error",
    ERR_RECV_TIMEOUT: "recevice timeout",
    ERR_SEND_RECV_FAILED: "network sendrecv failed",
    ERR_INVALID_ENDPOINT: "invalid endpoint",
    ERR_GET_ROUTE_FAILED: "get route failed",
    ERR_INVALID_SEQUENCE: "invalid sequence",
    ERR_NO_BODY: "no package body",
    ERR_SERVICE_IMPL_FAILED: "service implement failed",
    ERR_BACKEND: "backend process failed, use GetErrText get more information",
    ERR_PHP_FAILED: "php error",
    ERR_PYTHON_FAILED: "python error",
}

UNKNOWN_ERROR_TEXT = "unkown error"


def errmsg(code: int) -> str:
    """The original's text for an SRPC code; ``"unkown error"`` for codes outside the table."""
    return ERROR_TEXTS.get(code, UNKNOWN_ERROR_TEXT)


class SrpcError(Exception):
    """A failed SRPC call or handler, carrying the SRPC code sent on the wire.

    Raise it from a handler to answer with a specific code; clients raise it
    for transport failures (-10/-12/-13/-15/-16) and for a server's ``err``.
    """

    def __init__(self, code: int, message: str = "") -> None:
        self.code = code
        self.message = message or errmsg(code)
        super().__init__(f"[{code}] {self.message}")
