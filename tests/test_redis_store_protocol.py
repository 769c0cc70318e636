"""The store protocols, one suite run against both stores: InMemoryStore and RedisStore behave
alike, so either can back the mock (the proof that they are interchangeable)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from asm_mock.domain.model import AssistedSession, SessionStatus
from asm_mock.domain.service import StateStore
from asm_mock.domain.store import InMemoryStore, IssuedToken, SessionIds
from asm_mock.shared.connection import RedisConnection
from asm_mock.shared.store import RedisStore
from asm_mock.shared.url import parse_store_url

pytestmark = pytest.mark.anyio

MAX_ENDED = 3
# real time: Redis's TTLs run on its own clock
NOW = datetime.now(UTC).replace(microsecond=0)
LATER = NOW + timedelta(hours=1)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    if request.param == "memory":
        yield InMemoryStore(max_ended_sessions=MAX_ENDED)
        return
    url = request.getfixturevalue("redis_url")
    connection = RedisConnection(parse_store_url(url), timeout=5)
    yield RedisStore(connection, namespace="protocol", max_ended_sessions=MAX_ENDED)
    await connection.aclose()


def token(name: str, *, user: str | None = "asagent", expires: datetime = LATER) -> IssuedToken:
    return IssuedToken(
        access_token=f"access-{name}",
        refresh_token=None if user is None else f"refresh-{name}",
        client_id="mobile_android",
        username=user,
        scopes=("basic", "assistedservicegroup"),
        expires_at=expires,
    )


def session(number: int, *, agent: str = "asagent", customer: str = "c1") -> AssistedSession:
    return AssistedSession(
        session_id=f"s{number}",
        agent_uid=agent,
        customer_id=customer,
        site="electronics",
        cart_id=None if number % 2 else f"cart{number}",
        created_at=NOW + timedelta(seconds=number),
    )


def ended(item: AssistedSession, at: datetime) -> AssistedSession:
    return replace(item, status=SessionStatus.ENDED, ended_at=at)


def live(found: IssuedToken | None, now: datetime = NOW) -> bool:
    """Whether a looked-up token still serves: a store may keep an expired one until a sweep."""
    return found is not None and found.expires_at > now


# -- tokens ---------------------------------------------------------------------------------


async def test_a_saved_token_is_found_by_access_and_refresh_token(store: StateStore) -> None:
    issued = token("a")
    await store.save_token(issued)
    assert await store.token("access-a") == issued
    assert await store.token_for_refresh("refresh-a") == issued
    assert await store.token("access-b") is None
    assert await store.token_for_refresh("access-a") is None
    assert await store.token_count() == 1


async def test_a_client_credentials_token_has_no_refresh_token(store: StateStore) -> None:
    issued = token("cc", user=None)
    await store.save_token(issued)
    assert await store.token("access-cc") == issued
    assert await store.reusable_token("mobile_android", None, issued.scopes, NOW) == issued
    assert await store.reusable_token("mobile_android", "asagent", issued.scopes, NOW) is None


async def test_a_live_token_is_reused_for_the_same_client_user_and_scopes(
    store: StateStore,
) -> None:
    issued = token("a")
    await store.save_token(issued)
    assert await store.reusable_token("mobile_android", "asagent", issued.scopes, NOW) == issued
    assert await store.reusable_token("mobile_android", "asagent", ("basic",), NOW) is None
    assert await store.reusable_token("asm", "asagent", issued.scopes, NOW) is None
    assert await store.reusable_token("mobile_android", "other", issued.scopes, NOW) is None
    assert await store.reusable_token("mobile_android", "asagent", issued.scopes, LATER) is None


async def test_a_removed_token_is_gone_with_its_refresh_token(store: StateStore) -> None:
    await store.save_token(token("a"))
    await store.save_token(token("b", user="other"))
    await store.remove_token("access-a")
    assert await store.token("access-a") is None
    assert await store.token_for_refresh("refresh-a") is None
    assert await store.reusable_token("mobile_android", "asagent", token("a").scopes, NOW) is None
    assert await store.token_count() == 1
    assert live(await store.token("access-b"))
    await store.remove_token("access-unknown")  # no error


async def test_a_sweep_drops_the_expired_tokens_only(store: StateStore) -> None:
    await store.save_token(token("old", expires=NOW - timedelta(seconds=5)))
    await store.save_token(token("new", user="other"))
    assert await store.sweep_tokens(NOW) == 1
    assert await store.token_count() == 1
    assert await store.token("access-old") is None
    assert live(await store.token("access-new"))
    assert await store.sweep_tokens(NOW) == 0


async def test_expired_tokens_stay_refreshable(store: StateStore) -> None:
    await store.save_token(token("a"))
    await store.save_token(token("b", user=None))
    assert await store.expire_tokens(NOW) == 2
    assert not live(await store.token("access-a"))
    assert await store.reusable_token("mobile_android", "asagent", token("a").scopes, NOW) is None
    refreshable = await store.token_for_refresh("refresh-a")
    assert refreshable is not None
    assert refreshable.access_token == "access-a"
    assert refreshable.expires_at <= NOW
    # the refresh grant: the old access token goes, a new one takes the same refresh token
    await store.remove_token("access-a")
    renewed = replace(token("a2"), refresh_token="refresh-a")
    await store.save_token(renewed)
    assert await store.token_for_refresh("refresh-a") == renewed
    assert await store.token("access-a2") == renewed


async def test_cleared_tokens_are_all_gone(store: StateStore) -> None:
    await store.save_token(token("a"))
    await store.save_token(token("b", user=None))
    await store.clear_tokens()
    assert await store.token_count() == 0
    assert await store.token("access-a") is None
    assert await store.token_for_refresh("refresh-a") is None
    assert await store.reusable_token("mobile_android", None, token("b").scopes, NOW) is None


# -- sessions -------------------------------------------------------------------------------


async def test_starting_a_session_ends_the_same_agents_active_one(store: StateStore) -> None:
    assert await store.start_session(session(1), NOW) is None
    assert await store.start_session(session(2, agent="other"), NOW) is None
    at = NOW + timedelta(minutes=1)
    assert await store.start_session(session(3), at) == ended(session(1), at)
    assert await store.session("s1") == ended(session(1), at)
    assert await store.session("s2") == session(2, agent="other")
    assert await store.session("s3") == session(3)
    assert await store.session("s4") is None
    assert await store.session_count() == 3


async def test_ending_a_session_returns_it_ended_and_forgets_it(store: StateStore) -> None:
    await store.start_session(session(1), NOW)
    at = NOW + timedelta(minutes=2)
    assert await store.end_session("s1", at) == ended(session(1), at)
    assert await store.session("s1") is None
    assert await store.end_session("s1", at) is None
    assert await store.session_count() == 0
    # the agent has no active session left: the next start ends nothing
    assert await store.start_session(session(2), NOW) is None


async def test_a_session_ended_on_behalf_of_another_agent_stays_as_it_was(
    store: StateStore,
) -> None:
    await store.start_session(session(1), NOW)
    await store.start_session(session(2, agent="other"), NOW)
    await store.start_session(session(3), LATER)  # ends s1
    at = LATER + timedelta(minutes=5)
    assert await store.end_session("s2", at, by_agent="asagent") == session(2, agent="other")
    assert await store.end_session("s1", at, by_agent="other") == ended(session(1), LATER)
    assert await store.session("s2") == session(2, agent="other")
    assert await store.session("s1") == ended(session(1), LATER)
    assert await store.session_count() == 3
    assert await store.end_session("s2", at, by_agent="other") == ended(
        session(2, agent="other"), at
    )
    assert await store.session("s2") is None


async def test_ending_an_ended_session_returns_it_as_it_ended(store: StateStore) -> None:
    await store.start_session(session(1), NOW)
    await store.start_session(session(2), LATER)
    assert await store.end_session("s1", LATER + timedelta(hours=1)) == ended(session(1), LATER)
    assert await store.session("s1") is None
    assert await store.session_count() == 1


async def test_sessions_of_a_customer_active_then_ended_oldest_first(store: StateStore) -> None:
    await store.start_session(session(1, customer="c1"), NOW)
    await store.start_session(session(2, agent="b", customer="c1"), NOW)
    await store.start_session(session(3, customer="c2"), NOW)  # ends s1
    await store.start_session(session(4, agent="b", customer="c1"), NOW)  # ends s2
    await store.start_session(session(5, agent="c", customer="c1"), NOW)
    found = await store.sessions_of_customer("c1")
    assert [s.session_id for s in found] == ["s4", "s5", "s1", "s2"]
    assert [s.status for s in found] == [SessionStatus.ACTIVE] * 2 + [SessionStatus.ENDED] * 2
    assert await store.sessions_of_customer("c9") == []


async def test_all_sessions_active_then_ended_each_oldest_first(store: StateStore) -> None:
    await store.start_session(session(1), NOW)
    await store.start_session(session(2, agent="b"), NOW)
    await store.start_session(session(3, agent="b"), NOW)  # ends s2
    await store.start_session(session(4), NOW)  # ends s1
    assert [s.session_id for s in await store.all_sessions()] == ["s3", "s4", "s2", "s1"]


async def test_ended_sessions_are_bounded_oldest_dropped_first(store: StateStore) -> None:
    for number in range(1, 7):  # s1..s5 end as the next one starts
        await store.start_session(session(number), NOW)
    assert [s.session_id for s in await store.all_sessions()] == ["s6", "s3", "s4", "s5"]
    assert await store.session("s1") is None
    assert await store.session_count() == 1 + MAX_ENDED
    assert [s.session_id for s in await store.sessions_of_customer("c1")] == [
        "s6",
        "s3",
        "s4",
        "s5",
    ]


async def test_replacing_sessions_keeps_exactly_the_given_ones(store: StateStore) -> None:
    await store.start_session(session(1), NOW)
    replacement = [
        session(7, agent="a"),
        ended(session(8, agent="a", customer="c2"), LATER),
        session(9, agent="b", customer="c2"),
    ]
    await store.replace_sessions(replacement)
    assert await store.session("s1") is None
    assert await store.all_sessions() == [replacement[0], replacement[2], replacement[1]]
    assert await store.sessions_of_customer("c1") == [replacement[0]]
    assert await store.session_count() == 3
    # the rule holds for restored sessions too
    assert await store.start_session(session(10, agent="a"), LATER) == ended(replacement[0], LATER)


async def test_cleared_sessions_are_all_gone(store: StateStore) -> None:
    await store.start_session(session(1), NOW)
    await store.start_session(session(2), NOW)
    await store.clear_sessions()
    assert await store.session_count() == 0
    assert await store.all_sessions() == []
    assert await store.sessions_of_customer("c1") == []
    assert await store.start_session(session(3), NOW) is None


async def test_session_numbers_count_up_until_sessions_are_cleared_or_replaced(
    store: StateStore,
) -> None:
    ids = SessionIds(3)

    async def next_id() -> str:
        started, _ = await store.start_new_session(
            replace(session(9), session_id=""), NOW, ids=ids, skip_stored_ids=False
        )
        return started.session_id

    assert [await next_id() for _ in range(3)] == [ids(0), ids(1), ids(2)]
    await store.clear_sessions()
    assert await next_id() == ids(0)
    await next_id()
    await store.replace_sessions([session(1)])
    assert await next_id() == ids(0)


async def test_a_new_session_gets_the_seeded_id_of_its_number_and_ends_the_agents_last(
    store: StateStore,
) -> None:
    ids = SessionIds(20260115)
    draft = replace(session(0), session_id="")
    first, ended_first = await store.start_new_session(draft, NOW, ids=ids, skip_stored_ids=False)
    second, ended = await store.start_new_session(draft, LATER, ids=ids, skip_stored_ids=False)
    # the same ids from either store: Redis's Lua derives SessionIds' ids itself
    assert [first.session_id, second.session_id] == [ids(0), ids(1)]
    assert ended_first is None
    assert ended == replace(first, status=SessionStatus.ENDED, ended_at=LATER)
    assert await store.session(second.session_id) == second
    assert second == replace(draft, session_id=ids(1))


async def test_a_new_session_passes_over_the_ids_of_stored_sessions_when_asked(
    store: StateStore,
) -> None:
    ids = SessionIds(7)
    # as after a restore: stored sessions hold the first ids while numbering starts again
    await store.replace_sessions([replace(session(1), session_id=ids(0))])
    draft = replace(session(2, agent="other"), session_id="")
    kept, _ = await store.start_new_session(draft, NOW, ids=ids, skip_stored_ids=True)
    assert kept.session_id == ids(1)
    await store.replace_sessions([replace(session(1), session_id=ids(0))])
    reused, _ = await store.start_new_session(draft, NOW, ids=ids, skip_stored_ids=False)
    assert reused.session_id == ids(0)


def test_session_ids_are_uuid4_and_differ_by_seed_and_number() -> None:
    drawn = {SessionIds(seed)(number) for seed in (1, 2) for number in range(50)}
    assert len(drawn) == 100
    assert all(uuid.UUID(value).version == 4 for value in drawn)
