"""run_blocking: the store's coroutines awaited from synchronous code, with or without a loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from asm_mock.blocking import run_blocking


async def answer() -> tuple[int, bool]:
    await asyncio.sleep(0)  # it truly suspends, as a shared store's call does
    return 42, threading.current_thread() is threading.main_thread()


def test_without_a_loop_it_runs_on_this_thread() -> None:
    assert run_blocking(answer()) == (42, True)


@pytest.mark.anyio
async def test_under_a_running_loop_it_runs_on_a_thread_of_its_own() -> None:
    assert run_blocking(answer()) == (42, False)


def test_its_error_reaches_the_caller() -> None:
    async def failing() -> None:
        raise LookupError("gone")

    with pytest.raises(LookupError, match="gone"):
        run_blocking(failing())
