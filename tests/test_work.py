"""The work pool: results and errors come back as from asyncio.to_thread, and its threads
yield the CPU to the event loop (a higher nice value, on Linux)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from bot.work import NICENESS, in_background


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_work_returns_its_result_and_raises_its_error():
    assert await in_background(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
    with pytest.raises(ZeroDivisionError):
        await in_background(divmod, 1, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are Linux's")
async def test_work_threads_run_at_a_lower_priority_than_the_event_loop():
    loop_niceness = _niceness()
    worker_niceness = await in_background(_niceness)
    assert worker_niceness == min(19, loop_niceness + NICENESS)
    assert _niceness() == loop_niceness  # the loop's own thread is left as it was
