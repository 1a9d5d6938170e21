"""Conformance runner of the Python caller (docs/caller-parity.md, "Runner protocol").

Reads one scenario from stdin, runs its steps in order through the generated
client of ``conformance_echo`` (installed with pip as its README says) on the
``msec`` runtime, and writes one JSON line per step. It checks nothing: the
harness compares.

``python runner.py``          the blocking ``ConformanceServiceClient`` (one shared ``Client``;
                              concurrent calls run on threads, a ``load`` step on futures)
``python runner.py --async``  the asyncio ``AsyncConformanceServiceClient`` (one shared ``AsyncClient``)

Routing is configured as a user's program does it — not at all: the runtime reads
the routes file from ``$MSEC_ROUTES`` and, when ``$MSEC_ETCD_ENDPOINTS`` is set,
resolves through etcd first (``msec.route.ConfiguredEtcdResolver``).
"""
import asyncio
import json
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional

from conformance_echo import AsyncConformanceServiceClient, ConformanceServiceClient, EchoReply, EchoRequest, SrpcError
from msec import AsyncClient, Client
from msec.route import Balancer, Instance, parse_address

Observation = Dict[str, Any]


def request_of(call: Dict[str, Any]) -> EchoRequest:
    return EchoRequest(text=call["text"], sleep_ms=call["sleep_ms"], fail_code=call["fail_code"], fail_message=call["fail_message"])


def observed(reply: EchoReply) -> Observation:
    return {"code": 0, "reply": {"text": reply.text, "instance": reply.instance, "peer": reply.peer, "deadline_ms": reply.deadline_ms}}


def write(observation: Observation) -> None:
    sys.stdout.write(json.dumps(observation) + "\n")
    sys.stdout.flush()


def tally(results: List[Observation]) -> Observation:
    codes: Dict[str, int] = {}
    instances: Dict[str, int] = {}
    ok = 0
    for r in results:
        if r["code"] == 0:
            ok += 1
            instances[r["reply"]["instance"]] = instances.get(r["reply"]["instance"], 0) + 1
        else:
            codes[str(r["code"])] = codes.get(str(r["code"]), 0) + 1
    return {"ok": ok, "codes": codes, "instances": instances}


def load_summary(latencies: List[float], errors: int, elapsed: float) -> Observation:
    latencies.sort()

    def at(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    return {"calls": len(latencies), "errors": errors, "seconds": elapsed, "p50_ms": at(0.5), "p99_ms": at(0.99)}


def balancer(step: Dict[str, Any]) -> Observation:
    """The runtime's NLB balancer on a scripted clock: state created at 0 ms, each event reported at its time."""
    now = [0.0]
    options = step.get("options") or {}
    kwargs: Dict[str, Any] = {}
    if "shapingRequestMin" in options:
        kwargs["shaping_request_min"] = options["shapingRequestMin"]
    b = Balancer(clock=lambda: now[0], rng=lambda n: 0, **kwargs)
    instances = []
    for i in step["instances"]:
        address = parse_address(i["addr"])
        if address is None:
            raise ValueError(f"balancer step: {i['addr']!r} is not ip:port")
        instances.append(Instance(address, i["weight"]))
    b.pick(step["service"], instances)
    for e in step["events"]:
        now[0] = e["at_ms"] / 1000.0
        address = parse_address(e["addr"])
        assert address is not None, e["addr"]
        b.update(step["service"], address, e["failed"], e["cost_ms"])
    return {"weights": [{"addr": f"{a.ip}:{a.port}", "weight": w, "dead": dead} for a, (w, dead) in b.weights(step["service"]).items()]}


class SyncRunner:
    """Steps through the blocking client: ``call``/``parallel``/``repeat`` on threads sharing one
    ``Client``, ``load`` with its futures from one thread."""

    def __init__(self) -> None:
        self.client = Client()

    def call(self, call: Dict[str, Any]) -> Observation:
        try:
            if "method" in call:
                body = self.client.call(call["service"], call["method"], request_of(call).SerializeToString(), call["timeout_ms"], retries=call["retries"])
                reply = EchoReply()
                reply.ParseFromString(body)
                return observed(reply)
            stub = ConformanceServiceClient(call["service"], client=self.client)
            return observed(stub.echo(request_of(call), timeout_ms=call["timeout_ms"], retries=call["retries"]))
        except SrpcError as e:
            return {"code": e.code, "message": e.message}

    def parallel(self, calls: List[Dict[str, Any]]) -> List[Observation]:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(self.call, calls))

    def repeat(self, count: int, concurrency: int, call: Dict[str, Any]) -> Observation:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return tally(list(pool.map(lambda _: self.call(call), range(count))))

    def load(self, seconds: float, concurrency: int, call: Dict[str, Any]) -> Observation:
        """Keeps ``concurrency`` calls in flight for ``seconds`` from this one thread with the typed
        client's futures (``echo_future``): each reply's callback (on the runtime's reader thread)
        records its latency and makes the next call. The stub and the request are built once, as
        a program making many calls holds them; the raw ``method`` form is not used by load steps."""
        stub = ConformanceServiceClient(call["service"], client=self.client, timeout_ms=call["timeout_ms"], retries=call["retries"])
        request = request_of(call)
        clock = time.monotonic
        latencies: List[float] = []
        errors = [0]
        lock = threading.Lock()  # callbacks run on the reader and, at deadlines, the deadline thread
        finished = threading.Event()
        running = [concurrency]
        started = clock()
        end = started + seconds

        def issue() -> None:
            t = clock()
            stub.echo_future(request).add_done_callback(lambda f: done(f, t))

        def done(f: "Future[EchoReply]", t: float) -> None:
            now = clock()
            failed = f.exception() is not None
            with lock:
                latencies.append((now - t) * 1000)
                if failed:
                    errors[0] += 1
                if now >= end:
                    running[0] -= 1
                    if running[0] == 0:
                        finished.set()
                    return
            issue()

        for _ in range(concurrency):
            issue()
        finished.wait()
        return load_summary(latencies, errors[0], clock() - started)

    def close(self) -> None:
        self.client.close()


