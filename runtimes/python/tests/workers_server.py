"""A service started with ``start_server`` for the worker tests:
``python3 tests/workers_server.py <config.ini>`` (the config names ``[SRPC] workers``).

Serves ``echo.EchoService.Echo`` plus ``test.Workers.Pid`` (answers the serving process's pid:
JSON ``{"pid": N}``, binary the pid as decimal text) and ``test.Workers.Slow`` (answers
``{"slept": ms}`` after ``ms`` milliseconds, from the JSON body ``{"ms": N}``; prints
``slow call started`` on stdout when it begins). With ``$WORKERS_TEST_CHDIR`` it first changes
to that folder, as a generated ``main.py`` does.
"""
import asyncio
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "examples", "echo", "python"))

from echo_server import METHODS  # noqa: E402
from msec import CallContext, start_server  # noqa: E402


def pid(body: "bytes | str", ctx: CallContext) -> object:
    return {"pid": os.getpid()} if isinstance(body, str) else str(os.getpid()).encode()


async def slow(body: "bytes | str", ctx: CallContext) -> object:
    ms = json.loads(body)["ms"] if isinstance(body, str) else 0
    print("slow call started", flush=True)
    await asyncio.sleep(ms / 1000)
    return {"slept": ms}


if __name__ == "__main__":
    config = os.path.abspath(sys.argv[1])
    if os.environ.get("WORKERS_TEST_CHDIR"):
        os.chdir(os.environ["WORKERS_TEST_CHDIR"])  # as a generated main.py moves to its own folder
    start_server(dict(METHODS, **{"test.Workers.Pid": pid, "test.Workers.Slow": slow}), config_path=config, service_name="test.Workers")
