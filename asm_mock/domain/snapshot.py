"""The whole mutable state as a plain document, and back: `GET`/`PUT /__admin/state`.

`dump_state` turns the world and the stored sessions into JSON-ready dicts (camelCase, as the
admin API names fields; money as exact "123.45" strings; RFC 3339 timestamps). `load_state` turns
such a document back into a `World` and sessions. The document's *shape* is checked before, against
the `State` schema of admin.yaml; `load_state` checks what a schema cannot see — duplicate ids,
unknown sites, agents and customers, sessions that do not fit the world — and raises the OCC
`ValidationError` naming the JSON path (`customers.3.carts.0.code`). It builds new objects only,
so a rejected document changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from asm_mock.domain.errors import ValidationError
from asm_mock.domain.model import (
    Agent,
    AssistedSession,
    Cart,
    Customer,
    OAuthClient,
    Order,
    SessionStatus,
    Ticket,
    TicketStatus,
)
from asm_mock.domain.sessions import session_fields
from asm_mock.domain.world import SITES, World

__all__ = ["RestoredState", "dump_state", "load_state"]

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RestoredState:
    world: World
    sessions: tuple[AssistedSession, ...]


# -- world -> document -----------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _by_customer(records: Iterable[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for record in records:
        grouped.setdefault(record.customer_uid, []).append(record)
    return grouped


def _customer(c: Customer, carts: list[Cart], orders: list[Order], tickets: list[Ticket]) -> Json:
    body: Json = {
        "uid": c.uid,
        "customerId": c.customer_id,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "signedUp": c.signed_up.isoformat(),
        "town": c.town,
        "country": c.country,
        "sites": list(c.sites),
    }
    if c.password is not None:
        body["password"] = c.password
    body["carts"] = [
        {
            "code": x.code,
            "site": x.site,
            "totalItems": x.total_items,
            "total": _money(x.total),
            "modified": x.modified.isoformat(),
        }
        for x in carts
    ]
    body["orders"] = [
        {
            "code": o.code,
            "site": o.site,
            "status": o.status,
            "total": _money(o.total),
            "placed": o.placed.isoformat(),
        }
        for o in orders
    ]
    body["tickets"] = [
        {
            "id": t.id,
            "site": t.site,
            "subject": t.subject,
            "category": t.category,
            "status": str(t.status),
            "created": t.created.isoformat(),
        }
        for t in tickets
    ]
    return body


def _client(client: OAuthClient) -> Json:
    body: Json = {
        "clientId": client.client_id,
        "secret": client.secret,
        "grants": list(client.grants),
        "scopes": list(client.scopes),
    }
    if client.acts_as is not None:
        body["actsAs"] = client.acts_as
    return body


def _session(s: AssistedSession) -> Json:
    body = session_fields(s)
    if s.ended_at is not None:
        body["endedAt"] = s.ended_at.isoformat()
    return body


def dump_state(world: World, sessions: Iterable[AssistedSession]) -> Json:
    """The world and the sessions as admin.yaml's `State` document."""
    carts, orders = _by_customer(world.carts), _by_customer(world.orders)
    tickets = _by_customer(world.tickets)
    return {
        "seed": world.seed,
        "agents": [
            {
                "uid": a.uid,
                "name": a.name,
                "email": a.email,
                "password": a.password,
                "groups": list(a.groups),
            }
            for a in world.agents.values()
        ],
        "clients": [_client(c) for c in world.clients.values()],
        "customers": [
            _customer(c, carts.get(c.uid, []), orders.get(c.uid, []), tickets.get(c.uid, []))
            for c in world.customers
        ],
        "sessions": [_session(s) for s in sessions],
    }


# -- document -> world -----------------------------------------------------------------------


def _invalid(path: str, problem: str) -> ValidationError:
    return ValidationError(
        f"Request body field {path} is invalid: {problem}",
        reason="invalid",
        subject=path,
        subject_type="body",
    )


class _Ids:
    """Identifiers of one kind seen so far, and where: a duplicate names its first use."""

    def __init__(self, kind: str, note: str = "") -> None:
        self._kind = kind
        self._note = note
        self._where: dict[str, str] = {}

    def claim(self, key: str, path: str) -> None:
        if key in self._where:
            where = self._where[key]
            raise _invalid(path, f"duplicate {self._kind} {key!r}: already at {where}{self._note}")
        self._where[key] = path


def _site(site: str, path: str, allowed: Iterable[str], of: str = "the known base sites") -> str:
    allowed = tuple(allowed)
    if site not in allowed:
        raise _invalid(path, f"base site {site!r} is not one of {of} ({', '.join(allowed)})")
    return site


_THEIRS = "the customer's sites"


