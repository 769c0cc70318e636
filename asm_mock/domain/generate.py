"""Builds a coherent, deterministic world from a seed and the hand-written fixtures.

Faker supplies realistic pools of names, towns and mail domains once per locale; a single
`random.Random(seed)` then draws every customer in turn, so the same seed gives the same world on
any machine (Faker is pinned exactly for this), and the first N customers of a larger world are the
N customers of a smaller one.
"""

from __future__ import annotations

import random
import re
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Generic, TypeVar

from asm_mock.domain.fixtures import Fixtures
from asm_mock.domain.model import Cart, Customer, Order, Ticket, TicketStatus
from asm_mock.domain.name_pools import name_pools
from asm_mock.domain.records import CustomerRecords
from asm_mock.domain.world import REFERENCE_TIME, SITES, World, paused_gc, search_ordered

__all__ = [
    "DEFAULT_CUSTOMERS",
    "DEFAULT_SEED",
    "CodeCounter",
    "HistoryWriter",
    "Progress",
    "build_world",
    "write_history",
]

DEFAULT_SEED = 20260115
DEFAULT_CUSTOMERS = 200

T = TypeVar("T")

Progress = Callable[[int, int], None]
"""Called as progress(done, total) while customers are generated; (total, total) only once the
world is built (and, when large, its search index too): 100% means ready to answer."""

# Code ranges keep generated and hand-written records apart whatever the world's size.
_FIXTURE_CODE_START = 80_000  # history invented for fixture customers that omit it
_GENERATED_CODE_START = 100_000
_FIXTURE_TICKET_START = 8_000
_GENERATED_TICKET_START = 100_000

_HOME_SITES = (("electronics-spa", 50), ("apparel-uk-spa", 30), ("powertools-spa", 20))
_B2C_SITES = ("electronics-spa", "apparel-uk-spa")
_LOCALE_OF_SITE = {"electronics-spa": "en_US", "apparel-uk-spa": "en_GB", "powertools-spa": "en_US"}
_COUNTRY_OF_LOCALE = {"en_US": "United States", "en_GB": "United Kingdom"}
_ORDER_COUNT_WEIGHTS = (30, 20, 15, 12, 8, 6, 4, 3, 2)
_CART_COUNT_WEIGHTS = (45, 35, 15, 5)
_TICKET_COUNT_WEIGHTS = (70, 18, 8, 4)
_TICKET_SUBJECTS = {
    "Enquiry": (
        "Question about delivery times",
        "Is this product compatible with my device?",
        "How do I use my voucher?",
        "Request for an invoice copy",
    ),
    "Complaint": (
        "Parcel arrived late",
        "Item was damaged on delivery",
        "Charged twice for one order",
        "Rude courier",
    ),
    "Problem": (
        "Cannot log in to my account",
        "Wrong item received",
        "Refund not received yet",
        "Discount code not applied",
    ),
}


# The helpers below draw exactly what their plain forms drew (rng.choices(...)[0],
# str(uuid.UUID(int=..., version=4)), ...), so a seed's world stays byte-identical; they only
# skip the per-call set-up, which is most of a 100k-customer world's build time.


@lru_cache(maxsize=4096)  # names come from small pools: each is transliterated once
def _email_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_name.lower())


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # version and variant bits
_UUID4_SET = (4 << 76) | (0x8000 << 48)


def _uuid4(rng: random.Random) -> str:
    """str(uuid.UUID(int=rng.getrandbits(128), version=4)), without the UUID object."""
    value = f"{(rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def _below(rng: random.Random, n: int) -> int:
    """rng.randrange(n) for n > 0, drawn as CPython 3.11's Random does (rejection sampling on
    getrandbits); written out, it costs a third, and no longer depends on the Python version."""
    bits = n.bit_length()
    value = rng.getrandbits(bits)
    while value >= n:
        value = rng.getrandbits(bits)
    return value


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    """rng.choice(options)."""
    return options[_below(rng, len(options))]


def _instant_between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max(int((end - start).total_seconds()), 1)
    return start + timedelta(seconds=_below(rng, span))


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(f"{rng.uniform(low, high):.2f}")


