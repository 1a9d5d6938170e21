#!/usr/bin/env python3
"""The Python target of the hostile suite: the twin of hostile-server.ts.

Serves ``echo.EchoService.Echo`` (fixtures/echo/echo.proto) and
``hostile.HostileService.Sleep`` on runtimes/python/src, configured only from
the ``etc/config.ini`` the test writes::

    python3 test/hostile/servers/hostile_server.py --config DIR/etc/config.ini

Prints its JSON startup line (``"msg":"listening on <host>:<port> (tcp+udp)"``) once bound; SIGTERM drains and exits.
"""
import argparse
import asyncio
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(REPO, "examples", "echo", "python"))
sys.path.insert(0, os.path.join(REPO, "runtimes", "python", "src"))

import echo_pb2  # noqa: E402
from msec import CallContext, decode_request, encode_response, start_server  # noqa: E402

#: Sleep calls running now, and the most ever running at once in this process.
_running = 0
_peak = 0


async def echo(body: "bytes | str", ctx: CallContext) -> object:
    """Answers with the request's message, unchanged."""
    request = decode_request(echo_pb2.EchoRequest, body, ctx)
    response = echo_pb2.EchoResponse()
    if request.HasField("message"):
        response.message = request.message
    return encode_response(response, ctx)


async def sleep(body: "bytes | str", ctx: CallContext) -> object:
    """Sleeps for the milliseconds written in ASCII in the message, then answers the
    peak number of Sleep calls that ran at once (ASCII): the suite reads the
    server's real concurrency from it."""
    global _running, _peak
    request = decode_request(echo_pb2.EchoRequest, body, ctx)
    ms = int(request.message.decode("latin-1") or "0")
    _running += 1
    _peak = max(_peak, _running)
    try:
        await asyncio.sleep(ms / 1000.0)
    finally:
        _running -= 1
    return encode_response(echo_pb2.EchoResponse(message=str(_peak).encode()), ctx)


METHODS = {"echo.EchoService.Echo": echo, "hostile.HostileService.Sleep": sleep}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="INI config; default etc/config.ini")
    args = parser.parse_args()
    start_server(METHODS, config_path=args.config, service_name="hostile.HostileService")


if __name__ == "__main__":
    main()
