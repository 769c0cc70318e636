"""The mock's use cases in one place: what each API operation does, without any HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from asm_mock.domain.clock import Clock
from asm_mock.domain.customer360 import Customer360, with_sessions, world_view
from asm_mock.domain.model import Agent, AssistedSession, Cart, Customer
from asm_mock.domain.search import SearchPage, search_customers
from asm_mock.domain.sessions import SessionIds, SessionService
from asm_mock.domain.store import InMemoryStore, SessionStore, TokenStore
from asm_mock.domain.tokens import TokenService
from asm_mock.domain.world import World

__all__ = ["CustomerPage", "CustomerSummary", "MockService", "StateStore"]


class StateStore(TokenStore, SessionStore, Protocol):
    """Everything mutable: one object, so a shared store replaces it in one place."""


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """A search hit with what ASM's customer list shows next to it."""

    customer: Customer
    last_cart_id: str | None
    has_order: bool


@dataclass(frozen=True, slots=True)
class CustomerPage:
    page: SearchPage
    entries: tuple[CustomerSummary, ...]


class MockService:
    def __init__(
        self,
        world: World,
        *,
        store: StateStore | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`clock` tells the time to the sessions and tokens: by default, a `Clock` of its own."""
        if clock is None:
            clock = Clock()
        self._world = world
        self._seeded_world = world
        self._world_lock = threading.Lock()
        self.store: StateStore = store if store is not None else InMemoryStore()
        self.clock = clock
        self.tokens = TokenService(world=self.world, store=self.store, clock=clock)
        self.sessions: SessionService
        self._serve(world)

    def world(self) -> World:
        return self._world

    def _serve(self, world: World, *, skip_stored_ids: bool = False) -> None:
        with self._world_lock:
            self._world = world
            self.sessions = SessionService(
                world=self.world,
                store=self.store,
                clock=self.clock,
                ids=SessionIds(world.seed),
                skip_stored_ids=skip_stored_ids,
            )

    # The store changes first, then the world: a store that fails (a shared store down) leaves
    # everything as it was. No await holds the world's (thread) lock.

    async def replace_world(self, world: World) -> None:
        """Swap in another world (reset, a scenario); sessions belong to the old one: they end."""
        await self.store.clear_sessions()
        self._serve(world)

    async def restore(self, world: World, sessions: Iterable[AssistedSession]) -> None:
        """Swap in `world` and exactly these sessions (a restored snapshot).

        The caller has checked that the sessions fit the world (see `asm_mock.domain.snapshot`).
        New session ids restart from the world's seed, skipping the ids already stored.
        """
        await self.store.replace_sessions(tuple(sessions))
        self._serve(world, skip_stored_ids=True)

    async def expire_tokens(self) -> int:
        """Every issued token expires now (clients must refresh or log in again)."""
        return await self.store.expire_tokens(self.clock())

    def mark_start(self) -> None:
        """Make the current world the one `reset()` returns to (after start-up scenarios)."""
        with self._world_lock:
            self._seeded_world = self._world

    async def reset(self, *, drop_tokens: bool = False) -> None:
        """Back to the world the mock started with; sessions end, tokens stay unless dropped."""
        await self.replace_world(self._seeded_world)
        if drop_tokens:
            await self.store.clear_tokens()

    # -- customers --------------------------------------------------------------------------

    def search(
        self, *, base_site: str, query: str, current_page: int, page_size: int
    ) -> CustomerPage:
        world = self._world
        site = world.site(base_site)
        page = search_customers(world, site, query, current_page=current_page, page_size=page_size)
        entries = []
        for customer in page.entries:
            carts = world.carts_of(customer, site)
            entries.append(
                CustomerSummary(
                    customer,
                    carts[0].code if carts else None,
                    bool(world.orders_of(customer, site)),
                )
            )
        return CustomerPage(page, tuple(entries))

    async def customer_360(self, *, base_site: str, customer_id: str) -> Customer360:
        return await self.with_live_sessions(
            self.world_360(base_site=base_site, customer_id=customer_id)
        )

    def world_360(self, *, base_site: str, customer_id: str) -> Customer360:
        """The 360 view without the sessions: a pure function of the current world."""
        world = self._world
        site = world.site(base_site)
        return world_view(world, site, world.customer_on_site(customer_id, site))

    async def with_live_sessions(self, view: Customer360) -> Customer360:
        sessions = await self.store.sessions_of_customer(view.customer.customer_id)
        return with_sessions(view, sessions)

    def customer_carts(self, *, base_site: str, customer_id: str) -> tuple[Cart, ...]:
        world = self._world
        site = world.site(base_site)
        return world.carts_of(world.customer_on_site(customer_id, site), site)

    def agent(self, agent_id: str) -> Agent:
        return self._world.agent(agent_id)

    async def session_history(self, customer_id: str) -> list[AssistedSession]:
        return await self.store.sessions_of_customer(customer_id)
