"""The journal stream two replicas share, in process against a real redis-server: the newest
--journal-size entries of both, everything an entry holds kept, one clear for all."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest

from asm_mock.domain.journal import ErrorDetail, NotedRequest
from asm_mock.settings import Settings, settings_from_json, settings_json
from asm_mock.shared.connection import RedisConnection
from asm_mock.shared.journal_stream import SharedJournal
from asm_mock.shared.url import parse_store_url
from asm_mock.testing import free_port

pytestmark = pytest.mark.anyio


Journals = Callable[[int], SharedJournal]


@pytest.fixture
async def journal(redis_url: str) -> AsyncIterator[Journals]:
    """Journals of replicas sharing `redis_url`, of a given capacity; their clients closed after."""
    connections = []

    def make(capacity: int) -> SharedJournal:
        connections.append(RedisConnection(parse_store_url(redis_url)))
        return SharedJournal(
            connections[-1],
            namespace="test",
            capacity=capacity,
            operation_of=lambda method, path: f"{method} {path}",
        )

    yield make
    for connection in connections:
        await connection.aclose()


def _noted(n: int, replica: str) -> NotedRequest:
    detail = ErrorDetail(f"bad {n}", "invalid", "query", "parameter")
    return (
        1_700_000_000.0 + n,
        "GET",
        f"/{replica}/{n}",
        f"n={n}".encode(),
        400,
        1.5,
        (f"bad {n}",),
        (detail,),
        (("prefer", "code=400"),),
    )


async def test_two_replicas_share_the_newest_entries_with_everything_they_hold(
    journal: Journals,
) -> None:
    a, b = journal(5), journal(5)
    for n in range(4):
        a.note(_noted(n, "a"))
    assert [e.path for e in await a.read()] == ["/a/3", "/a/2", "/a/1", "/a/0"]
    for n in range(4):
        b.note(_noted(n, "b"))
    entries = await b.read()  # b ships its queue first: its own entries are newest
    assert [e.path for e in entries] == ["/b/3", "/b/2", "/b/1", "/b/0", "/a/3"]
    assert await a.count() == 8
    newest = entries[0]
    assert newest.operation_id == "GET /b/3"
    assert newest.query == "n=3"
    assert newest.errors == (ErrorDetail("bad 3", "invalid", "query", "parameter"),)
    assert newest.controls == (("prefer", "code=400"),)
    assert [e.path for e in await a.read(path="/a/", limit=1)] == ["/a/3"]
    await b.clear_all()
    assert await a.read() == []
    assert await a.count() == 0


async def test_a_request_answered_before_a_clear_never_enters_after_it(
    journal: Journals,
) -> None:
    a, b = journal(10), journal(10)
    now = time.time()
    a.note((now - 10, "GET", "/before", b"", 200, 1.0, ()))  # queued, not shipped yet
    await b.clear_all()  # another replica clears the journal
    a.note((now + 10, "GET", "/after", b"", 200, 1.0, ()))
    await a.flush()  # both ship late, in one step
    assert [e.path for e in await b.read()] == ["/after"]
    assert await b.count() == 1


async def test_a_replica_stopped_ships_what_it_queued(journal: Journals) -> None:
    a, later = journal(10), journal(10)
    a.note(_noted(1, "a"))  # its flusher starts with the first entry
    await a.stop()
    assert [e.path for e in await later.read()] == ["/a/1"]


def test_workers_get_the_settings_they_were_parsed_with() -> None:
    store = parse_store_url("redis://:pw@127.0.0.1:6379/0")
    settings = Settings(store=store, workers=2, scenarios=("a", "b"))
    assert settings_from_json(settings_json(settings)) == settings


async def test_while_redis_is_away_a_replica_reads_what_it_holds() -> None:
    away = RedisConnection(parse_store_url(f"redis://127.0.0.1:{free_port()}/0"), timeout=0.2)
    journal = SharedJournal(away, capacity=10, operation_of=lambda method, path: None)
    journal.note(_noted(1, "a"))
    journal.note(_noted(2, "a"))
    assert [e.path for e in await journal.read()] == ["/a/2", "/a/1"]  # not a 503
    assert await journal.count() == 2
    await journal.stop()
    await away.aclose()
