"""Driver for test/interop/python-caller.test.ts: runs one command (JSON in argv[1]) with the
generated Python caller packages installed in a virtualenv and prints one JSON answer."""
import asyncio
import json
import sys
from typing import Any, Awaitable, Callable, Dict, List, TypeVar

import interop_echo
import reserved_words
import voa_crawl
from interop_echo import AsyncInteropServiceClient, EchoRequest, Everything, Inner, InteropServiceClient
from interop_echo.interop_pb2 import COLOUR_NEGATIVE, COLOUR_RED, COLOUR_UNKNOWN
from voa_crawl import AsyncCrawlServiceClient, AsyncMainLogicServiceClient, CrawlServiceClient, GetMP3ListRequest, MainLogicServiceClient
from voa_crawl.MainLogic_pb2 import DownloadMP3Request, GetTitlesRequest, GetUrlByTitleRequest

T = TypeVar("T")
#: Each generated package vendors its own runtime, so each has its own SrpcError class.
SrpcError = (voa_crawl.SrpcError, interop_echo.SrpcError, reserved_words.SrpcError)


def everything(name: str) -> Everything:
    zero = dict(req_int32=0, req_string="", req_bool=False, req_bytes=b"")
    if name == "zero":
        return Everything(**zero)
    if name != "full":
        raise ValueError(name)
    return Everything(
        **zero,
        f_double=3.141592653589793,
        f_float=1.5,
        f_int32=-2147483648,
        f_int64=-9223372036854775808,
        f_uint32=4294967295,
        f_uint64=18446744073709551615,
        f_sint32=-2147483648,
        f_sint64=-9223372036854775808,
        f_fixed32=4294967295,
        f_fixed64=18446744073709551615,
        f_sfixed32=-2147483648,
        f_sfixed64=9223372036854775807,
        f_bool=True,
        f_string="héllo 世界 🎉",
        f_bytes=bytes(range(256)),
        colour=COLOUR_NEGATIVE,
        inner=Inner(id=7, label="in", children=[Inner(id=8)]),
        r_int64=[9223372036854775807, -1, 0],
        r_string=["a", "", "ü"],
        r_inner=[Inner(id=0), Inner(id=1, label="one")],
        r_colour=[COLOUR_RED, COLOUR_UNKNOWN, COLOUR_NEGATIVE],
        r_packed=[-1, 0, 2147483647],
        m_string_int32={"a": 1, "": -1},
        m_int64_string={-9223372036854775808: "min", 9223372036854775807: "max"},
        m_uint32_inner={4294967295: Inner(id=3)},
        o_uint64=18446744073709551615,
    )


def outcome(call: Callable[[], Any]) -> Dict[str, Any]:
    try:
        return {"code": 0, "hex": call().SerializeToString().hex()}
    except SrpcError as e:
        return {"code": e.code, "message": e.message}


async def outcome_async(call: Callable[[], Awaitable[Any]]) -> Dict[str, Any]:
    try:
        return {"code": 0, "hex": (await call()).SerializeToString().hex()}
    except SrpcError as e:
        return {"code": e.code, "message": e.message}


