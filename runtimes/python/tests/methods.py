"""Method tables used by the server and client tests."""
import asyncio
import json
import threading
import time
from typing import Any

from msec import CallContext, CallMethod, SrpcError, current_call


def _value(body: Any, ctx: CallContext) -> Any:
    return json.loads(body) if ctx.format == "json" else body


async def echo(body: Any, ctx: CallContext) -> Any:
    return _value(body, ctx)


def sync_echo(body: Any, ctx: CallContext) -> Any:
    """Plain def: runs in the thread pool and still sees the current call."""
    scope = current_call()
    info = {"thread": threading.current_thread().name, "flow_id": scope.flow_id if scope else None}
    if ctx.format == "json":
        return {"got": json.loads(body), **info}
    return body + b"|" + json.dumps(info).encode()


async def slow(body: Any, ctx: CallContext) -> Any:
    """Sleeps the number of milliseconds given as the body (binary) or {"ms": n} (JSON)."""
    ms = json.loads(body)["ms"] if ctx.format == "json" else int(body or b"0")
    await asyncio.sleep(ms / 1000)
    return {"slept": ms} if ctx.format == "json" else str(ms).encode()


#: Plain-def handlers meet here; only handlers running at the same time can all pass it.
BARRIER = threading.Barrier(8, timeout=20)


def rendezvous(body: Any, ctx: CallContext) -> Any:
    BARRIER.wait()
    return body


def blocking_slow(body: Any, ctx: CallContext) -> Any:
    time.sleep(int(body) / 1000)
    return body


async def fail(body: Any, ctx: CallContext) -> Any:
    raise SrpcError(-77, "business says no")


async def crash(body: Any, ctx: CallContext) -> Any:
    raise RuntimeError("bug in handler")


async def text(body: Any, ctx: CallContext) -> Any:
    """Returns JSON text as MSEC handlers did (json.dumps); the runtime re-writes it with MSEC separators."""
    return json.dumps({"a": [1, 2], "b": "ü"})


async def who(body: Any, ctx: CallContext) -> Any:
    info = {"peer": ctx.peer, "caller": ctx.caller, "flow_id": ctx.flow_id, "coloring": ctx.coloring, "format": ctx.format}
    return info if ctx.format == "json" else json.dumps(info).encode()


def forward(body: Any, ctx: CallContext) -> Any:
    """Calls ``t.S.Who`` on the address given in the body, with MSEC's CallMethod."""
    target = body.decode() if isinstance(body, bytes) else json.loads(body)["to"]
    result = CallMethod(target, "t.S.Who", b"", 2000)
    if result["ret"] != 0:
        raise SrpcError(result["ret"], result["errmsg"])
    return result["response"]


METHODS = {
    "t.S.Echo": echo,
    "t.S.SyncEcho": sync_echo,
    "t.S.Slow": slow,
    "t.S.BlockingSlow": blocking_slow,
    "t.S.Rendezvous": rendezvous,
    "t.S.Fail": fail,
    "t.S.Crash": crash,
    "t.S.Text": text,
    "t.S.Who": who,
    "t.S.Forward": forward,
}
