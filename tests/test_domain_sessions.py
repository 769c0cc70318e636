"""SessionService and the in-memory store without HTTP: rules, visibility, bounds, atomicity."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from asm_mock.domain.errors import NotFoundError, UnknownIdentifierError, ValidationError
from asm_mock.domain.model import AssistedSession, SessionStatus
from asm_mock.domain.sessions import SessionIds, SessionService
from asm_mock.domain.store import InMemoryStore
from asm_mock.domain.tokens import AGENT_GROUP, MANAGER_GROUP, Principal
from asm_mock.domain.world import World

NOW = datetime(2026, 3, 1, tzinfo=UTC)
AGENT = Principal("asagent", (AGENT_GROUP,), ())
OTHER = Principal("cs.agent.emma", (AGENT_GROUP,), ())
MANAGER = Principal("asagentsalesmanager", (AGENT_GROUP, MANAGER_GROUP), ())
JAMES = "james.weber@example.com"

pytestmark = pytest.mark.anyio


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(max_ended_sessions=50)


@pytest.fixture
def sessions(world: World, store: InMemoryStore) -> SessionService:
    return SessionService(world=lambda: world, store=store, clock=lambda: NOW, ids=SessionIds(1))


def test_session_ids_follow_the_seed() -> None:
    assert [SessionIds(5)(n) for n in range(2)] == [SessionIds(5)(n) for n in range(2)]
    ids = SessionIds(5)
    assert ids(0) != ids(1)
    assert SessionIds(5)(0) != SessionIds(6)(0)


async def test_ids_follow_the_store_numbering_which_a_clear_restarts(
    sessions: SessionService, store: InMemoryStore
) -> None:
    first = await sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    second = await sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    assert [first.session_id, second.session_id] == [SessionIds(1)(0), SessionIds(1)(1)]
    await store.clear_sessions()
    again = await sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    assert again.session_id == first.session_id


async def test_one_active_session_per_agent(sessions: SessionService) -> None:
    first = await sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    second = await sessions.start(AGENT, customer_id=JAMES, base_site="apparel-uk-spa")
    assert (await sessions.get(AGENT, first.session_id)).status is SessionStatus.ENDED
    assert (await sessions.get(AGENT, second.session_id)).status is SessionStatus.ACTIVE
    other = await sessions.start(OTHER, customer_id=JAMES, base_site="electronics-spa")
    assert (await sessions.get(AGENT, second.session_id)).status is SessionStatus.ACTIVE
    assert (await sessions.get(OTHER, other.session_id)).status is SessionStatus.ACTIVE


async def test_end_removes_and_visibility_is_per_agent(sessions: SessionService) -> None:
    session = await sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    with pytest.raises(NotFoundError):
        await sessions.get(OTHER, session.session_id)
    with pytest.raises(NotFoundError):
        await sessions.end(OTHER, session.session_id)
    assert (await sessions.get(MANAGER, session.session_id)).agent_uid == "asagent"
    assert (await sessions.end(MANAGER, session.session_id)).status is SessionStatus.ENDED
    with pytest.raises(NotFoundError):
        await sessions.get(AGENT, session.session_id)


async def test_a_customer_must_belong_to_the_site_and_the_cart_to_the_customer(
    sessions: SessionService,
) -> None:
    with pytest.raises(UnknownIdentifierError):
        await sessions.start(AGENT, customer_id=JAMES, base_site="nope")
    with pytest.raises(ValidationError) as raised:
        await sessions.start(
            AGENT, customer_id="linda.wolf@rustic-hw.com", base_site="electronics-spa"
        )
    assert raised.value.subject == "customerId"
    with pytest.raises(ValidationError) as raised:
        await sessions.start(
            AGENT, customer_id=JAMES, base_site="electronics-spa", cart_id="00000000"
        )
    assert raised.value.subject == "cartId"


async def test_a_customer_without_carts_gets_a_session_without_a_cart(
    sessions: SessionService,
) -> None:
    session = await sessions.start(
        AGENT, customer_id="empty.customer@example.com", base_site="electronics-spa"
    )
    assert session.cart_id is None


async def test_ended_sessions_are_bounded(store: InMemoryStore, sessions: SessionService) -> None:
    for _ in range(500):
        await sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    assert await store.session_count() == 51  # 50 remembered ended sessions + the active one


def test_concurrent_starts_leave_exactly_one_active_session_per_agent() -> None:
    store = InMemoryStore()
    agents = [f"agent{i}" for i in range(8)]

    async def hammer(agent: str) -> None:
        for n in range(200):
            session = AssistedSession(f"{agent}-{n}", agent, "c", "electronics-spa", None, NOW)
            await store.start_session(session, NOW)

    # a loop per thread: the store's lock, not one event loop, keeps each start atomic
    threads = [threading.Thread(target=asyncio.run, args=(hammer(a),)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for agent in agents:
        last, before = (
            asyncio.run(store.session(f"{agent}-199")),
            asyncio.run(store.session(f"{agent}-198")),
        )
        assert last is not None and last.status is SessionStatus.ACTIVE
        assert before is not None and before.status is SessionStatus.ENDED
