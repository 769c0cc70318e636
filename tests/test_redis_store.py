"""RedisStore against a real redis-server: what only a shared store must do. Atomic session
starts from several processes' worth of clients, TTLs, writes seen by every client at once,
namespaces that never meet, and Redis away, slow or restarted answered as StoreUnavailableError
(within the timeout, without the password)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import redis

from asm_mock.domain.errors import StoreUnavailableError
from asm_mock.domain.model import AssistedSession, SessionStatus
from asm_mock.domain.store import IssuedToken, SessionIds
from asm_mock.shared.connection import GuardRefused
from asm_mock.shared.store import RedisStore, key_prefix
from asm_mock.shared.wire import session_json
from asm_mock.testing import RedisServer
from tests.helpers import StoreOf, store_of

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "s3cret-Passw0rd"


def token(name: str, expires: datetime) -> IssuedToken:
    return IssuedToken(
        f"access-{name}", f"refresh-{name}", "mobile_android", "asagent", ("basic",), expires
    )


def session(number: int, agent: str = "asagent") -> AssistedSession:
    return AssistedSession(f"s{number}", agent, "c1", "electronics", None, NOW)


def test_two_hundred_concurrent_starts_by_one_agent_leave_exactly_one_active(
    redis_url: str,
) -> None:
    """4 threads, each its own event loop and client (as 4 replicas would be), 50 starts each,
    all at once: exactly one session stays ACTIVE, the 199 others are ENDED."""
    threads, per_thread = 4, 50
    barrier = threading.Barrier(threads)
    ended_by_start: list[AssistedSession | None] = []

    def replica(index: int) -> None:
        async def starts() -> list[AssistedSession | None]:
            store = store_of(redis_url, "race")
            await store.token("warm-up")  # connect before the barrier
            barrier.wait()
            numbers = range(index * per_thread, (index + 1) * per_thread)
            found = await asyncio.gather(*(store.start_session(session(n), NOW) for n in numbers))
            await store.connection.aclose()
            return list(found)

        ended_by_start.extend(asyncio.run(starts()))

    workers = [threading.Thread(target=replica, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    async def everything() -> list[AssistedSession]:
        store = store_of(redis_url, "race")
        try:
            return await store.all_sessions()
        finally:
            await store.connection.aclose()

    sessions = asyncio.run(everything())
    statuses = [s.status for s in sessions]
    assert statuses.count(SessionStatus.ACTIVE) == 1
    assert statuses.count(SessionStatus.ENDED) == threads * per_thread - 1
    # every start but the first ended one session, each a different one
    ended_ids = [s.session_id for s in ended_by_start if s is not None]
    assert len(ended_ids) == len(set(ended_ids)) == threads * per_thread - 1


async def test_token_expiry_is_a_redis_ttl(redis_url: str, open_store: StoreOf) -> None:
    store = open_store(redis_url)
    expires = NOW + timedelta(hours=2)
    await store.save_token(token("a", expires))
    await store.save_token(token("gone", NOW - timedelta(minutes=1)))
    with redis.Redis.from_url(redis_url) as raw:
        prefix = key_prefix("test")
        assert raw.pexpiretime(prefix + "t:access-a") == int(expires.timestamp() * 1000)
        # the refresh token outlives its access token
        assert raw.pexpiretime(prefix + "r:refresh-a") > int(expires.timestamp() * 1000)
        assert not raw.exists(prefix + "t:access-gone")  # saved expired: gone at once
    assert await store.token("access-gone") is None


async def test_a_revoked_token_is_gone_for_every_client_at_once(
    redis_url: str, open_store: StoreOf
) -> None:
    replica_a, replica_b = open_store(redis_url), open_store(redis_url)
    issued = token("a", NOW + timedelta(hours=1))
    await replica_a.save_token(issued)
    assert await replica_b.token("access-a") == issued
    await replica_a.remove_token("access-a")  # what a refresh on replica A does
    assert await replica_b.token("access-a") is None
    assert await replica_b.token_for_refresh("refresh-a") is None


async def test_a_session_started_by_one_client_is_ended_by_another(
    redis_url: str, open_store: StoreOf
) -> None:
    replica_a, replica_b = open_store(redis_url), open_store(redis_url)
    await replica_a.start_session(session(1), NOW)
    assert await replica_b.session("s1") == session(1)
    assert await replica_b.end_session("s1", NOW) is not None
    assert await replica_a.session("s1") is None
    assert await replica_a.start_session(session(2), NOW) is None


async def test_namespaces_never_meet(redis_url: str, open_store: StoreOf) -> None:
    tenant_a, tenant_b = open_store(redis_url, "a"), open_store(redis_url, "a.b")
    await tenant_a.save_token(token("a", NOW + timedelta(hours=1)))
    await tenant_a.start_session(session(1), NOW)
    await tenant_b.start_session(session(1), NOW)
    assert await tenant_b.token("access-a") is None
    ids = SessionIds(1)
    numbered_a, _ = await tenant_a.start_new_session(
        session(3, "another"), NOW, ids=ids, skip_stored_ids=False
    )
    numbered_b, _ = await tenant_b.start_new_session(
        session(3, "another"), NOW, ids=ids, skip_stored_ids=False
    )
    assert numbered_a.session_id == numbered_b.session_id == ids(0)  # each numbers its own
    await tenant_b.start_session(session(2), NOW)  # ends b's s1, not a's
    assert (await tenant_a.session("s1")) == session(1)
    assert await tenant_a.clear() > 0
    assert await tenant_a.session_count() == 0
    assert await tenant_a.token_count() == 0
    assert await tenant_b.session_count() == 3
    with redis.Redis.from_url(redis_url) as raw:
        assert not list(raw.scan_iter(match="asm:a:*"))
        assert list(raw.scan_iter(match="asm:a.b:*"))


async def test_the_session_number_is_shared_by_every_client(
    redis_url: str, open_store: StoreOf
) -> None:
    replica_a, replica_b = open_store(redis_url), open_store(redis_url)
    ids = SessionIds(1)
    first, _ = await replica_a.start_new_session(session(1), NOW, ids=ids, skip_stored_ids=False)
    second, _ = await replica_b.start_new_session(session(2), NOW, ids=ids, skip_stored_ids=False)
    assert [first.session_id, second.session_id] == [ids(0), ids(1)]


# -- faults: a private redis-server with a password, stopped, paused and restarted ------------


@pytest.fixture
def private_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """A redis-server of this test's own (with a password), stopped after it."""
    with RedisServer(password=PASSWORD) as server:
        yield server


