#!/usr/bin/env python3
"""The echo server on the Python runtime: the twin of the TypeScript echo server.

Serves ``echo.EchoService.Echo`` (fixtures/echo/echo.proto) over SRPC (TCP and
UDP) and HTTP/JSON on one port. Prints the JSON startup line (``"msg":"listening on <host>:<port> (tcp+udp)"``)
once bound, like the TypeScript echo server; SIGTERM/SIGINT drain and exit. Serves
examples/echo/openapi.json at ``GET /openapi.json`` and the API explorer at ``GET /explorer``.

    python3 examples/echo/python/echo_server.py --port 7963
    npm run echo-server -- --lang python --port 7963
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "runtimes", "python", "src"))

import echo_pb2  # noqa: E402
from msec import CallContext, SrpcError, decode_request, encode_response, start_server  # noqa: E402


async def echo(body: "bytes | str", ctx: CallContext) -> object:
    """Answers with the request's message, unchanged."""
    try:
        request = decode_request(echo_pb2.EchoRequest, body, ctx)
    except SrpcError as exc:
        # MSEC's own text for the code, as the TS echo server answers (the V8 vectors expect it).
        raise SrpcError(exc.code) from exc
    response = echo_pb2.EchoResponse()
    if request.HasField("message"):
        response.message = request.message
    return encode_response(response, ctx)


METHODS = {"echo.EchoService.Echo": echo}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="TCP and UDP port (default 7963 or [SRPC] listen; 0 picks a free one)")
    parser.add_argument("--host", help="listen address (default 0.0.0.0 or [SRPC] listen)")
    parser.add_argument("--no-udp", action="store_true", help="TCP only")
    parser.add_argument("--workers", help="worker processes on the port: a whole number or auto (default 1 or [SRPC] workers)")
    parser.add_argument("--config", help="INI config ([SRPC] listen and limits, [LOG], [COLOR], [ROUTE]); default etc/config.ini")
    args = parser.parse_args()
    # The JSON mode's OpenAPI document (msec-gen openapi fixtures/echo/echo.proto), served at GET /openapi.json.
    with open(os.path.join(HERE, "..", "openapi.json"), encoding="utf-8") as f:
        overrides = {"openapi": f.read()}
    if args.port is not None:
        overrides["port"] = args.port
    if args.host is not None:
        overrides["host"] = args.host
    if args.no_udp:
        overrides["udp"] = False
    if args.workers is not None:
        overrides["workers"] = args.workers
    start_server(METHODS, config_path=args.config, service_name="echo.EchoService", overrides=overrides)


if __name__ == "__main__":
    main()
