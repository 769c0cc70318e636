"""The request journal: what clients sent and what the mock answered, in a bounded ring."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

__all__ = [
    "DEFAULT_JOURNAL_SIZE",
    "ErrorDetail",
    "Journal",
    "JournalEntry",
    "JournalReader",
    "NotedRequest",
    "OperationOf",
    "newest_entries",
    "noted_entry",
    "selected_entries",
]

DEFAULT_JOURNAL_SIZE = 10_000


class ErrorDetail(NamedTuple):
    """One error of an error answer, as SAP's error body names it: what was wrong and where."""

    message: str
    reason: str | None = None  # missing, invalid, notFound...
    subject: str | None = None  # a parameter, body field (dotted path) or header name
    subject_type: str | None = None  # parameter, body, header


class JournalEntry(NamedTuple):
    """One answered request. A NamedTuple, not a frozen dataclass: with the access log on, one
    is made per request, and a NamedTuple takes a third of the time to make (~0.8 vs ~2.6 µs)."""

    time: datetime
    method: str
    path: str
    query: str
    operation_id: str | None
    status: int
    duration_ms: float
    problems: tuple[str, ...] = ()
    errors: tuple[ErrorDetail, ...] = ()  # the error body's errors, each with where and what
    # the mock's controls that shaped the answer, as (kind, detail): ("prefer", "code=404"),
    # ("canned", "scenario"), ("injected", "error-rate"), ("fault", "reset")
    controls: tuple[tuple[str, str], ...] = ()


# A request as `Journal.note()` takes it, kept as it is until read: time in seconds since the
# epoch, method, path, the raw query string, status, duration in ms, problems, and optionally
# their details and the controls used.
NotedRequest = (
    tuple[float, str, str, bytes, int, float, tuple[str, ...]]
    | tuple[
        float,
        str,
        str,
        bytes,
        int,
        float,
        tuple[str, ...],
        tuple[ErrorDetail, ...],
        tuple[tuple[str, str], ...],
    ]
)
# names a request's operation from its method and path
OperationOf = Callable[[str, str], "str | None"]


def noted_entry(noted: NotedRequest, operation_of: OperationOf) -> JournalEntry:
    at, method, path, query, status, duration_ms, problems = noted[:7]
    return JournalEntry(
        datetime.fromtimestamp(at, UTC),
        method,
        path,
        query.decode("latin-1"),
        operation_of(method, path),
        status,
        duration_ms,
        problems,
        *noted[7:],
    )


def _no_operation(method: str, path: str) -> None:
    return None


def selected_entries(
    newest_first: Iterable[JournalEntry],
    *,
    path: str | None = None,
    operation_id: str | None = None,
    status: int | None = None,
    limit: int | None = None,
) -> list[JournalEntry]:
    """The entries that match, in the order given; `path` matches as a prefix. Entries are
    taken as they come: it stops once `limit` are found."""
    selected: list[JournalEntry] = []
    for e in newest_first:
        if (
            (path is None or e.path.startswith(path))
            and (operation_id is None or e.operation_id == operation_id)
            and (status is None or e.status == status)
        ):
            selected.append(e)
            if limit is not None and limit > 0 and len(selected) == limit:
                break
    return selected if limit is None else selected[:limit]


def newest_entries(
    oldest_first: Sequence[JournalEntry | NotedRequest],
    operation_of: OperationOf,
    *,
    path: str | None = None,
    operation_id: str | None = None,
    status: int | None = None,
    limit: int | None = None,
) -> list[JournalEntry]:
    """A ring's items newest first, filtered; a noted request becomes an entry only as it is
    read (most never are)."""
    made = (
        item if isinstance(item, JournalEntry) else noted_entry(item, operation_of)
        for item in reversed(oldest_first)
    )
    return selected_entries(made, path=path, operation_id=operation_id, status=status, limit=limit)


class JournalReader(Protocol):
    """What the admin API reads of a journal: this process's `Journal`, or one shared by
    replicas (which must ask the shared store, hence coroutines)."""

    @property
    def capacity(self) -> int: ...

    async def count(self) -> int:
        """`total`: requests recorded since the last clear."""
        ...

    async def read(
        self,
        *,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """`entries()`: newest first, filtered."""
        ...

    async def clear_all(self) -> None: ...


class Journal:
    """A ring: the newest `capacity` entries, oldest dropped first, plus a running total."""

    def __init__(
        self, capacity: int = DEFAULT_JOURNAL_SIZE, *, operation_of: OperationOf = _no_operation
    ) -> None:
        """`operation_of` names a noted request's operation when it is read: a pure function
        of method and path, so naming it later names it the same."""
        if capacity < 1:
            raise ValueError("journal capacity must be >= 1")
        self._operation_of = operation_of
        self._entries: deque[JournalEntry | NotedRequest] = deque(maxlen=capacity)
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

    def note(self, noted: NotedRequest) -> None:
        """`record()` for the per-request path: a plain tuple, made into an entry only when
        read, which most never are."""
        with self._lock:
            self._entries.append(noted)
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
            items = list(self._entries)
        return newest_entries(
            items,
            self._operation_of,
            path=path,
            operation_id=operation_id,
            status=status,
            limit=limit,
        )

    # -- JournalReader ----------------------------------------------------------------------

    async def count(self) -> int:
        return self.total

    async def read(
        self,
        *,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        return self.entries(path=path, operation_id=operation_id, status=status, limit=limit)

    async def clear_all(self) -> None:
        self.clear()
