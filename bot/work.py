"""The bot's heavy work (the model, search, indexing) in threads that yield the CPU.

A Discord bot has 3 seconds to acknowledge an interaction and 15 minutes to answer it, so when
the CPU is short the acknowledgements (the event loop) must come first. The work runs in its
own pool, one thread per core, whose threads have a lower scheduling priority (a higher nice
value, Linux only): on a busy machine the event loop, the gateway heartbeat and whatever else
runs there (on one small host, the local Discord of the tests) get the CPU first, and the work
takes what is left; on an idle machine it costs nothing. Measured with MiniLM, 50 briefs at once
on 2 shared cores: acknowledgement p95 2.9 s with the default pool, 1.0 s with this one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

NICENESS = 10  # added to the process's nice value for the work threads (0: normal, 19: least)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 2


def _lower_priority() -> None:
    """Runs in each work thread as it starts: lower that thread's priority (Linux only)."""
    if not sys.platform.startswith("linux"):
        return  # elsewhere PRIO_PROCESS with a thread id means a process: leave it alone
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS)
    except OSError as exc:
        log.warning("work threads keep the normal priority: %s", exc)


def pool() -> ThreadPoolExecutor:
    """The process's work pool, made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(2, _cores()),
                thread_name_prefix="briefbot-work",
                initializer=_lower_priority,
            )
        return _pool


async def in_background(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``func(*args, **kwargs)`` in the work pool; like ``asyncio.to_thread`` otherwise."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool(), functools.partial(func, *args, **kwargs))
