"""The world: an immutable, indexed snapshot of every site, customer, cart, order and ticket."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Protocol, TypeVar

from asm_mock.domain.bitset_index import BitsetIndex
from asm_mock.domain.errors import NotFoundError, UnknownIdentifierError
from asm_mock.domain.model import (
    Agent,
    BaseSite,
    Cart,
    Customer,
    OAuthClient,
    Order,
    Ticket,
    User,
)

__all__ = [
    "REFERENCE_TIME",
    "SEARCH_INDEX_MIN_CUSTOMERS",
    "SITES",
    "SiteSearchIndex",
    "World",
    "paused_gc",
    "search_ordered",
]

# Generated dates are relative to this instant, not to the clock, so that one seed gives
# byte-identical answers on any day and any machine.
REFERENCE_TIME = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)

SITES: Mapping[str, BaseSite] = {
    site.uid: site
    for site in (
        BaseSite("electronics-spa", "Electronics Site", "USD", "$"),
        BaseSite("apparel-uk-spa", "Apparel Site UK", "GBP", "£"),
        BaseSite("powertools-spa", "Powertools Site", "USD", "$"),
    )
}

_SiteKey = tuple[str, str]  # (customer uid, site uid)


def search_ordered(customers: Iterable[Customer]) -> tuple[Customer, ...]:
    """`customers` in the order a world keeps them and a search pages through them."""
    return tuple(sorted(customers, key=lambda c: (c.name.lower(), c.uid)))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a world is built.

    A world is ~1M new, acyclic objects (records, datetimes, Decimals, tuples); each 700 new
    objects trigger a collection that walks the young ones, and the survivors are walked again by
    the older generations: about 1.3 s of a 100k-customer build, for no garbage at all (records
    are freed by reference counting). Only the build's own time is paused; a collection that was
    due runs once collection resumes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# From this many customers on, a world builds a numpy search index per site when it is
# constructed. Eager, not lazy on a first search: a 100k world's index takes about a second to
# build, which belongs to start-up (with its progress bar), not to an agent's first search; and
# an index built once, before the world is shared, needs no lock.
# A smaller world spares itself numpy's import (~0.15 s): each site gets a pure-Python
# `BitsetIndex` on its first search instead (~5 ms at the default 200 customers, ~0.15 s per
# site just under this bound), so start-up is not slowed for sites nobody searches.
SEARCH_INDEX_MIN_CUSTOMERS = 5_000


class SiteSearchIndex(Protocol):
    """One site's customer search: which of its haystacks hold a needle (see `World`)."""

    def __len__(self) -> int: ...

    def page(self, needle: str, start: int, size: int) -> tuple[int, list[int]]: ...


class _SiteRecord(Protocol):
    @property
    def customer_uid(self) -> str: ...
    @property
    def site(self) -> str: ...


_R = TypeVar("_R", bound=_SiteRecord)


def _group_newest_first(
    records: Iterable[_R], sort_key: Callable[[_R], tuple[datetime, str]]
) -> dict[_SiteKey, tuple[_R, ...]]:
    # One sort of all records, then grouping, gives each group what sorting it alone would (a
    # reverse sort is stable too), at a fraction of the cost of 100k small sorts.
    grouped: dict[_SiteKey, list[_R]] = {}
    for record in sorted(records, key=sort_key, reverse=True):
        grouped.setdefault((record.customer_uid, record.site), []).append(record)
    return {k: tuple(v) for k, v in grouped.items()}


