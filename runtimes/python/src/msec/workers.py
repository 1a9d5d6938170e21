"""``[SRPC] workers=N``: one service instance served by N worker processes on the same port.

How: the main process binds the TCP listening socket and the UDP socket once and starts N
workers that inherit both (``pass_fds``), so every worker accepts from the one TCP queue and
reads the one UDP socket; the kernel gives each connection and each datagram to one of the
processes waiting on it. This is the pre-fork model, chosen over ``SO_REUSEPORT`` because a
connection waiting in the queue of a worker that dies is not lost (with ``SO_REUSEPORT`` each
worker owns a queue, reset with it), and because port 0 needs no agreement between workers.

The workers are not ``fork()`` copies: each is a fresh interpreter running the same command
line (``sys.orig_argv``) with ``MSEC_WORKER`` set, the way node:cluster starts its workers, so
no thread or lock of the main process (the etcd lease renewal runs in a thread) is copied
into a worker, and a worker starts exactly as the single-process server does.

The main process serves no calls. It prints the ``listening on …`` line once all workers
listen, registers the instance in etcd once (:func:`~msec.start.start_server` does, the
workers do not), restarts a worker that exits (backoff doubling from 0.1 s to 10 s, reset once
a worker has run 10 s; logged), gathers ``/metrics`` — a worker asked for it sends a request up
its control socket, the main process collects every live worker's own text, sums it
(:func:`aggregate_metrics`) and adds ``msec_workers`` — and on SIGTERM/SIGINT closes its copy
of the sockets and sends SIGTERM to every worker (each stops accepting, finishes its calls and
exits 0), then returns. A worker whose main process is gone drains and exits too.

Control messages are JSON lines over a socket pair per worker: ``listening``, ``request`` and
``text`` (worker → main), ``collect`` and ``answer`` (main → worker).
"""
import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .log import ERROR, INFO, write_log

#: The environment variable a worker is started with: ``index:tcp_fd:udp_fd:control_fd``.
WORKER_ENV = "MSEC_WORKER"
#: Most workers accepted (a typo guard: each worker is a whole process).
MAX_WORKERS = 256
FIRST_RESTART_DELAY_S = 0.1
MAX_RESTART_DELAY_S = 10.0
#: A worker that ran this long before exiting resets the backoff.
STABLE_AFTER_S = 10.0
#: How long the main process waits for the workers' metrics before answering with those that came.
COLLECT_TIMEOUT_S = 2.0
#: Extra time the main process gives workers past their drain before it kills them.
DRAIN_GRACE_S = 5.0


def parse_workers(value: Optional[str], key: str = "[SRPC] workers") -> int:
    """``[SRPC] workers``: a whole number 1…256, or ``auto`` (the CPUs this process may run on);
    absent or empty: 1. Anything else raises ``ValueError`` naming ``key``."""
    if value is None or value.strip() == "":
        return 1
    text = value.strip()
    if text == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = int(text) if re.fullmatch(r"\d+", text) else 0
    if not 1 <= n <= MAX_WORKERS:
        raise ValueError(f'{key}: want a whole number from 1 to {MAX_WORKERS} or "auto", got "{value}"')
    return n


# ----------------------------------------------------------------------------- metrics


def _parse_sample(line: str) -> Optional[Tuple[str, float]]:
    """``name{labels} value [timestamp]`` → (series key, value); None for anything else."""
    brace = line.find("{")
    close = line.rfind("}") if brace >= 0 else -1
    key_end = close + 1 if close >= 0 else line.find(" ")
    if key_end <= 0:
        return None
    rest = line[key_end:].split()
    if not rest:
        return None
    try:
        return line[:key_end], float(rest[0])  # float() reads +Inf, -Inf and NaN as Prometheus writes them
    except ValueError:
        return None


