"""The journal of every replica in one capped Redis stream: the newest --journal-size entries.

A request never waits for Redis: `note()` only queues the record in this process, and a
background flusher ships the queue a few milliseconds later, as one store step (`scripts.py`)
that rides in the batch of store steps of its event-loop turn. Reads
ship this replica's queue first, so a replica always reads its own requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from functools import partial
from typing import Any

import orjson

from asm_mock.domain.errors import StoreUnavailableError
from asm_mock.domain.journal import (
    ErrorDetail,
    Journal,
    JournalEntry,
    NotedRequest,
    OperationOf,
    newest_entries,
    noted_entry,
    selected_entries,
)
from asm_mock.shared.connection import RedisConnection
from asm_mock.shared.store import DEFAULT_NAMESPACE, key_prefix
from asm_mock.shared.tenant_expiry import REGISTRY

__all__ = ["FLUSH_INTERVAL_S", "SharedJournal", "dump_noted", "load_noted"]

FLUSH_INTERVAL_S = 0.005  # a batch gathers this long after its first request
_IDLE_S = 30.0  # the flusher ends after this long without a request
_RETRY_S = 0.2  # after a failed flush (Redis away): the queue waits, bounded by the capacity
_PAGE = 1_000  # stream entries fetched per round trip when a filter must look further back
_FIELD = b"e"
_log = logging.getLogger("asm_mock.shared")


def dump_noted(noted: NotedRequest | JournalEntry) -> bytes:
    """One journal record as the stream holds it: everything the local journal keeps (errors
    with their subjects, controls), the operation left to be named when read."""
    if isinstance(noted, JournalEntry):
        at, method, path = noted.time.timestamp(), noted.method, noted.path
        query, status, duration = noted.query, noted.status, noted.duration_ms
        problems, errors, controls = noted.problems, noted.errors, noted.controls
    else:
        at, method, path, raw_query, status, duration, problems = noted[:7]
        query = raw_query.decode("latin-1")
        errors, controls = (noted[7], noted[8]) if len(noted) > 7 else ((), ())
    return orjson.dumps(
        [
            at,
            method,
            path,
            query,
            status,
            duration,
            list(problems),
            [list(detail) for detail in errors],  # orjson writes no NamedTuple
            [list(control) for control in controls],
        ]
    )


def _answered_us(item: NotedRequest | JournalEntry) -> int:
    """When `item` was answered, in microseconds since the epoch: an int, as str() of a float
    costs ~7k instructions and every record is shipped with it."""
    at = item.time.timestamp() if isinstance(item, JournalEntry) else item[0]
    return int(at * 1_000_000)


def load_noted(data: bytes) -> NotedRequest:
    at, method, path, query, status, duration, problems, errors, controls = orjson.loads(data)
    return (
        float(at),
        str(method),
        str(path),
        str(query).encode("latin-1"),
        int(status),
        float(duration),
        tuple(problems),
        tuple(ErrorDetail(*detail) for detail in errors),
        tuple((str(kind), str(detail)) for kind, detail in controls),
    )


class SharedJournal(Journal):
    """A `Journal` whose entries live in the stream `asm:{namespace}:journal` (and the running
    total in `asm:{namespace}:journal:total`). Reads are the `JournalReader` coroutines: `total`
    is this replica's unshipped queue, and `entries()` none (they are in the stream); the
    coroutines fall back to the queue while Redis is away."""

    def __init__(
        self,
        connection: RedisConnection,
        *,
        capacity: int,
        operation_of: OperationOf,
        namespace: str = DEFAULT_NAMESPACE,
        tenant: str | None = None,
    ) -> None:
        """`tenant`: the named tenant whose journal this is; shipping its records marks it
        served (`tenant_expiry.py`)."""
        super().__init__(capacity, operation_of=operation_of)
        self._served = ("", "") if tenant is None else (REGISTRY, tenant)
        self._connection = connection
        self._prefix = key_prefix(namespace)
        self._stream = self._prefix + "journal"  # keys as the journal's steps name them
        self._total_key = self._prefix + "journal:total"
        self._queue: deque[NotedRequest | JournalEntry] = deque(maxlen=capacity)
        self._queue_lock = threading.Lock()
        self._shipping = asyncio.Lock()
        self._noted = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    # -- writing: the request path ------------------------------------------------------------

    def note(self, noted: NotedRequest) -> None:
        with self._queue_lock:
            self._queue.append(noted)
        self._wake()

    def record(self, entry: JournalEntry) -> None:
        with self._queue_lock:
            self._queue.append(entry)
        self._wake()

    def _wake(self) -> None:
        """Have the flusher ship the queue soon; it runs while requests come, so a journal
        nobody writes to (a tenant dropped, a test's) holds no task."""
        self._noted.set()
        if self._flusher is None or self._flusher.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # noted outside a loop (by hand): the next read ships it
                return
            self._flusher = loop.create_task(self._flush_while_busy(), name="journal flusher")

    def _take(self) -> list[NotedRequest | JournalEntry]:
        with self._queue_lock:
            taken = list(self._queue)
            self._queue.clear()
            return taken

    def _give_back(self, taken: list[NotedRequest | JournalEntry]) -> None:
        """A failed batch goes back in front of what came since; the newest `capacity` stay."""
        with self._queue_lock:
            kept = [*taken, *self._queue]
            self._queue.clear()
            self._queue.extend(kept)

    async def flush(self) -> None:
        """Ship this replica's queue now, in order; raises StoreUnavailableError (the queue
        kept) when Redis is away."""
        async with self._shipping:
            taken = self._take()
            if not taken:
                return
            shipped: list[Any] = [self.capacity, *self._served]
            for item in taken:
                shipped += [_answered_us(item), dump_noted(item)]
            try:
                await self._connection.step("ship_journal", self._prefix, *shipped)
            except asyncio.CancelledError:
                raise  # the step was asked: it ships in its batch, so it is not given back
            except BaseException:
                self._give_back(taken)
                raise

    async def _flush_while_busy(self) -> None:
        while True:
            try:  # asyncio.timeout, not wait_for: no task of its own at every batch
                async with asyncio.timeout(_IDLE_S):
                    await self._noted.wait()
            except TimeoutError:
                if not self._queue:
                    return  # no await since the check: a note now starts a new flusher
                continue
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self._noted.clear()
            try:
                await self.flush()
            except StoreUnavailableError as error:
                _log.warning("journal: %s; retrying", error)
                await asyncio.sleep(_RETRY_S)
                self._noted.set()
            except Exception:  # a record it cannot write: lost, but the flusher lives on
                _log.exception("journal: entries dropped")

    async def stop(self) -> None:
        """Stop the flusher and ship what is queued (shutdown: nothing half-written)."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        try:
            await self.flush()
            await self._connection.drain()  # a flush cancelled above still ships
        except StoreUnavailableError as error:
            _log.warning("journal: %d entries not shipped at shutdown: %s", len(self._queue), error)

    # -- reading: the admin API -----------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self._queue)

    def clear(self) -> None:
        with self._queue_lock:
            self._queue.clear()

    # While Redis is away, reads answer what this replica holds (its entries not shipped yet)
    # rather than a 503: the admin can still see what the outage did; health says DEGRADED.

    async def count(self) -> int:
        try:
            await self.flush()
            total = await self._connection.run(lambda client: client.get(self._total_key))
        except StoreUnavailableError:
            return self.total
        return int(total or 0)

    async def read(
        self,
        *,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        try:
            return await self._read_stream(path, operation_id, status, limit)
        except StoreUnavailableError:
            with self._queue_lock:
                queued = list(self._queue)
            return newest_entries(
                queued,
                self._operation_of,
                path=path,
                operation_id=operation_id,
                status=status,
                limit=limit,
            )

    async def _read_stream(
        self, path: str | None, operation_id: str | None, status: int | None, limit: int | None
    ) -> list[JournalEntry]:
        filtered = path is not None or operation_id is not None or status is not None
        wanted = self.capacity if limit is None or limit <= 0 else min(limit, self.capacity)
        selected: list[JournalEntry] = []
        await self.flush()
        newest = b"+"
        seen = 0
        while seen < self.capacity and len(selected) < wanted:
            page = min(_PAGE if filtered else wanted, self.capacity - seen)
            rows: Any = await self._connection.run(partial(self._page, newest, page))
            if not rows:
                break
            seen += len(rows)
            newest = b"(" + rows[-1][0]
            made = (
                noted_entry(load_noted(fields[_FIELD]), self._operation_of) for _, fields in rows
            )
            selected += selected_entries(
                made,
                path=path,
                operation_id=operation_id,
                status=status,
                limit=wanted - len(selected),
            )
        return selected

    async def _page(self, newest: bytes, count: int, client: Any) -> Any:
        return await client.xrevrange(self._stream, max=newest, count=count)

    async def clear_all(self) -> None:
        async with self._shipping:
            self.clear()
            await self._connection.step("clear_journal", self._prefix)