def assert_unavailable(error: pytest.ExceptionInfo[StoreUnavailableError], why: str) -> None:
    message = str(error.value)
    assert PASSWORD not in message
    assert "redis://***@127.0.0.1:" in message
    assert why in message
    assert error.value.status_code == 503
    assert error.value.to_dict()["type"] == "ServiceUnavailableError"


async def test_a_stopped_redis_is_unavailable_and_a_restarted_one_serves(
    private_redis: RedisServer,
    open_store: StoreOf,
) -> None:
    store = open_store(private_redis.url, timeout=1.0)
    await store.start_session(session(1), NOW)
    private_redis.stop()
    with pytest.raises(StoreUnavailableError) as stopped:
        await store.start_session(session(2), NOW)
    assert_unavailable(stopped, "cannot be reached")
    private_redis.start()  # empty, and without the scripts: NOSCRIPT is answered by a reload
    assert await store.start_session(session(3), NOW) is None
    assert await store.session("s3") == session(3)


async def test_a_paused_redis_is_unavailable_within_the_timeout(
    private_redis: RedisServer,
    open_store: StoreOf,
) -> None:
    store = open_store(private_redis.url, timeout=0.3)
    await store.start_session(session(1), NOW)
    with redis.Redis.from_url(private_redis.url) as admin:
        admin.client_pause(5_000, all=True)
        try:
            with pytest.raises(StoreUnavailableError) as paused:
                await store.session("s1")  # it would answer after the pause, not within 0.3 s
            assert_unavailable(paused, "within 0.3 s")
        finally:
            admin.client_unpause()
    assert await store.session("s1") == session(1)


async def test_a_wrong_password_is_unavailable_without_the_password(
    private_redis: RedisServer,
    open_store: StoreOf,
) -> None:
    wrong = private_redis.url.replace(PASSWORD, "wrong-" + PASSWORD)
    with pytest.raises(StoreUnavailableError) as refused:
        await open_store(wrong).token("a")
    assert "wrong-" not in str(refused.value)
    assert_unavailable(refused, "refused the password")


def test_a_loop_that_ends_closes_its_connections(redis_url: str) -> None:
    """Start-up scenarios run the store on a loop of their own (`run_blocking`): when it ends,
    its pool closes, without anyone calling aclose()."""
    store = store_of(redis_url, "short-lived")
    asyncio.run(store.start_session(session(1), NOW))
    asyncio.run(store.start_session(session(2), NOW))
    with redis.Redis.from_url(redis_url) as raw:
        for _ in range(100):  # the server notices closed sockets on its own schedule
            if not [c for c in raw.client_list() if c["name"] == "asm-mock"]:
                break
            time.sleep(0.05)
        assert [c for c in raw.client_list() if c["name"] == "asm-mock"] == []


def _commands(url: str, name: str) -> int:
    with redis.Redis.from_url(url) as client:
        stats = client.info("commandstats").get(f"cmdstat_{name}", {})
        return int(stats.get("calls", 0))


