"""The world's records as any source gives them, and their invariants, checked in one place.

Fixture files, scenario files and a restored admin state all hand their agents, clients and
customers (with carts, orders and tickets) to `Records`, which claims every identifier and
checks what a per-record schema cannot see: duplicate ids across a whole source, lowercase
login ids, known base sites, records on one of their customer's sites, clients acting as a
known agent. A broken rule raises `RecordProblem` naming where (the source and the path, in the
records' own field names) and what; each source words it in its own terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, auto

from asm_mock.domain.model import Agent, Cart, Customer, OAuthClient, Order, Ticket
from asm_mock.domain.world import SITES, World, search_ordered

__all__ = [
    "CURRENT_WORLD",
    "CustomerRecords",
    "IdKind",
    "Ids",
    "RecordProblem",
    "Records",
    "Rule",
    "Where",
]

Part = str | int

# The source of ids a `Records` holds from an existing world rather than from a document.
CURRENT_WORLD = "the current world"


@dataclass(frozen=True, slots=True)
class Where:
    """A place in a source: its name (a file; "" for a single document) and the path in it."""

    source: str
    path: tuple[Part, ...] = ()

    def at(self, *parts: Part) -> Where:
        return Where(self.source, (*self.path, *parts))


@dataclass(frozen=True, slots=True)
class CustomerRecords:
    """A customer with the history its source gives; None: the source leaves that list to the
    generator (an explicit empty list means "none")."""

    customer: Customer
    carts: tuple[Cart, ...] | None = None
    orders: tuple[Order, ...] | None = None
    tickets: tuple[Ticket, ...] | None = None


class IdKind(Enum):
    """A namespace of identifiers; the value is its name in the records' own terms."""

    LOGIN = "uid"  # agents and customers both log in with the password grant
    CLIENT = "client_id"
    CUSTOMER = "customer_id"
    ORDER_CODE = "cart/order code"  # SAP numbers carts and orders from one key generator
    TICKET = "ticket id"
    SESSION = "session_id"
    ACTIVE_SESSION = "ACTIVE session of agent"  # an agent emulates one customer at a time


class Rule(Enum):
    DUPLICATE = auto()
    NOT_LOWERCASE = auto()  # SAP lowercases login ids: a mixed-case one could never log in
    UNKNOWN_SITE = auto()
    FOREIGN_SITE = auto()  # a record on a site that is not one of its customer's
    UNKNOWN_AGENT = auto()
    UNKNOWN_CUSTOMER = auto()
    FOREIGN_CART = auto()  # a session's cart that is not its customer's on its site
    END_MISMATCH = auto()  # an ENDED session has an end, an ACTIVE one has none


@dataclass(eq=False)
class RecordProblem(Exception):
    """A broken invariant. `record` names the kind of record ("agent", "cart", ...); `value` is
    the offending value; `first` is where a duplicate was first claimed; `allowed` what would
    have been accepted, in the order the records know it."""

    where: Where
    rule: Rule
    record: str
    value: str
    ids: IdKind | None = None
    first: Where | None = None
    allowed: tuple[str, ...] = ()


class Ids:
    """Identifiers of one kind claimed so far, and where: a duplicate names its first use."""

    def __init__(self, kind: IdKind) -> None:
        self._kind = kind
        self._where: dict[str, Where] = {}

    def claim(self, key: str, where: Where, record: str) -> None:
        first = self._where.get(key)
        if first is not None:
            raise RecordProblem(where, Rule.DUPLICATE, record, key, self._kind, first)
        self._where[key] = where

    def hold(self, key: str, where: Where) -> None:
        """Refuse `key` from now on; a key held twice is no problem of the claimant's."""
        self._where.setdefault(key, where)


