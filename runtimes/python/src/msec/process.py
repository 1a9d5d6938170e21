"""This process's id without a system call per use, kept current across ``os.fork``.

Objects that own threads (the blocking client's connections and deadline thread) compare it
with the id they were made in: a forked child has none of the parent's threads.
"""
import os
from typing import List

_pid: List[int] = [os.getpid()]


def _forked() -> None:
    _pid[0] = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def current_pid() -> int:
    """``os.getpid()``, read from memory."""
    return _pid[0]
