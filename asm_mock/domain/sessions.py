"""Assisted sessions: an agent emulating one customer (and cart) of one base site at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from asm_mock.domain.errors import NotFoundError, ValidationError
from asm_mock.domain.model import AssistedSession
from asm_mock.domain.store import SessionIds, SessionStore
from asm_mock.domain.tokens import Principal
from asm_mock.domain.world import World

__all__ = ["SessionIds", "SessionService"]


class SessionService:
    def __init__(
        self,
        *,
        world: Callable[[], World],
        store: SessionStore,
        clock: Callable[[], datetime],
        ids: SessionIds,
        skip_stored_ids: bool = False,
    ) -> None:
        """`skip_stored_ids`: after a restore, numbering restarts while restored sessions keep
        their ids, so a drawn id a stored session has is passed over (never issued twice)."""
        self._world = world
        self._store = store
        self._clock = clock
        self._ids = ids
        self._skip_stored_ids = skip_stored_ids

    async def start(
        self, agent: Principal, *, customer_id: str, base_site: str, cart_id: str | None = None
    ) -> AssistedSession:
        world = self._world()
        site = world.site(base_site, given_as="body")
        customer = world.site_customer(customer_id, site)
        if customer is None:
            raise ValidationError(
                f"Customer {customer_id} is not a customer of base site {base_site}",
                reason="unknownIdentifier",
                subject="customerId",
                subject_type="body",
            )
        carts = world.carts_of(customer, site)
        if cart_id is not None and cart_id not in {c.code for c in carts}:
            raise ValidationError(
                f"Cart {cart_id} is not a cart of customer {customer_id} on {base_site}",
                reason="invalid",
                subject="cartId",
                subject_type="body",
            )
        now = self._clock()
        draft = AssistedSession(
            session_id="",  # the store numbers it and gives it its seeded id
            agent_uid=agent.uid,
            customer_id=customer.customer_id,
            site=site.uid,
            cart_id=cart_id if cart_id is not None else (carts[0].code if carts else None),
            created_at=now,
        )
        session, _ = await self._store.start_new_session(
            draft, now, ids=self._ids, skip_stored_ids=self._skip_stored_ids
        )
        return session

    async def get(self, agent: Principal, session_id: str) -> AssistedSession:
        return self._visible(agent, session_id, await self._store.session(session_id))

    async def end(self, agent: Principal, session_id: str) -> AssistedSession:
        by_agent = None if agent.sees_all_sessions else agent.uid
        ended = await self._store.end_session(session_id, self._clock(), by_agent=by_agent)
        return self._visible(agent, session_id, ended)

    @staticmethod
    def _visible(
        agent: Principal, session_id: str, session: AssistedSession | None
    ) -> AssistedSession:
        # Another agent's session answers 404, not 403: its existence is not the caller's business.
        if session is None or (session.agent_uid != agent.uid and not agent.sees_all_sessions):
            raise NotFoundError(
                f"Session {session_id} not found",
                reason="notFound",
                subject="sessionId",
                subject_type="parameter",
            )
        return session
