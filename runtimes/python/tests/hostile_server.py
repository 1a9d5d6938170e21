#!/usr/bin/env python3
"""A server process for the hostile-client tests: raw echo, slow calls, and a descriptor hog.

    python3 hostile_server.py [--config etc/config.ini]   # prints the JSON startup line ("msg":"listening on 127.0.0.1:<port> (tcp+udp)")

* ``test.Raw.Echo``: answers the request body (binary) or the JSON value (HTTP);
* ``test.Slow.Sleep``: sleeps the body's milliseconds on the event loop;
* ``test.Slow.Block``: sleeps the body's milliseconds in a handler thread;
* ``test.Crash.TaskExit``: starts a task that raises ``SystemExit``, answers ``ok``;
* ``test.Fds.Hog`` / ``test.Fds.Free``: opens ``/dev/null`` as many times as the body says / closes them.
"""
import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from msec import CallContext, start_server  # noqa: E402

_hogged: List[int] = []


async def echo(body: Any, ctx: CallContext) -> Any:
    return json.loads(body) if ctx.format == "json" else body


async def sleep(body: Any, ctx: CallContext) -> Any:
    await asyncio.sleep(int(body or b"0") / 1000)
    return b"slept"


async def task_exit(body: Any, ctx: CallContext) -> Any:
    async def leave() -> None:
        raise SystemExit(5)

    asyncio.ensure_future(leave())  # a task of its own: asyncio lets SystemExit out of the loop
    await asyncio.sleep(0.05)
    return b"ok"


def block(body: Any, ctx: CallContext) -> Any:
    time.sleep(int(body or b"0") / 1000)
    return b"blocked"


def hog(body: Any, ctx: CallContext) -> Any:
    for _ in range(int(body)):
        try:
            _hogged.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            break
    return str(len(_hogged)).encode()


def free(body: Any, ctx: CallContext) -> Any:
    while _hogged:
        os.close(_hogged.pop())
    return b"0"


METHODS = {"test.Raw.Echo": echo, "test.Slow.Sleep": sleep, "test.Slow.Block": block, "test.Crash.TaskExit": task_exit, "test.Fds.Hog": hog, "test.Fds.Free": free}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    args = parser.parse_args()
    start_server(METHODS, config_path=args.config, overrides={"host": "127.0.0.1", "port": 0})
