"""A replica answers a token it looked up before from memory, unconfirmed, and the store still
refuses it at once once it is gone (`asm_mock.domain.token_checks`): the request's first store
step is guarded by the token, or the token is confirmed before the answer leaves. Outside an API
request's token check, the store is always asked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis

from asm_mock.domain.errors import InvalidTokenError, StoreUnavailableError
from asm_mock.domain.model import AssistedSession
from asm_mock.domain.store import IssuedToken, SessionIds
from asm_mock.domain.token_checks import checking_tokens, current_token_check
from asm_mock.shared.store import RedisStore, key_prefix
from asm_mock.testing import RedisServer
from tests.helpers import StoreOf

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC).replace(microsecond=0)
ISSUED = IssuedToken(
    "access-r", "refresh-r", "mobile_android", "asagent", ("basic",), NOW + timedelta(hours=1)
)
DRAFT = AssistedSession("", "asagent", "c1", "electronics", None, NOW)
IDS = SessionIds(7)


def _evalsha_calls(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def _revoke_elsewhere(url: str) -> None:
    """What a refresh or a reset on another replica does to the token's key."""
    with redis.Redis.from_url(url) as client:
        assert client.delete(key_prefix("test") + "t:" + ISSUED.access_token) == 1


@pytest.fixture
async def remembered(redis_url: str, open_store: StoreOf) -> RedisStore:
    """A store that looked the token up once: it remembers it."""
    store = open_store(redis_url)
    await store.save_token(ISSUED)
    assert await store.token(ISSUED.access_token) == ISSUED
    return store


@pytest.fixture
def revoked(remembered: RedisStore, redis_url: str) -> RedisStore:
    """The same store, once the token is gone from Redis (revoked elsewhere)."""
    _revoke_elsewhere(redis_url)
    return remembered


async def test_a_remembered_token_costs_no_round_trip_and_is_confirmed_before_the_answer(
    remembered: RedisStore, redis_url: str
) -> None:
    before = _evalsha_calls(redis_url)
    with checking_tokens() as check:
        assert await remembered.token(ISSUED.access_token) == ISSUED
        assert _evalsha_calls(redis_url) == before
        assert check.unconfirmed is not None
        await check.settle()  # Redis still holds it
        assert check.unconfirmed is None
    assert _evalsha_calls(redis_url) == before + 1


async def test_a_token_revoked_elsewhere_is_refused_before_the_answer_leaves(
    revoked: RedisStore,
) -> None:
    with checking_tokens() as check:
        assert await revoked.token(ISSUED.access_token) == ISSUED  # unconfirmed
        with pytest.raises(InvalidTokenError):
            await check.settle()
    assert await revoked.token(ISSUED.access_token) is None


async def test_the_first_store_step_of_a_revoked_token_changes_nothing_and_is_a_401(
    revoked: RedisStore,
) -> None:
    with checking_tokens() as check:
        await revoked.token(ISSUED.access_token)
        with pytest.raises(InvalidTokenError):
            await revoked.start_new_session(DRAFT, NOW, ids=IDS, skip_stored_ids=False)
        assert check.unconfirmed is None  # nothing left to confirm: the answer is the 401
    assert await revoked.session_count() == 0


async def test_the_first_store_step_confirms_the_token_in_the_same_round_trip(
    remembered: RedisStore, redis_url: str
) -> None:
    before = _evalsha_calls(redis_url)
    with checking_tokens() as check:
        await remembered.token(ISSUED.access_token)
        session, _ = await remembered.start_new_session(DRAFT, NOW, ids=IDS, skip_stored_ids=False)
        assert check.unconfirmed is None
        await check.settle()  # asks nothing more
    assert _evalsha_calls(redis_url) == before + 1
    assert await remembered.session(session.session_id) == session


async def test_outside_a_token_check_the_store_is_asked(revoked: RedisStore) -> None:
    assert await revoked.token(ISSUED.access_token) is None


async def test_a_task_started_inside_a_token_check_is_not_part_of_it(revoked: RedisStore) -> None:
    async def background() -> IssuedToken | None:
        assert current_token_check() is None  # it inherits the variable, not the check
        return await revoked.token(ISSUED.access_token)

    with checking_tokens():
        assert await asyncio.create_task(background()) is None


async def test_another_namespace_never_takes_the_token_for_its_own(
    remembered: RedisStore, redis_url: str, open_store: StoreOf
) -> None:
    other = open_store(redis_url, "other-tenant")
    assert await other.token(ISSUED.access_token) is None
    with checking_tokens() as check:
        assert await other.token(ISSUED.access_token) is None
        assert check.unconfirmed is None
        await remembered.token(ISSUED.access_token)
        await other.session_count()  # another namespace's step: not guarded by this token
        assert check.unconfirmed is not None


async def test_a_store_away_at_confirmation_is_unavailable_not_a_pass(
    redis_server: RedisServer,  # skips (or fails, in CI) without redis-server
    open_store: StoreOf,
) -> None:
    with RedisServer() as private:
        store = open_store(private.url, timeout=0.5)
        await store.save_token(ISSUED)
        await store.token(ISSUED.access_token)
        with checking_tokens() as check:
            await store.token(ISSUED.access_token)
            private.stop()
            with pytest.raises(StoreUnavailableError):
                await check.settle()