class _Reader:
    def __init__(self) -> None:
        self.users = _Ids("uid", " (agents and customers share one namespace of login ids)")
        self.codes = _Ids("cart/order code")
        self.carts: list[Cart] = []
        self.orders: list[Order] = []
        self.tickets: list[Ticket] = []

    def agent(self, raw: Mapping[str, Any], path: str) -> Agent:
        self._login(raw["uid"], f"{path}.uid")
        return Agent(raw["uid"], raw["name"], raw["email"], raw["password"], tuple(raw["groups"]))

    def _login(self, uid: str, path: str) -> None:
        if uid != uid.lower():
            raise _invalid(path, f"{uid!r} must be lowercase (SAP lowercases login ids)")
        self.users.claim(uid, path)

    def customer(self, raw: Mapping[str, Any], path: str, ids: _Ids, tickets: _Ids) -> Customer:
        uid: str = raw["uid"]
        self._login(uid, f"{path}.uid")
        ids.claim(raw["customerId"], f"{path}.customerId")
        sites = tuple(_site(s, f"{path}.sites.{i}", SITES) for i, s in enumerate(raw["sites"]))
        for i, c in enumerate(raw["carts"]):
            at = f"{path}.carts.{i}"
            self.codes.claim(c["code"], f"{at}.code")
            site = _site(c["site"], f"{at}.site", sites, _THEIRS)
            total = Decimal(c["total"])
            self.carts.append(
                Cart(c["code"], uid, site, c["totalItems"], total, _at(c["modified"]))
            )
        for i, o in enumerate(raw["orders"]):
            at = f"{path}.orders.{i}"
            self.codes.claim(o["code"], f"{at}.code")
            site = _site(o["site"], f"{at}.site", sites, _THEIRS)
            placed = _at(o["placed"])
            self.orders.append(
                Order(o["code"], uid, site, o["status"], Decimal(o["total"]), placed)
            )
        for i, t in enumerate(raw["tickets"]):
            at = f"{path}.tickets.{i}"
            tickets.claim(t["id"], f"{at}.id")
            site = _site(t["site"], f"{at}.site", sites, _THEIRS)
            status, created = TicketStatus(t["status"]), _at(t["created"])
            self.tickets.append(
                Ticket(t["id"], uid, site, t["subject"], t["category"], status, created)
            )
        return Customer(
            uid=uid,
            customer_id=raw["customerId"],
            first_name=raw["firstName"],
            last_name=raw["lastName"],
            signed_up=_at(raw["signedUp"]),
            town=raw["town"],
            country=raw["country"],
            sites=sites,
            password=raw.get("password"),
        )


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _clients(raw: list[Mapping[str, Any]], agents: Mapping[str, Agent]) -> dict[str, OAuthClient]:
    clients: dict[str, OAuthClient] = {}
    ids = _Ids("clientId")
    for i, c in enumerate(raw):
        ids.claim(c["clientId"], f"clients.{i}.clientId")
        acts_as = c.get("actsAs")
        if acts_as is not None and acts_as not in agents:
            known = ", ".join(agents) or "none"
            raise _invalid(f"clients.{i}.actsAs", f"unknown agent {acts_as!r} (agents: {known})")
        clients[c["clientId"]] = OAuthClient(
            c["clientId"], c["secret"], tuple(c["grants"]), tuple(c["scopes"]), acts_as
        )
    return clients


def _sessions(raw: list[Mapping[str, Any]], world: World) -> tuple[AssistedSession, ...]:
    ids, active_of = _Ids("sessionId"), _Ids("ACTIVE session of agent")
    by_id = {c.customer_id: c for c in world.customers}
    sessions = []
    for i, s in enumerate(raw):
        at = f"sessions.{i}"
        ids.claim(s["sessionId"], f"{at}.sessionId")
        if s["agentId"] not in world.agents:
            raise _invalid(f"{at}.agentId", f"unknown agent {s['agentId']!r}")
        customer = by_id.get(s["customerId"])
        if customer is None:
            raise _invalid(f"{at}.customerId", f"no customer has customerId {s['customerId']!r}")
        site = _site(s["baseSite"], f"{at}.baseSite", customer.sites, _THEIRS)
        cart_id = s.get("cartId")
        carts = world.carts_of(customer, world.sites[site])
        if cart_id is not None and cart_id not in {c.code for c in carts}:
            raise _invalid(f"{at}.cartId", f"{cart_id!r} is not a cart of the customer on {site}")
        status = SessionStatus(s["status"])
        ended_at = s.get("endedAt")
        if (status is SessionStatus.ENDED) != (ended_at is not None):
            raise _invalid(f"{at}.endedAt", "an ENDED session has endedAt, an ACTIVE one has not")
        if status is SessionStatus.ACTIVE:
            active_of.claim(s["agentId"], f"{at}.status")
        created = _at(s["createdAt"])
        ended = None if ended_at is None else _at(ended_at)
        sessions.append(
            AssistedSession(
                s["sessionId"], s["agentId"], s["customerId"], site, cart_id, created, status, ended
            )
        )
    return tuple(sessions)


def load_state(document: Mapping[str, Any]) -> RestoredState:
    """A `State` document (already valid against its schema) as a world and its sessions."""
    reader = _Reader()
    agents: dict[str, Agent] = {}
    for i, raw in enumerate(document["agents"]):
        agent = reader.agent(raw, f"agents.{i}")
        agents[agent.uid] = agent
    clients = _clients(document["clients"], agents)
    customer_ids, ticket_ids = _Ids("customerId"), _Ids("ticket id")
    customers = [
        reader.customer(raw, f"customers.{i}", customer_ids, ticket_ids)
        for i, raw in enumerate(document["customers"])
    ]
    customers.sort(key=lambda c: (c.name.lower(), c.uid))  # the world's search order
    world = World(
        seed=document["seed"],
        sites=SITES,
        customers=tuple(customers),
        agents=agents,
        clients=clients,
        carts=tuple(reader.carts),
        orders=tuple(reader.orders),
        tickets=tuple(reader.tickets),
    )
    return RestoredState(world, _sessions(document["sessions"], world))
