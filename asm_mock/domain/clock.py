"""The mock's clock: UTC to the second, as SAP's timestamps are."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock"]


class Clock:
    """`clock()` is the current second in UTC, read from `time_source` (seconds since the epoch).

    The datetime is made once a second: building one costs ~12k instructions, and every
    authenticated request asks for the time. Tests pass a time source they move by hand.
    """

    __slots__ = ("_this_second", "_time_source")

    def __init__(self, time_source: Callable[[], float] = time.time) -> None:
        self._time_source = time_source
        self._this_second: tuple[int, datetime] | None = None

    def __call__(self) -> datetime:
        second, cached = int(self._time_source()), self._this_second
        if cached is not None and cached[0] == second:
            return cached[1]
        now = datetime.fromtimestamp(second, UTC)
        self._this_second = (
            second,
            now,
        )  # one atomic store: threads may race, each gets its second
        return now