@dataclass(frozen=True)
class World:
    seed: int
    sites: Mapping[str, BaseSite]
    customers: tuple[Customer, ...]  # in search order: by name, then uid
    agents: Mapping[str, Agent]
    clients: Mapping[str, OAuthClient]
    carts: tuple[Cart, ...]
    orders: tuple[Order, ...]
    tickets: tuple[Ticket, ...]
    _by_key: dict[str, Customer] = field(init=False, repr=False)
    _carts: dict[_SiteKey, tuple[Cart, ...]] = field(init=False, repr=False)
    _orders: dict[_SiteKey, tuple[Order, ...]] = field(init=False, repr=False)
    _tickets: dict[_SiteKey, tuple[Ticket, ...]] = field(init=False, repr=False)
    _site_customers: dict[str, tuple[Customer, ...]] = field(init=False, repr=False)
    _users: dict[str, User] = field(init=False, repr=False)
    _haystacks: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    _search_indexes: dict[str, SiteSearchIndex] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        with paused_gc():
            self._index()

    def _index(self) -> None:
        by_key: dict[str, Customer] = {}
        for customer in self.customers:
            by_key[customer.uid] = customer
            by_key[customer.customer_id] = customer
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(
            self, "_carts", _group_newest_first(self.carts, attrgetter("modified", "code"))
        )
        object.__setattr__(
            self, "_orders", _group_newest_first(self.orders, attrgetter("placed", "code"))
        )
        object.__setattr__(
            self, "_tickets", _group_newest_first(self.tickets, attrgetter("created", "id"))
        )
        # What search matches against, lowercased once: name, uid and customerId in one string
        # (NUL-separated, so a query cannot match across two fields); one string per customer,
        # shared by the sites the customer is on.
        site_customers: dict[str, list[Customer]] = {s: [] for s in self.sites}
        haystacks: dict[str, list[str]] = {s: [] for s in self.sites}
        for c in self.customers:
            text = f"{c.name.lower()}\0{c.uid}\0{c.customer_id}"
            for s in set(c.sites):  # a site listed twice lists the customer once
                if s in site_customers:
                    site_customers[s].append(c)
                    haystacks[s].append(text)
        object.__setattr__(
            self, "_site_customers", {s: tuple(cs) for s, cs in site_customers.items()}
        )
        object.__setattr__(self, "_haystacks", {s: tuple(hs) for s, hs in haystacks.items()})
        users = {
            c.uid: User(c.uid, c.password, ("customergroup",))
            for c in self.customers
            if c.password is not None
        }
        users.update({a.uid: User(a.uid, a.password, a.groups) for a in self.agents.values()})
        object.__setattr__(self, "_users", users)
        object.__setattr__(self, "_search_indexes", self._build_search_indexes())

    def _build_search_indexes(self) -> dict[str, SiteSearchIndex]:
        if len(self.customers) < SEARCH_INDEX_MIN_CUSTOMERS:
            return {}  # filled by `search_index`, site by site
        from asm_mock.domain.search_index import SearchIndex  # numpy: only for large worlds

        return {site: SearchIndex(texts) for site, texts in self._haystacks.items()}

    # -- look-ups that answer SAP's errors -------------------------------------------------

    def site(self, uid: str, *, given_as: str = "parameter") -> BaseSite:
        """The base site, or SAP's 400 naming where the unknown id came from (parameter/body)."""
        try:
            return self.sites[uid]
        except KeyError:
            raise UnknownIdentifierError(
                f"Base site {uid} doesn't exist",
                reason="unknownIdentifier",
                subject="baseSite",
                subject_type=given_as,
            ) from None

    def find_customer(self, key: str) -> Customer | None:
        """A customer by customerId or by uid (SAP accepts either as userId)."""
        return self._by_key.get(key) or self._by_key.get(key.lower())

    def site_customer(self, key: str, site: BaseSite) -> Customer | None:
        """The customer `key` names, if registered on `site`."""
        customer = self.find_customer(key)
        return customer if customer is not None and site.uid in customer.sites else None

    def customer_on_site(self, key: str, site: BaseSite) -> Customer:
        customer = self.site_customer(key, site)
        if customer is None:
            raise NotFoundError(
                f"Cannot find user with propertyValue '{key}'",
                reason="notFound",
                subject="customerId",
                subject_type="parameter",
            )
        return customer

    def agent(self, uid: str) -> Agent:
        try:
            return self.agents[uid]
        except KeyError:
            raise NotFoundError(
                f"Agent {uid} not found",
                reason="notFound",
                subject="agentId",
                subject_type="parameter",
            ) from None

    def users(self) -> Mapping[str, User]:
        """Everyone who may use the password grant: agents and customers with a password."""
        return self._users

    # -- a customer's history on one site, newest first ------------------------------------

    def customers_on(self, site: BaseSite) -> tuple[Customer, ...]:
        return self._site_customers.get(site.uid, ())

    def search_haystacks(self, site: BaseSite) -> tuple[str, ...]:
        """Per customer of `customers_on(site)`, in the same order: the text search looks in."""
        return self._haystacks.get(site.uid, ())

    def search_index(self, site: BaseSite) -> SiteSearchIndex:
        """The index over `search_haystacks(site)`: exactly the customers a scan would find."""
        index = self._search_indexes.get(site.uid)
        if index is None:
            # A small world, this site's first search. Two threads may race to build it: both
            # build the same index from the same immutable haystacks, and either may be kept.
            index = BitsetIndex(self.search_haystacks(site))
            if site.uid in self._haystacks:
                self._search_indexes[site.uid] = index
        return index

    def carts_of(self, customer: Customer, site: BaseSite) -> tuple[Cart, ...]:
        return self._carts.get((customer.uid, site.uid), ())

    def orders_of(self, customer: Customer, site: BaseSite) -> tuple[Order, ...]:
        return self._orders.get((customer.uid, site.uid), ())

    def tickets_of(self, customer: Customer, site: BaseSite) -> tuple[Ticket, ...]:
        return self._tickets.get((customer.uid, site.uid), ())