def _format_value(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    if value == float("-inf"):
        return "-Inf"
    if value != value:
        return "NaN"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


#: Gauges of one process that a sum would make meaningless, and how they combine instead: the
#: oldest worker's start, the largest fd limit (as the TS runtime's metrics-aggregate.ts).
_NOT_SUMMED: Dict[str, Callable[[float, float], float]] = {
    "process_start_time_seconds": min,
    "process_max_fds": max,
}


@dataclass
class _Family:
    comments: List[str] = field(default_factory=list)
    keys: List[str] = field(default_factory=list)
    values: Dict[str, float] = field(default_factory=dict)


def aggregate_metrics(texts: List[str]) -> str:
    """The sum of several Prometheus text expositions (one per worker).

    Generic over names: samples with the same name and labels (the series key as written) are
    added whatever their type (except the per-process gauges of ``_NOT_SUMMED``), each family's ``# HELP``/``# TYPE`` lines are kept once, families
    keep the order they first appear in, and a series only some workers have is placed after the
    series that precedes it in that worker's text (histogram buckets stay grouped and ordered).
    """
    families: Dict[str, _Family] = {}
    for text in texts:
        current: Optional[str] = None
        last_key: Dict[str, str] = {}
        for raw in text.split("\n"):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                m = re.match(r"#\s+(HELP|TYPE)\s+(\S+)", line)
                if m is None:
                    continue
                current = m.group(2)
                family = families.setdefault(current, _Family())
                if line not in family.comments:
                    family.comments.append(line)
                continue
            sample = _parse_sample(line)
            if sample is None:
                continue
            key, value = sample
            name = key.split("{", 1)[0]
            family_name = current if current is not None and name.startswith(current) else name
            family = families.setdefault(family_name, _Family())
            if key in family.values:
                combine = _NOT_SUMMED.get(name)
                family.values[key] = combine(family.values[key], value) if combine else family.values[key] + value
            else:
                after = last_key.get(family_name)
                family.keys.insert(0 if after is None else family.keys.index(after) + 1, key)
                family.values[key] = value
            last_key[family_name] = key
    lines: List[str] = []
    for family in families.values():
        lines.extend(family.comments)
        lines.extend(f"{key} {_format_value(family.values[key])}" for key in family.keys)
    return "\n".join(lines) + "\n" if lines else ""


def workers_gauge(workers: int) -> str:
    """The ``msec_workers`` gauge added to an instance's aggregate."""
    return (
        "# HELP msec_workers Worker processes serving this instance ([SRPC] workers).\n"
        "# TYPE msec_workers gauge\n"
        f"msec_workers {workers}\n"
    )


# ----------------------------------------------------------------------------- the worker's side


@dataclass
class WorkerSetup:
    """What ``MSEC_WORKER`` gives a worker."""

    index: int
    tcp_fd: int
    udp_fd: int
    control_fd: int


def worker_setup() -> Optional[WorkerSetup]:
    """This process's worker setup; None unless it was started by :func:`run_worker_group`."""
    value = os.environ.get(WORKER_ENV)
    if not value:
        return None
    index, tcp_fd, udp_fd, control_fd = (int(part) for part in value.split(":"))
    # A worker's own children (a handler starting a tool) are not workers.
    del os.environ[WORKER_ENV]
    return WorkerSetup(index, tcp_fd, udp_fd, control_fd)


class WorkerLink:
    """A worker's control channel: says it listens, answers collection, asks for the instance's metrics."""

    def __init__(self, control_fd: int) -> None:
        self._sock = socket.socket(fileno=control_fd)
        self._writer: Optional[asyncio.StreamWriter] = None
        self._waiting: Dict[int, "asyncio.Future[str]"] = {}
        self._next_id = 1

    async def attach(self, own_metrics: Callable[[], str], drain: Callable[[], None]) -> None:
        """Starts serving the channel; ``drain`` runs when the main process is gone."""
        reader, self._writer = await asyncio.open_connection(sock=self._sock)
        asyncio.ensure_future(self._read(reader, own_metrics, drain))

    def _send(self, message: Dict[str, Any]) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write((json.dumps(message) + "\n").encode("utf-8"))

    async def _read(self, reader: asyncio.StreamReader, own_metrics: Callable[[], str], drain: Callable[[], None]) -> None:
        while True:
            try:
                line = await reader.readline()
            except (OSError, ValueError):
                line = b""
            if not line:
                drain()  # the main process is gone: nobody restarts or aggregates for this worker
                return
            message = json.loads(line)
            if message["t"] == "collect":
                self._send({"t": "text", "id": message["id"], "text": own_metrics()})
            elif message["t"] == "answer":
                waiter = self._waiting.pop(message["id"], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message["text"])

    def listening(self, port: int) -> None:
        self._send({"t": "listening", "port": port})

    def instance_metrics_source(self, own_metrics: Callable[[], str]) -> Callable[[], "asyncio.Future[str]"]:
        """What ``GET /metrics`` awaits in a worker: the instance's sum (this worker's own text
        should the main process not answer)."""

        def source() -> "asyncio.Future[str]":
            request_id = self._next_id
            self._next_id += 1
            waiter: "asyncio.Future[str]" = asyncio.get_running_loop().create_future()
            self._waiting[request_id] = waiter
            self._send({"t": "request", "id": request_id})

            async def wait() -> str:
                try:
                    return await asyncio.wait_for(waiter, COLLECT_TIMEOUT_S * 2)
                except asyncio.TimeoutError:
                    self._waiting.pop(request_id, None)
                    return own_metrics()

            return asyncio.ensure_future(wait())

        return source


# ----------------------------------------------------------------------------- the main process


@dataclass
class _Worker:
    index: int
    process: "asyncio.subprocess.Process"
    writer: asyncio.StreamWriter
    started_at: float
    listening: bool = False


@dataclass
class _Collection:
    asker: _Worker
    asker_id: int
    pending: Set[int]
    texts: List[str]
    timer: Optional[asyncio.TimerHandle] = None


def _bind(host: str, port: int, udp: bool) -> Tuple[socket.socket, Optional[socket.socket]]:
    """The instance's listening TCP socket and its UDP twin (port 0: a port free for both)."""
    from .server import _listening_socket  # the single-process server binds the same way

    for attempt in range(20 if port == 0 else 1):
        tcp = _listening_socket(host, port)
        if not udp:
            return tcp, None
        bound = int(tcp.getsockname()[1])
        dgram = socket.socket(tcp.family, socket.SOCK_DGRAM)
        try:
            dgram.bind((host, bound))
            return tcp, dgram
        except OSError:
            dgram.close()
            tcp.close()
            if attempt == (19 if port == 0 else 0):
                raise
    raise AssertionError("unreachable")


def worker_command() -> List[str]:
    """This process's command line for a worker: the interpreter, its options and the program's
    arguments as given (``sys.orig_argv``), with a script's path made absolute — a program may
    change its working directory before it starts serving (a generated ``main.py`` does)."""
    command = [sys.executable, *sys.orig_argv[1:]]
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    at = len(command) - len(sys.argv)
    if getattr(main, "__spec__", None) is None and script and 0 < at and command[at] == sys.argv[0]:
        command[at] = os.path.abspath(script)
    return command


class WorkerGroup:
    """The main process's side: starts, restarts, drains the workers and sums their metrics."""

    def __init__(self, count: int, host: str, port: int, udp: bool, drain_timeout_s: float) -> None:
        self.count = count
        self.drain_timeout_s = drain_timeout_s
        self.tcp, self.udp = _bind(host, port, udp)
        self.port = int(self.tcp.getsockname()[1])
        self.workers: Dict[int, _Worker] = {}  # by pid
        self.stopping = False
        self._restart_delay = FIRST_RESTART_DELAY_S
        self._collections: Dict[int, _Collection] = {}
        self._next_collection = 1
        self._all_listening: Optional["asyncio.Future[None]"] = None
        self._failed: Optional[BaseException] = None
        self._exits: List["asyncio.Task[None]"] = []

    async def _spawn(self, index: int) -> _Worker:
        ours, theirs = socket.socketpair()
        udp_fd = self.udp.fileno() if self.udp is not None else -1
        fds = [self.tcp.fileno(), theirs.fileno()] + ([udp_fd] if udp_fd >= 0 else [])
        env = dict(os.environ)
        env[WORKER_ENV] = f"{index}:{self.tcp.fileno()}:{udp_fd}:{theirs.fileno()}"
        process = await asyncio.create_subprocess_exec(*worker_command(), pass_fds=fds, env=env)
        theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours)
        worker = _Worker(index, process, writer, time.monotonic())
        self.workers[process.pid] = worker
        asyncio.ensure_future(self._read(worker, reader))
        self._exits.append(asyncio.ensure_future(self._watch(worker)))
        return worker

    def _send(self, worker: _Worker, message: Dict[str, Any]) -> None:
        if not worker.writer.is_closing():
            worker.writer.write((json.dumps(message) + "\n").encode("utf-8"))

    async def _read(self, worker: _Worker, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except (OSError, ValueError):
                return
            if not line:
                return
            message = json.loads(line)
            kind = message["t"]
            if kind == "listening":
                worker.listening = True
                if self._all_listening is not None and not self._all_listening.done():
                    if sum(1 for w in self.workers.values() if w.listening) == self.count:
                        self._all_listening.set_result(None)
            elif kind == "request":
                self._collect(worker, message["id"])
            elif kind == "text":
                collection = self._collections.get(message["id"])
                if collection is not None and worker.process.pid in collection.pending:
                    collection.pending.discard(worker.process.pid)
                    collection.texts.append(message["text"])
                    if not collection.pending:
                        self._answer(message["id"])

    def _collect(self, asker: _Worker, asker_id: int) -> None:
        collection_id = self._next_collection
        self._next_collection += 1
        # A worker still starting has nothing to count yet.
        collection = _Collection(asker, asker_id, {pid for pid, w in self.workers.items() if w.listening}, [])
        self._collections[collection_id] = collection
        collection.timer = asyncio.get_running_loop().call_later(COLLECT_TIMEOUT_S, self._answer, collection_id)
        for pid in collection.pending:
            self._send(self.workers[pid], {"t": "collect", "id": collection_id})
        if not collection.pending:
            self._answer(collection_id)

    def _answer(self, collection_id: int) -> None:
        collection = self._collections.pop(collection_id, None)
        if collection is None:
            return
        if collection.timer is not None:
            collection.timer.cancel()
        text = aggregate_metrics(collection.texts) + workers_gauge(len(self.workers))
        self._send(collection.asker, {"t": "answer", "id": collection.asker_id, "text": text})

    async def _watch(self, worker: _Worker) -> None:
        code = await worker.process.wait()
        pid = worker.process.pid
        self.workers.pop(pid, None)
        worker.writer.close()
        for collection_id, collection in list(self._collections.items()):
            collection.pending.discard(pid)
            if not collection.pending:
                self._answer(collection_id)
        if self._all_listening is not None and not self._all_listening.done():
            # A worker that cannot start (bad config, a handler module failing to import) will not on retry.
            self._failed = RuntimeError(f"worker process {pid} exited ({_describe(code)}) before listening")
            self._all_listening.set_result(None)
            return
        if self.stopping:
            return
        ran_s = time.monotonic() - worker.started_at
        if ran_s >= STABLE_AFTER_S:
            self._restart_delay = FIRST_RESTART_DELAY_S
        delay = self._restart_delay
        self._restart_delay = min(self._restart_delay * 2, MAX_RESTART_DELAY_S)
        write_log(
            ERROR,
            "worker process exited; restarting it",
            {"pid": pid, "exit": _describe(code), "restartInS": delay, "workersServing": len(self.workers)},
        )
        await asyncio.sleep(delay)
        if not self.stopping:
            replacement = await self._spawn(worker.index)
            write_log(INFO, "worker process restarted", {"pid": replacement.process.pid})

    async def start(self) -> None:
        """Starts the workers; returns once all of them listen, raises if one exits before."""
        self._all_listening = asyncio.get_running_loop().create_future()
        for index in range(self.count):
            await self._spawn(index)
        await self._all_listening
        if self._failed is not None:
            for worker in list(self.workers.values()):
                worker.process.kill()
            self._close_sockets()
            raise self._failed

    def _close_sockets(self) -> None:
        self.tcp.close()
        if self.udp is not None:
            self.udp.close()

    async def drain(self) -> bool:
        """Stops: closes this process's copy of the sockets, SIGTERMs every worker and waits for
        all of them (killing those past the drain timeout). True when every worker exited 0."""
        self.stopping = True
        self._close_sockets()
        workers = list(self.workers.values())
        for worker in workers:
            if worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
        waits = [asyncio.ensure_future(w.process.wait()) for w in workers]
        done, pending = await asyncio.wait(waits, timeout=self.drain_timeout_s + DRAIN_GRACE_S) if waits else (set(), set())
        if pending:
            write_log(ERROR, "workers still running after the drain timeout; killing them", {"workers": len(pending)})
            for worker in workers:
                if worker.process.returncode is None:
                    worker.process.kill()
            await asyncio.wait(pending)
        await asyncio.gather(*self._exits, return_exceptions=True)
        return not pending and all(w.process.returncode == 0 for w in workers)


def _describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"


def run_worker_group(
    count: int, host: str, port: int, udp: bool, drain_timeout_s: float, on_started: Callable[[int], None]
) -> bool:
    """Runs a worker group until SIGTERM/SIGINT (the main process's entry point): binds, starts
    ``count`` workers, calls ``on_started(port)`` once all listen, then drains on the signal.
    Returns True when every worker exited 0."""

    async def main() -> bool:
        group = WorkerGroup(count, host, port, udp, drain_timeout_s)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        starting = asyncio.ensure_future(group.start())
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait([starting, stopped], return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # raises when a worker could not start
            on_started(group.port)
            await stopped
        else:
            starting.cancel()
        write_log(INFO, "draining workers before exit", {"workers": len(group.workers)})
        return await group.drain()

    return asyncio.run(main())