async def test_the_store_steps_of_one_loop_turn_share_one_round_trip_and_each_gets_its_own(
    redis_url: str, open_store: StoreOf
) -> None:
    store = open_store(redis_url)
    other = RedisStore(store.connection, namespace="another-tenant")  # as tenants share one
    saved = [token(f"batch-{n}", NOW + timedelta(hours=1)) for n in range(40)]
    for issued in saved:
        await store.save_token(issued)
    await other.start_session(session(1, "other-agent"), NOW)
    before = _commands(redis_url, "evalsha"), _commands(redis_url, "eval")
    names = [t.access_token for t in saved] + ["never-issued"]
    found, started, history, elsewhere = await asyncio.gather(
        asyncio.gather(*(store.token(name) for name in names)),
        store.start_session(session(2), NOW),
        store.sessions_of_customer("c1"),
        other.sessions_of_customer("c1"),
    )
    assert found == [*saved, None]
    assert started is None
    # the steps ran in the order asked, each in its own namespace
    assert [s.session_id for s in history] == ["s2"]
    assert [s.session_id for s in elsewhere] == ["s1"]
    # one round trip for the 44 steps (the session's server counts every earlier test's too)
    assert (_commands(redis_url, "evalsha"), _commands(redis_url, "eval")) == (
        before[0] + 1,
        before[1],
    )


async def test_a_step_that_fails_fails_alone_in_its_batch(
    redis_url: str, open_store: StoreOf
) -> None:
    store = open_store(redis_url)
    await store.save_token(token("beside-a-failure", NOW + timedelta(hours=1)))
    found, failed = await asyncio.gather(
        store.token("access-beside-a-failure"),
        store.connection.step("no-such-step", key_prefix("test")),
        return_exceptions=True,
    )
    assert found == token("beside-a-failure", NOW + timedelta(hours=1))
    assert isinstance(failed, redis.ResponseError)
    assert "no store step no-such-step" in str(failed)


async def test_a_guarded_step_runs_only_while_its_guard_key_exists(
    redis_url: str, open_store: StoreOf
) -> None:
    store = open_store(redis_url)
    prefix = key_prefix("test")
    await store.save_token(token("guard", NOW + timedelta(hours=1)))
    step = partial(store.connection.step, "start_session", prefix)
    arguments = ("s1", "asagent", "c1", session_json(session(1)), NOW.isoformat(), 10)
    assert await step(*arguments, guard="t:access-guard") is None  # it ran
    await store.remove_token("access-guard")
    # in one batch: the guarded step refused alone, an unguarded one beside it runs
    refused, beside = await asyncio.gather(
        step(
            "s2",
            "asagent",
            "c1",
            session_json(session(2)),
            NOW.isoformat(),
            10,
            guard="t:access-guard",
        ),
        store.session("s1"),
        return_exceptions=True,
    )
    assert isinstance(refused, GuardRefused)
    assert beside == session(1)
    assert await store.session("s2") is None
    assert [s.status for s in await store.all_sessions()] == [SessionStatus.ACTIVE]


async def test_a_step_that_cannot_be_written_fails_alone_and_never_hangs(
    redis_url: str, open_store: StoreOf
) -> None:
    store = open_store(redis_url)
    await store.save_token(token("beside-a-bad-step", NOW + timedelta(hours=1)))
    both = asyncio.gather(
        store.token("access-beside-a-bad-step"),
        store.token("lone-surrogate-\udc80"),
        return_exceptions=True,
    )
    found, unwritable = await asyncio.wait_for(both, 5)  # a hang fails the test
    assert found == token("beside-a-bad-step", NOW + timedelta(hours=1))
    assert isinstance(unwritable, Exception)


async def test_a_cancelled_step_fails_no_other_step_of_its_batch(
    redis_url: str, open_store: StoreOf
) -> None:
    store = open_store(redis_url)
    await store.save_token(token("kept-when-cancelled", NOW + timedelta(hours=1)))
    first = asyncio.ensure_future(store.token("access-kept-when-cancelled"))
    second = asyncio.ensure_future(store.token("access-kept-when-cancelled"))
    await asyncio.sleep(0)  # both asked: one batch, about to leave
    first.cancel()
    assert await second == token("kept-when-cancelled", NOW + timedelta(hours=1))
    assert first.cancelled()


async def test_a_batch_that_finds_redis_away_fails_every_look_up_in_it(
    open_store: StoreOf,
) -> None:
    with RedisServer() as server:
        store = open_store(server.url, timeout=0.5)
        await store.save_token(token("kept", NOW + timedelta(hours=1)))
        server.stop()
        outcomes = await asyncio.gather(
            *(store.token(f"t{n}") for n in range(5)), return_exceptions=True
        )
    assert all(isinstance(outcome, StoreUnavailableError) for outcome in outcomes), outcomes


async def test_a_redis_out_of_memory_still_answers_reads_and_fails_only_the_writes(
    open_store: StoreOf,
) -> None:
    with RedisServer() as server:
        store = open_store(server.url, timeout=2.0)
        kept = token("before-the-limit", NOW + timedelta(hours=1))
        await store.save_token(kept)
        with redis.Redis.from_url(server.url) as raw:
            raw.config_set("maxmemory", 1)  # every write is now refused: OOM
        found, refused = await asyncio.gather(
            store.token(kept.access_token),
            store.save_token(token("past-the-limit", NOW + timedelta(hours=1))),
            return_exceptions=True,
        )
    assert found == kept  # the read in the same batch is answered
    assert isinstance(refused, StoreUnavailableError)
    assert "out of memory" in str(refused)