class _Weighted(Generic[T]):
    """rng.choices(population, weights)[0] with the cumulative weights computed once: the same
    single rng.random() draw, the same bisect."""

    def __init__(self, population: Sequence[T], weights: Sequence[int]) -> None:
        self._population = tuple(population)
        self._cumulative = tuple(accumulate(weights))
        self._total = self._cumulative[-1] + 0.0
        self._hi = len(self._population) - 1

    def __call__(self, rng: random.Random) -> T:
        return self._population[bisect(self._cumulative, rng.random() * self._total, 0, self._hi)]


_TICKET_CATEGORIES = tuple(_TICKET_SUBJECTS)
_ORDER_COUNT = _Weighted(range(len(_ORDER_COUNT_WEIGHTS)), _ORDER_COUNT_WEIGHTS)
_CART_COUNT = _Weighted(range(len(_CART_COUNT_WEIGHTS)), _CART_COUNT_WEIGHTS)
_TICKET_COUNT = _Weighted(range(len(_TICKET_COUNT_WEIGHTS)), _TICKET_COUNT_WEIGHTS)
_SETTLED_STATUS = _Weighted(("COMPLETED", "CANCELLED", "CANCELLING"), (85, 12, 3))
_HOME_SITE = _Weighted([s for s, _ in _HOME_SITES], [w for _, w in _HOME_SITES])


class CodeCounter:
    """Hands out 8-digit codes (or ticket ids) in order from `start`."""

    def __init__(self, start: int) -> None:
        self._next = start

    def __call__(self) -> str:
        value, self._next = self._next, self._next + 1
        return f"{value:08d}"


class HistoryWriter:
    """Invents one customer's carts, orders and tickets, each on one of the customer's sites."""

    def __init__(self, codes: CodeCounter, ticket_ids: CodeCounter) -> None:
        self._codes = codes
        self._ticket_ids = ticket_ids
        self.carts: list[Cart] = []
        self.orders: list[Order] = []
        self.tickets: list[Ticket] = []

    def orders_for(self, rng: random.Random, customer: Customer) -> None:
        for _ in range(_ORDER_COUNT(rng)):
            site = _pick(rng, customer.sites)
            placed = _instant_between(rng, customer.signed_up, REFERENCE_TIME)
            self.orders.append(
                Order(
                    self._codes(),
                    customer.uid,
                    site,
                    _order_status(rng, site, REFERENCE_TIME - placed),
                    _money(rng, 9.99, 2499.0),
                    placed,
                )
            )

    def carts_for(self, rng: random.Random, customer: Customer) -> None:
        recent = max(customer.signed_up, REFERENCE_TIME - timedelta(days=120))
        for _ in range(_CART_COUNT(rng)):
            items = 1 + _below(rng, 12)  # rng.randint(1, 12)
            self.carts.append(
                Cart(
                    self._codes(),
                    customer.uid,
                    _pick(rng, customer.sites),
                    items,
                    _money(rng, 4.99 * items, 180.0 * items),
                    _instant_between(rng, recent, REFERENCE_TIME),
                )
            )

    def tickets_for(self, rng: random.Random, customer: Customer) -> None:
        for _ in range(_TICKET_COUNT(rng)):
            category = _pick(rng, _TICKET_CATEGORIES)
            created = _instant_between(rng, customer.signed_up, REFERENCE_TIME)
            age = REFERENCE_TIME - created
            status = (
                TicketStatus.CLOSED
                if age > timedelta(days=30)
                else _pick(rng, (TicketStatus.OPEN, TicketStatus.IN_PROCESS, TicketStatus.CLOSED))
            )
            self.tickets.append(
                Ticket(
                    self._ticket_ids(),
                    customer.uid,
                    _pick(rng, customer.sites),
                    _pick(rng, _TICKET_SUBJECTS[category]),
                    category,
                    status,
                    created,
                )
            )


def _order_status(rng: random.Random, site: str, age: timedelta) -> str:
    if site == "powertools-spa" and age < timedelta(days=14):
        return _pick(rng, ("PENDING_APPROVAL", "APPROVED", "REJECTED"))
    if age < timedelta(days=3):
        return _pick(rng, ("CREATED", "PAYMENT_CAPTURED", "READY"))
    return _SETTLED_STATUS(rng)


