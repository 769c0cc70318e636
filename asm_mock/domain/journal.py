"""The request journal: what clients sent and what the mock answered, in a bounded ring."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["DEFAULT_JOURNAL_SIZE", "Journal", "JournalEntry"]

DEFAULT_JOURNAL_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class JournalEntry:
    time: datetime
    method: str
    path: str
    query: str
    operation_id: str | None
    status: int
    duration_ms: float
    problems: tuple[str, ...] = ()


class Journal:
    """A ring: the newest `capacity` entries, oldest dropped first, plus a running total."""

    def __init__(self, capacity: int = DEFAULT_JOURNAL_SIZE) -> None:
        if capacity < 1:
            raise ValueError("journal capacity must be >= 1")
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._total = 0

    @property
    def capacity(self) -> int:
        return self._entries.maxlen or 0

    @property
    def total(self) -> int:
        """Requests recorded since the last clear, including those the ring has dropped."""
        return self._total

    def record(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._total += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total = 0

    def entries(
        self,
        *,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Newest first, filtered; `path` matches as a prefix."""
        with self._lock:
            snapshot: Iterable[JournalEntry] = list(reversed(self._entries))
        selected = [
            e
            for e in snapshot
            if (path is None or e.path.startswith(path))
            and (operation_id is None or e.operation_id == operation_id)
            and (status is None or e.status == status)
        ]
        return selected if limit is None else selected[:limit]
