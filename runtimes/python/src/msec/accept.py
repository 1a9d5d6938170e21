"""Accepting TCP connections within the process's file-descriptor budget.

The server accepts on its own listening socket (instead of asyncio's
``start_server``) so that running out of descriptors is a counted, quietly
logged event rather than a traceback per attempt: asyncio logs every failed
``accept()`` with its stack, and a full backlog retries it without end.

* ``max_connections`` is capped at ``RLIMIT_NOFILE`` (soft) minus
  :data:`FD_RESERVE`, logged once when it caps;
* on ``EMFILE``/``ENFILE`` the acceptor closes a spare descriptor it keeps,
  accepts the waiting connection and closes it at once (so the backlog does
  not spin the loop), reopens the spare and counts the connection
  ``msec_server_rejected_connections_total{reason="fd_limit"}``;
* rejections of any kind are logged at most once per :data:`REJECT_LOG_INTERVAL_S`.
"""
import asyncio
import errno
import os
import socket
from typing import Callable, Dict, Optional, Tuple

from .log import ERROR, write_log

#: Descriptors left for everything that is not a client connection (files, outgoing calls, logs).
FD_RESERVE = 64
#: Rejected connections are logged at most this often (a summary with the counts since the last line).
REJECT_LOG_INTERVAL_S = 10.0
#: Connections accepted per readiness event, so one busy listener cannot starve the loop.
ACCEPT_BATCH = 64
#: Pending-connection queue of the listening socket (the kernel caps it at ``somaxconn``).
LISTEN_BACKLOG = 511

_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def fd_soft_limit() -> Optional[int]:
    """The soft ``RLIMIT_NOFILE`` of this process; ``None`` when unlimited or unknown."""
    try:
        import resource  # Unix only
    except ImportError:
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    return int(soft)


def effective_max_connections(configured: int, soft_limit: Optional[int]) -> int:
    """``configured``, capped at ``soft_limit - FD_RESERVE`` (at least 1)."""
    if soft_limit is None:
        return configured
    return max(1, min(configured, soft_limit - FD_RESERVE))


class RejectLog:
    """Counts rejected connections by reason; one log line per interval at most."""

    def __init__(self, interval_s: float = REJECT_LOG_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._since: Dict[str, int] = {}
        self._last = -interval_s
        self._loop = asyncio.get_running_loop()

    def note(self, reason: str, detail: str, rejected: bool = True) -> None:
        if rejected:
            self._since[reason] = self._since.get(reason, 0) + 1
        now = self._loop.time()
        if now - self._last >= self.interval_s:
            self._last = now
            counts = dict(self._since)
            self._since.clear()
            write_log(ERROR, f"connections rejected: {detail}", {"rejected": counts, "intervalS": self.interval_s})


class Acceptor:
    """Accepts connections from a listening socket and hands each to ``on_accept``."""

    def __init__(
        self,
        sock: socket.socket,
        on_accept: Callable[[socket.socket, Tuple[object, ...]], None],
        on_fd_limit: Callable[[str, bool], None],
    ) -> None:
        """``on_fd_limit(detail, rejected)`` is told of each descriptor shortage, and whether a
        connection was refused because of it."""
        self.sock = sock
        self._on_accept = on_accept
        self._on_fd_limit = on_fd_limit
        self._loop = asyncio.get_running_loop()
        self._spare = self._open_spare()
        self._paused: Optional[asyncio.TimerHandle] = None
        sock.setblocking(False)
        self._loop.add_reader(sock.fileno(), self._ready)

    @staticmethod
    def _open_spare() -> Optional[int]:
        try:
            return os.open(os.devnull, os.O_RDONLY)
        except OSError:
            return None

    def _ready(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_FDS:
                    self._shed(exc)
                elif exc.errno not in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    self._pause(f"accept failed: {exc}")
                return
            self._on_accept(conn, addr if isinstance(addr, tuple) else (addr,))

    def _shed(self, exc: OSError) -> None:
        """Out of descriptors: refuse one waiting connection with the spare descriptor's help."""
        detail = f"out of file descriptors ({os.strerror(exc.errno or 0)})"
        if self._spare is None:
            self._pause(detail)  # nothing to free: stop polling the listener for a moment
            return
        os.close(self._spare)
        self._spare = None
        try:
            conn, _ = self.sock.accept()
            conn.close()
            self._on_fd_limit(detail, True)
        except OSError:
            self._pause(detail)
        self._spare = self._open_spare()

    def _pause(self, detail: str) -> None:
        self._on_fd_limit(detail, False)
        if self._paused is None:
            self._loop.remove_reader(self.sock.fileno())
            self._paused = self._loop.call_later(0.1, self._resume)

    def _resume(self) -> None:
        self._paused = None
        if self.sock.fileno() >= 0:
            self._loop.add_reader(self.sock.fileno(), self._ready)

    def close(self) -> None:
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        if self.sock.fileno() >= 0:
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None