def _generated_customers(
    rng: random.Random,
    count: int,
    taken_uids: set[str],
    progress: Progress | None,
    pools_cache: Path | None,
) -> Iterator[Customer]:
    pools = name_pools(rng.randrange(2**32), tuple(_COUNTRY_OF_LOCALE), pools_cache)
    domains = ("example.com", "example.org", "example.net", "mail.example.com")
    report_every = max(count // 100, 1)
    for index in range(count):
        home = _HOME_SITE(rng)
        locale = _LOCALE_OF_SITE[home]
        pool = pools[locale]
        first, last = _pick(rng, pool.first_names), _pick(rng, pool.last_names)
        local = f"{_email_part(first)}.{_email_part(last)}"
        uid = f"{local}@{_pick(rng, domains)}"
        while uid in taken_uids:
            uid = f"{local}{rng.randint(1, 9999)}@{rng.choice(domains)}"
        taken_uids.add(uid)
        sites: tuple[str, ...] = (home,)
        if home in _B2C_SITES and rng.random() < 0.2:
            sites = (home, next(s for s in _B2C_SITES if s != home))
        yield Customer(
            uid=uid,
            customer_id=_uuid4(rng),
            first_name=first,
            last_name=last,
            signed_up=_instant_between(
                rng, REFERENCE_TIME - timedelta(days=6 * 365), REFERENCE_TIME - timedelta(days=30)
            ),
            town=_pick(rng, pool.towns),
            country=_COUNTRY_OF_LOCALE[locale],
            sites=sites,
        )
        if progress is not None and (index + 1) % report_every == 0 and index + 1 < count:
            progress(index + 1, count)  # build_world reports the 100%


def write_history(seed: int, given: CustomerRecords, writer: HistoryWriter) -> None:
    """The history `given` holds, with the lists it omits invented by `writer`."""
    # Seeded by uid, so a fixture customer's invented history doesn't shift with --customers.
    customer = given.customer
    rng = random.Random(f"{seed}:{customer.uid}")
    if given.orders is None:
        writer.orders_for(rng, customer)
    else:
        writer.orders.extend(given.orders)
    if given.carts is None:
        writer.carts_for(rng, customer)
    else:
        writer.carts.extend(given.carts)
    if given.tickets is None:
        writer.tickets_for(rng, customer)
    else:
        writer.tickets.extend(given.tickets)


@paused_gc()  # ~1M new objects and no garbage: see paused_gc
def build_world(
    *,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    fixtures: Fixtures,
    progress: Progress | None = None,
    pools_cache: Path | None = None,
) -> World:
    """The world of `seed`. `pools_cache`: where Faker's name pools are cached (None: not)."""
    if customers < 0:
        raise ValueError("customers must be >= 0")
    fixture_writer = HistoryWriter(
        CodeCounter(_FIXTURE_CODE_START), CodeCounter(_FIXTURE_TICKET_START)
    )
    all_customers: list[Customer] = []
    for given in fixtures.customers:
        all_customers.append(given.customer)
        write_history(seed, given, fixture_writer)

    rng = random.Random(seed)
    writer = HistoryWriter(CodeCounter(_GENERATED_CODE_START), CodeCounter(_GENERATED_TICKET_START))
    taken = {c.uid for c in all_customers}
    for customer in _generated_customers(rng, customers, taken, progress, pools_cache):
        all_customers.append(customer)
        writer.orders_for(rng, customer)
        writer.carts_for(rng, customer)
        writer.tickets_for(rng, customer)

    world = World(
        seed=seed,
        sites=SITES,
        customers=search_ordered(all_customers),
        agents={a.uid: a for a in fixtures.agents},
        clients={c.client_id: c for c in fixtures.clients},
        carts=tuple(fixture_writer.carts + writer.carts),
        orders=tuple(fixture_writer.orders + writer.orders),
        tickets=tuple(fixture_writer.tickets + writer.tickets),
    )
    if progress is not None and customers > 0:
        progress(customers, customers)
    return world
