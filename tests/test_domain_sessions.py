"""SessionService and the in-memory store without HTTP: rules, visibility, bounds, atomicity."""

from __future__ import annotations

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


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(max_ended_sessions=50)


@pytest.fixture
def sessions(world: World, store: InMemoryStore) -> SessionService:
    return SessionService(world=lambda: world, store=store, clock=lambda: NOW, ids=SessionIds(1))


def test_session_ids_follow_the_seed() -> None:
    assert [SessionIds(5)() for _ in range(2)] == [SessionIds(5)() for _ in range(2)]
    ids = SessionIds(5)
    assert ids() != ids()
    assert SessionIds(5)() != SessionIds(6)()


def test_one_active_session_per_agent(sessions: SessionService) -> None:
    first = sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    second = sessions.start(AGENT, customer_id=JAMES, base_site="apparel-uk-spa")
    assert sessions.get(AGENT, first.session_id).status is SessionStatus.ENDED
    assert sessions.get(AGENT, second.session_id).status is SessionStatus.ACTIVE
    other = sessions.start(OTHER, customer_id=JAMES, base_site="electronics-spa")
    assert sessions.get(AGENT, second.session_id).status is SessionStatus.ACTIVE
    assert sessions.get(OTHER, other.session_id).status is SessionStatus.ACTIVE


def test_end_removes_and_visibility_is_per_agent(sessions: SessionService) -> None:
    session = sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    with pytest.raises(NotFoundError):
        sessions.get(OTHER, session.session_id)
    with pytest.raises(NotFoundError):
        sessions.end(OTHER, session.session_id)
    assert sessions.get(MANAGER, session.session_id).agent_uid == "asagent"
    assert sessions.end(MANAGER, session.session_id).status is SessionStatus.ENDED
    with pytest.raises(NotFoundError):
        sessions.get(AGENT, session.session_id)


def test_a_customer_must_belong_to_the_site_and_the_cart_to_the_customer(
    sessions: SessionService,
) -> None:
    with pytest.raises(UnknownIdentifierError):
        sessions.start(AGENT, customer_id=JAMES, base_site="nope")
    with pytest.raises(ValidationError) as raised:
        sessions.start(AGENT, customer_id="linda.wolf@rustic-hw.com", base_site="electronics-spa")
    assert raised.value.subject == "customerId"
    with pytest.raises(ValidationError) as raised:
        sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa", cart_id="00000000")
    assert raised.value.subject == "cartId"


def test_a_customer_without_carts_gets_a_session_without_a_cart(sessions: SessionService) -> None:
    session = sessions.start(
        AGENT, customer_id="empty.customer@example.com", base_site="electronics-spa"
    )
    assert session.cart_id is None


def test_ended_sessions_are_bounded(store: InMemoryStore, sessions: SessionService) -> None:
    for _ in range(500):
        sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    assert store.session_count() == 51  # 50 remembered ended sessions + the active one


def test_concurrent_starts_leave_exactly_one_active_session_per_agent() -> None:
    store = InMemoryStore()
    agents = [f"agent{i}" for i in range(8)]

    def hammer(agent: str) -> None:
        for n in range(200):
            session = AssistedSession(f"{agent}-{n}", agent, "c", "electronics-spa", None, NOW)
            store.start_session(session, NOW)

    threads = [threading.Thread(target=hammer, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for agent in agents:
        assert store.session(f"{agent}-199") is not None
        assert store.session(f"{agent}-199").status is SessionStatus.ACTIVE  # type: ignore[union-attr]
        assert store.session(f"{agent}-198").status is SessionStatus.ENDED  # type: ignore[union-attr]