def run(cmd: Dict[str, Any]) -> Any:
    op, service, mode = cmd["op"], cmd.get("service", ""), cmd.get("mode", "sync")
    timeout = cmd.get("timeout_ms", 10000)
    if op == "crawl":
        req = GetMP3ListRequest(type=cmd["type"])
        if mode == "sync":
            with CrawlServiceClient(service) as c:
                return outcome(lambda: c.get_mp3_list(req, timeout_ms=timeout))
        if mode == "future":  # the blocking client's futures: every type of the command in flight at once
            with CrawlServiceClient(service) as c:
                futures = [c.get_mp3_list_future(GetMP3ListRequest(type=t), timeout_ms=timeout) for t in cmd.get("types", [cmd["type"]])]
                outcomes = [outcome(f.result) for f in futures]
                return outcomes[0] if "types" not in cmd else outcomes

        async def crawl() -> Dict[str, Any]:
            async with AsyncCrawlServiceClient(service) as c:
                return await outcome_async(lambda: c.get_mp3_list(req, timeout_ms=timeout))
        return asyncio.run(crawl())
    if op == "mainlogic":
        request_type = {"get_titles": GetTitlesRequest, "get_url_by_title": GetUrlByTitleRequest, "download_mp3": DownloadMP3Request}[cmd["method"]]
        mreq = request_type(**cmd["request"])
        if mode == "sync":
            with MainLogicServiceClient(service) as m:
                return outcome(lambda: getattr(m, cmd["method"])(mreq, timeout_ms=timeout))

        async def mainlogic() -> Dict[str, Any]:
            async with AsyncMainLogicServiceClient(service) as m:
                return await outcome_async(lambda: getattr(m, cmd["method"])(mreq, timeout_ms=timeout))
        return asyncio.run(mainlogic())
    if op == "echo":
        ereq = EchoRequest() if cmd["value"] == "unset" else EchoRequest(value=everything(cmd["value"]))
        if "delay_ms" in cmd:
            ereq.delay_ms = cmd["delay_ms"]
        if mode == "sync":
            with InteropServiceClient(service) as i:
                return outcome(lambda: i.echo(ereq, timeout_ms=timeout))
        if mode == "future":
            with InteropServiceClient(service) as i:
                return outcome(i.echo_future(ereq, timeout_ms=timeout).result)

        async def echo() -> Dict[str, Any]:
            async with AsyncInteropServiceClient(service) as i:
                return await outcome_async(lambda: i.echo(ereq, timeout_ms=timeout))
        return asyncio.run(echo())
    if op == "callmethod":
        body = GetMP3ListRequest(type=cmd["type"]).SerializeToString()
        r = voa_crawl.CallMethod(service, cmd["method"], body, timeout)
        return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in r.items()}
    if op == "reserved":
        return reserved(service, mode)
    if op == "vectors":
        return vectors(cmd["dir"])
    raise ValueError(op)


def reserved(service: str, mode: str) -> Dict[str, Any]:
    """Every rpc of fixtures/edge/reserved_words.proto; keyword fields (`class`, `await`) set with **{…}."""
    from reserved_words import AsyncErrorClient, AsyncStringClient, ErrorClient, Function, Object, Promise, StringClient
    from reserved_words.reserved_words_pb2 import Symbol

    obj = Object(delete="", then="t", toString="ts", **{"class": "cls"})
    promise = Promise(**{"await": 41})
    fn = Function(symbol=Symbol.new)
    if mode == "sync":
        with ErrorClient(service) as e, StringClient(service) as s:
            out = [e.then(obj), e.constructor(promise), e.delete(fn), e.to_string(obj), e.service_(obj), s.catch(promise)]
    else:
        async def calls() -> List[Any]:
            async with AsyncErrorClient(service) as e, AsyncStringClient(service) as s:
                return [await e.then(obj), await e.constructor(promise), await e.delete(fn), await e.to_string(obj), await e.service_(obj), await s.catch(promise)]
        out = asyncio.run(calls())
    return {
        "hex": [m.SerializeToString().hex() for m in out],
        "class": getattr(out[4], "class"),
        "await": getattr(out[1], "await"),
        "members": sorted(n for n in dir(ErrorClient) if not n.startswith("_")),
    }


def vectors(directory: str) -> Dict[str, Any]:
    """The installed runtime's framing against fixtures/vectors (V1 frame and the V6 check table)."""
    from msec.frame import check_frame

    def load(name: str) -> Any:
        with open(f"{directory}/{name}", encoding="utf-8") as f:
            return json.load(f)

    v1 = load("v1-python-client-request.json")
    frame = voa_crawl.srpc_serialize(v1["method"], bytes.fromhex(v1["body_hex"]), int(v1["head"]["sequence"]))
    parsed = voa_crawl.srpc_deserialize(bytes.fromhex(v1["frame_hex"]))
    v6 = load("v6-check-pkg.json")
    return {
        "v1_frame_hex": frame.hex() if frame is not None else None,
        "v1_deserialized": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in parsed.items()},
        "check": [{"name": c["name"], "check": check_frame(bytes.fromhex(c["input_hex"])), "python_check": voa_crawl.srpc_check_pkg(bytes.fromhex(c["input_hex"]))} for c in v6["check"]],
        "packages": [interop_echo.__name__, voa_crawl.__name__],
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
