"""msec: the Python runtime of msec-gen (SRPC framing, clients, routing, server, MSEC's Python API).

The distribution ``msec-gen-runtime`` (runtimes/python in the msec-gen
repository): pure standard library plus ``protobuf>=4.21`` (only for message
encoding in :mod:`.handler`). Generated server and caller packages depend on
it by name and version; it also installs :mod:`msec_impl`, MSEC's Python API
under its original import name.
"""
from .client import DEFAULT_TIMEOUT_MS, AsyncClient, Client, new_sequence, request_head
from .color import color_id
from .config import get_config, parse_ini, read_config
from .context import CallScope, current_call, service_name, set_service_name
from .envelope import envelope_body, envelope_response
from .errors import ERROR_TEXTS, SrpcError, errmsg
from .frame import MAX_FRAME_SIZE, FrameDecoder, RpcHead, check_frame, decode_frame, decode_head, encode_frame, encode_head, split_frame
from .handler import BINARY, JSON, CallContext, Handler, MethodTable, decode_request, encode_response, message_to_json, typed_handler
from .log import DEBUG, ERROR, FATAL, INFO, NONE, TRACE, Logger, configure_log, log_debug, log_error, log_fatal, log_info, log_set_option, log_trace, reset_log
from .monitor import Monitor, attr_report, attr_set, default_monitor, monitor_add, monitor_set
from .msec_impl import CallMethod, call_method_async, getroute, srpc_check_pkg, srpc_deserialize, srpc_sendrcv, srpc_serialize, updateroute
from .route import Address, Balancer, Instance, Resolver, Router, RoutesFileError, RoutesFileResolver, StaticResolver, default_router, parse_address, parse_routes
from .server import DEFAULT_PORT, Server, ServerOptions, run_server
from .start import ConfigError, parse_listen, server_options_from_config, start_server
from .tcp import (
    TcpCallError,
    call_tcp,
    call_tcp_async,
    callmethod_tcp,
    callmethod_tcp_async,
    decode_length_prefixed_json,
    encode_length_prefixed_json,
    length_prefixed_json_complete,
)

__version__ = "0.1.0"

__all__ = [
    "Address", "AsyncClient", "BINARY", "Balancer", "CallContext", "CallMethod", "CallScope", "Client",
    "DEBUG", "DEFAULT_PORT", "DEFAULT_TIMEOUT_MS", "ERROR", "ERROR_TEXTS", "FATAL", "FrameDecoder", "Handler",
    "INFO", "Instance", "JSON", "Logger", "MAX_FRAME_SIZE", "MethodTable", "Monitor", "NONE", "Resolver",
    "Router", "RoutesFileError", "RoutesFileResolver", "RpcHead", "Server", "ServerOptions", "SrpcError",
    "StaticResolver", "TRACE", "TcpCallError", "attr_report", "attr_set", "call_method_async", "call_tcp",
    "call_tcp_async", "callmethod_tcp", "callmethod_tcp_async", "check_frame", "color_id", "configure_log",
    "current_call", "decode_frame", "decode_head", "decode_length_prefixed_json", "decode_request",
    "default_monitor", "default_router", "encode_frame", "encode_head", "encode_length_prefixed_json",
    "encode_response", "envelope_body", "envelope_response", "errmsg", "get_config", "getroute",
    "length_prefixed_json_complete", "log_debug", "log_error", "log_fatal", "log_info", "log_set_option",
    "log_trace", "message_to_json", "monitor_add", "monitor_set", "new_sequence", "parse_address",
    "parse_ini", "parse_routes", "read_config", "request_head", "reset_log", "run_server", "service_name",
    "set_service_name", "split_frame", "srpc_check_pkg", "srpc_deserialize", "srpc_sendrcv",
    "srpc_serialize", "updateroute", "ConfigError", "parse_listen", "server_options_from_config", "start_server", "typed_handler",
]
