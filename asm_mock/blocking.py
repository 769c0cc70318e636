"""The store's coroutines, awaited from synchronous code: start-up scenarios in `create_app`,
the pytest plugin's rollback. The one place that bridges the two, so no caller improvises."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_blocking"]

T = TypeVar("T")


def run_blocking(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to completion and return its result (or raise its error)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop on this thread: the usual case
        return asyncio.run(work)
    # this thread's loop cannot wait for itself: `work` gets a loop on a thread of its own
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="asm-mock-blocking") as pool:
        return pool.submit(asyncio.run, work).result()
