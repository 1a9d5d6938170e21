"""Deadlines of calls that no thread waits for (the blocking client's futures).

A blocking :meth:`msec.Client.call` waits for its own reply with a timeout; a call made with
:meth:`msec.Client.call_future` has no waiting thread, so its deadline is kept here: one
daemon thread per client sleeps until the earliest deadline and then runs the expiry
function of each call whose deadline has passed (that function decides -10 or -12 and
completes the future). A call answered earlier is dropped when it reaches the top (by the next
``add`` or the thread) or by a compaction, which keeps the heap within twice the calls still
waiting (at least ``COMPACT_MIN``).
"""
import heapq
import itertools
import math
import threading
import time
from typing import List, Optional, Protocol, Tuple

from .process import current_pid

#: Heap size below which answered calls are not compacted away.
COMPACT_MIN = 256


class Expirable(Protocol):
    """A call whose deadline is kept here."""

    @property
    def waiting(self) -> bool:
        """Neither answered nor failed yet."""

    def expire(self) -> None:
        """Fails the call: its deadline passed."""


#: (deadline, tie-breaker, the call)
_Entry = Tuple[float, int, Expirable]


class Expiry:
    """Runs ``call.expire()`` at ``deadline`` (``time.monotonic()``) for each call added, unless
    it was answered by then (``call.waiting`` false). Thread-safe; the thread starts with the first call."""

    def __init__(self, name: str = "msec-client-deadlines") -> None:
        self._name = name
        self._heap: List[_Entry] = []
        #: Guards the heap; ``_cond`` (on the same lock) wakes the thread. ``add`` takes the plain
        #: lock (a C-level ``with``, cheaper than the Condition's Python-level one).
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._order = itertools.count()
        self._thread: Optional[threading.Thread] = None
        self._compact_at = COMPACT_MIN
        #: When the thread's current wait ends (it recomputes this before every wait).
        self._sleep_until = math.inf
        #: The process the thread runs in: a forked child starts over (its parent's thread and
        #: perhaps a lock held by it at the fork are not its own).
        self._pid = current_pid()

    def add(self, deadline: float, call: Expirable) -> None:
        entry = (deadline, next(self._order), call)
        if self._pid != current_pid():
            self._pid = current_pid()
            self._lock = threading.Lock()
            self._heap, self._cond, self._thread = [], threading.Condition(self._lock), None
            self._sleep_until = math.inf
        with self._lock:
            heap = self._heap
            # Calls mostly end in the order they started: drop the answered ones at the top now, so
            # they (and their replies, futures, callbacks) are not kept alive until the compaction —
            # long-lived garbage makes Python's cyclic GC scan far more (its pauses were the p99).
            while heap and not heap[0][2].waiting:
                heapq.heappop(heap)
            heapq.heappush(heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif deadline < self._sleep_until:  # earlier than what the thread sleeps until
                self._cond.notify()
            if len(self._heap) > self._compact_at:
                self._heap = [e for e in self._heap if e[2].waiting]
                heapq.heapify(self._heap)
                self._compact_at = max(COMPACT_MIN, 2 * len(self._heap))

    def stop(self) -> None:
        """Ends the thread; calls still in the heap are not expired (their connections closed)."""
        with self._lock:
            self._heap.clear()
            self._thread = None
            self._cond.notify()

    def _run(self) -> None:
        cond = self._cond
        me = threading.current_thread()
        with cond:
            while self._thread is me:  # a later add() after stop() starts another thread
                now = time.monotonic()
                due: List[Expirable] = []
                heap = self._heap
                while heap and (heap[0][0] <= now or not heap[0][2].waiting):
                    entry = heapq.heappop(heap)
                    if entry[0] <= now and entry[2].waiting:
                        due.append(entry[2])
                if due:
                    cond.release()  # expiring completes futures, whose callbacks may add calls
                    try:
                        for call in due:
                            call.expire()
                    finally:
                        cond.acquire()
                    continue
                self._sleep_until = heap[0][0] if heap else math.inf
                cond.wait(heap[0][0] - now if heap else None)