class Records:
    """Accepts records in their source's order, checking each as it comes.

    `agents_may_follow`: a client may act as an agent added later (fixture files are merged in
    name order); `check_acts_as` then judges, once every agent is in.
    """

    def __init__(self, *, agents_may_follow: bool = False) -> None:
        self.agents: dict[str, Agent] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.customers: list[CustomerRecords] = []
        self._agents_may_follow = agents_may_follow
        self._acts_as: list[tuple[Where, str]] = []
        self._logins = Ids(IdKind.LOGIN)
        self._client_ids = Ids(IdKind.CLIENT)
        self._customer_ids = Ids(IdKind.CUSTOMER)
        self._codes = Ids(IdKind.ORDER_CODE)
        self._ticket_ids = Ids(IdKind.TICKET)

    @classmethod
    def holding(cls, world: World) -> Records:
        """Records that refuse any id `world` already uses (its records are not kept). The world
        is taken as it is: a generated world is not judged by these rules again."""
        records = cls()
        held = Where(CURRENT_WORLD)
        for uid in (*world.agents, *(c.uid for c in world.customers)):
            records._logins.hold(uid, held)
        for customer in world.customers:
            records._customer_ids.hold(customer.customer_id, held)
        for code in (*(c.code for c in world.carts), *(o.code for o in world.orders)):
            records._codes.hold(code, held)
        for ticket in world.tickets:
            records._ticket_ids.hold(ticket.id, held)
        return records

    def add_agent(self, where: Where, agent: Agent) -> None:
        self._login(where.at("uid"), agent.uid, "agent")
        self.agents[agent.uid] = agent

    def add_client(self, where: Where, client: OAuthClient) -> None:
        self._client_ids.claim(client.client_id, where.at("client_id"), "client")
        if client.acts_as is not None:
            self._acts_as.append((where.at("acts_as"), client.acts_as))
            if not self._agents_may_follow:
                self.check_acts_as()
        self.clients[client.client_id] = client

    def check_acts_as(self) -> None:
        for where, uid in self._acts_as:
            if uid not in self.agents:
                raise RecordProblem(
                    where, Rule.UNKNOWN_AGENT, "client", uid, allowed=tuple(self.agents)
                )
        self._acts_as.clear()

    def add_customer(self, where: Where, given: CustomerRecords) -> None:
        customer = given.customer
        self._login(where.at("uid"), customer.uid, "customer")
        self._customer_ids.claim(customer.customer_id, where.at("customer_id"), "customer")
        for i, site in enumerate(customer.sites):
            if site not in SITES:
                raise RecordProblem(
                    where.at("sites", i), Rule.UNKNOWN_SITE, "customer", site, allowed=tuple(SITES)
                )
        history: tuple[tuple[str, Iterable[Cart | Order | Ticket]], ...] = (
            ("carts", given.carts or ()),
            ("orders", given.orders or ()),
            ("tickets", given.tickets or ()),
        )
        for field, items in history:
            record = field.removesuffix("s")
            for i, item in enumerate(items):
                at = where.at(field, i)
                if isinstance(item, Ticket):
                    self._ticket_ids.claim(item.id, at.at("id"), record)
                else:
                    self._codes.claim(item.code, at.at("code"), record)
                if item.site not in customer.sites:
                    raise RecordProblem(
                        at.at("site"), Rule.FOREIGN_SITE, record, item.site, allowed=customer.sites
                    )
        self.customers.append(given)

    def world(self, seed: int) -> World:
        """These records as a world: each customer's history as given (none where omitted)."""
        given = self.customers
        return World(
            seed=seed,
            sites=SITES,
            customers=search_ordered(c.customer for c in given),
            agents=dict(self.agents),
            clients=dict(self.clients),
            carts=tuple(x for c in given for x in c.carts or ()),
            orders=tuple(x for c in given for x in c.orders or ()),
            tickets=tuple(x for c in given for x in c.tickets or ()),
        )

    def _login(self, where: Where, uid: str, record: str) -> None:
        if uid != uid.lower():
            raise RecordProblem(where, Rule.NOT_LOWERCASE, record, uid)
        self._logins.claim(uid, where, record)