class AsyncRunner:
    """Steps through the asyncio client; concurrency as tasks sharing one ``AsyncClient``."""

    def __init__(self) -> None:
        self.client = AsyncClient()

    async def call(self, call: Dict[str, Any]) -> Observation:
        try:
            if "method" in call:
                body = await self.client.call(call["service"], call["method"], request_of(call).SerializeToString(), call["timeout_ms"], retries=call["retries"])
                reply = EchoReply()
                reply.ParseFromString(body)
                return observed(reply)
            stub = AsyncConformanceServiceClient(call["service"], client=self.client)
            return observed(await stub.echo(request_of(call), timeout_ms=call["timeout_ms"], retries=call["retries"]))
        except SrpcError as e:
            return {"code": e.code, "message": e.message}

    async def parallel(self, calls: List[Dict[str, Any]]) -> List[Observation]:
        return list(await asyncio.gather(*(self.call(c) for c in calls)))

    async def repeat(self, count: int, concurrency: int, call: Dict[str, Any]) -> Observation:
        results: List[Observation] = []
        left = [count]

        async def worker() -> None:
            while left[0] > 0:
                left[0] -= 1
                results.append(await self.call(call))

        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
        return tally(results)

    async def load(self, seconds: float, concurrency: int, call: Dict[str, Any]) -> Observation:
        loop = asyncio.get_running_loop()
        started = loop.time()
        end = started + seconds
        latencies: List[float] = []
        errors = [0]

        async def worker() -> None:
            while loop.time() < end:
                t = loop.time()
                r = await self.call(call)
                latencies.append((loop.time() - t) * 1000)
                if r["code"] != 0:
                    errors[0] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return load_summary(latencies, errors[0], loop.time() - started)

    async def close(self) -> None:
        await self.client.close()


def common_step(i: int, step: Dict[str, Any], wait_ack: Callable[[], None]) -> Optional[Observation]:
    """Steps that do not call a service; ``None`` for the call steps."""
    op = step["op"]
    if op == "balancer":
        return {"step": i, **balancer(step)}
    if op == "write_file":
        with open(step["path"], "w", encoding="utf-8") as f:
            f.write(step["content"])
        return {"step": i}
    if op == "notify":
        write({"step": i, "event": step["event"]})
        wait_ack()
        return None
    return None


def main() -> None:
    first = sys.stdin.readline()
    if not first:
        raise RuntimeError("no scenario on stdin")
    scenario = json.loads(first)["scenario"]

    def wait_ack() -> None:
        if not sys.stdin.readline():
            raise RuntimeError("stdin closed while waiting for a notify ack")

    if "--async" in sys.argv[1:]:
        asyncio.run(run_async(scenario["steps"], wait_ack))
    else:
        run_sync(scenario["steps"], wait_ack)


def run_sync(steps: List[Dict[str, Any]], wait_ack: Callable[[], None]) -> None:
    runner = SyncRunner()
    for i, step in enumerate(steps):
        op = step["op"]
        if op == "call":
            write({"step": i, **runner.call(step)})
        elif op == "parallel":
            write({"step": i, "results": runner.parallel(step["calls"])})
        elif op == "repeat":
            write({"step": i, **runner.repeat(step["count"], step["concurrency"], step["call"])})
        elif op == "load":
            write({"step": i, **runner.load(step["seconds"], step["concurrency"], step["call"])})
        elif op == "sleep":
            time.sleep(step["ms"] / 1000.0)
            write({"step": i})
        else:
            run_common(i, step, wait_ack)
    runner.close()


async def run_async(steps: List[Dict[str, Any]], wait_ack: Callable[[], None]) -> None:
    runner = AsyncRunner()
    for i, step in enumerate(steps):
        op = step["op"]
        if op == "call":
            write({"step": i, **(await runner.call(step))})
        elif op == "parallel":
            write({"step": i, "results": await runner.parallel(step["calls"])})
        elif op == "repeat":
            write({"step": i, **(await runner.repeat(step["count"], step["concurrency"], step["call"]))})
        elif op == "load":
            write({"step": i, **(await runner.load(step["seconds"], step["concurrency"], step["call"]))})
        elif op == "sleep":
            await asyncio.sleep(step["ms"] / 1000.0)
            write({"step": i})
        elif op == "notify":
            write({"step": i, "event": step["event"]})
            await asyncio.get_running_loop().run_in_executor(None, wait_ack)
        else:
            run_common(i, step, wait_ack)
    await runner.close()


def run_common(i: int, step: Dict[str, Any], wait_ack: Callable[[], None]) -> None:
    if step["op"] not in ("balancer", "write_file", "notify"):
        raise ValueError(f"unknown op {step['op']!r}")
    observation = common_step(i, step, wait_ack)
    if observation is not None:
        write(observation)


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # a crash: non-zero exit with the reason on stderr
        import traceback

        traceback.print_exc()
        sys.stderr.write(f"conformance runner (python): {exc}\n")
        sys.exit(1)
