#!/usr/bin/env python3
"""The explorer tests' Python server: the twin of explorer-server.ts.

``shop.OrderService`` (test/browser/explorer.proto) with handlers that need no generated
code: ``Place`` answers a receipt carrying the JSON body exactly as it arrived and the
caller header, ``Cancel`` always fails with -18.

    python3 test/browser/explorer_server.py --port N [--openapi FILE]

Without ``--openapi`` the server has no OpenAPI document (``/openapi.json`` is 404).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "runtimes", "python", "src"))

from msec import CallContext, SrpcError, start_server  # noqa: E402

ERR_INVALID_PKG = -3
ERR_SERVICE_IMPL_FAILED = -18


async def place(body: "bytes | str", ctx: CallContext) -> object:
    """A receipt with the order's id and the body as received."""
    if ctx.format != "json" or not isinstance(body, str):
        raise SrpcError(ERR_INVALID_PKG, "this test server answers JSON calls only")
    try:
        order = json.loads(body)
    except ValueError as exc:
        raise SrpcError(ERR_INVALID_PKG) from exc
    order_id = order.get("id", "0") if isinstance(order, dict) else "0"
    return {"id": str(order_id), "received": body, "caller": ctx.caller}


async def cancel(body: "bytes | str", ctx: CallContext) -> object:
    """Always -18, as a handler that fails."""
    raise SrpcError(ERR_SERVICE_IMPL_FAILED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--openapi", help="OpenAPI document to serve at /openapi.json")
    args = parser.parse_args()
    overrides = {"host": "127.0.0.1", "port": args.port, "udp": False}
    if args.openapi is not None:
        with open(args.openapi, encoding="utf-8") as f:
            overrides["openapi"] = f.read()
    methods = {"shop.OrderService.Place": place, "shop.OrderService.Cancel": cancel}
    start_server(methods, config_path=os.devnull, service_name="shop.OrderService", overrides=overrides)


if __name__ == "__main__":
    main()
