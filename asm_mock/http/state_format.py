"""The admin API's `State` document (`GET`/`PUT /__admin/state`): the world and its sessions.

`dump_state` writes admin.yaml's `State` shape (camelCase, as the admin API names fields; money
as exact "123.45" strings; RFC 3339 timestamps). `load_state` reads such a document, whose
*shape* admin.yaml's schema has checked, into records; `Records` and the domain's `restore`
check what a schema cannot see, and their problems come back here to be worded as the OCC
`ValidationError` naming the JSON path (`customers.3.carts.0.code`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from asm_mock.domain.clock import iso_text
from asm_mock.domain.errors import ValidationError
from asm_mock.domain.fixtures import read_agent, read_client, read_customer
from asm_mock.domain.model import (
    Agent,
    AssistedSession,
    Cart,
    Customer,
    OAuthClient,
    Order,
    SessionStatus,
    Ticket,
)
from asm_mock.domain.records import IdKind, RecordProblem, Records, Rule, Where
from asm_mock.domain.snapshot import RestoredState, restore
from asm_mock.domain.world import World
from asm_mock.http.serialize import session, timestamp

__all__ = ["dump_state", "load_state"]

Json = dict[str, Any]

# The records' field names as the document spells them; the others are the same.
_NAMES = {
    "customer_id": "customerId",
    "first_name": "firstName",
    "last_name": "lastName",
    "signed_up": "signedUp",
    "total_items": "totalItems",
    "client_id": "clientId",
    "acts_as": "actsAs",
    "session_id": "sessionId",
    "cart_id": "cartId",
    "ended_at": "endedAt",
}
_RECORD_NAMES = {name: field for field, name in _NAMES.items()}
# A session is written as the API's AssistedSession, whose names differ from the record's.
_SESSION_NAMES = {**_NAMES, "agent_uid": "agentId", "site": "baseSite"}
_OWNER = "customer_uid"  # implied: a customer's history is written inside the customer


# -- world -> document -----------------------------------------------------------------------


def _names_of(kind: type[Any]) -> tuple[tuple[str, str], ...]:
    """(attribute, document name) of each field a record of `kind` writes, in its order."""
    return tuple((f.name, _NAMES.get(f.name, f.name)) for f in fields(kind) if f.name != _OWNER)


_WRITTEN: dict[type[Any], tuple[tuple[str, str], ...]] = {
    kind: _names_of(kind) for kind in (Agent, OAuthClient, Customer, Cart, Order, Ticket)
}


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"  # money: exact, as a string
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, Enum):
        return str(value)
    return list(value) if isinstance(value, tuple) else value


def _document(record: object) -> Json:
    """A record as its document: every field but the implied owner and the absent ones."""
    body: Json = {}
    for attribute, name in _WRITTEN[type(record)]:
        value = getattr(record, attribute)
        if value is not None:
            body[name] = _value(value)
    return body


def _by_customer(records: Iterable[Any]) -> dict[str, list[Json]]:
    grouped: dict[str, list[Json]] = {}
    for record in records:
        grouped.setdefault(record.customer_uid, []).append(_document(record))
    return grouped


def _session(s: AssistedSession) -> Json:
    body = session(s)
    if s.ended_at is not None:
        body["endedAt"] = iso_text(s.ended_at)  # as session() writes createdAt
    return body


def dump_state(world: World, sessions: Iterable[AssistedSession]) -> Json:
    """The world and the sessions as admin.yaml's `State` document."""
    history = {
        "carts": _by_customer(world.carts),
        "orders": _by_customer(world.orders),
        "tickets": _by_customer(world.tickets),
    }
    return {
        "seed": world.seed,
        "agents": [_document(a) for a in world.agents.values()],
        "clients": [_document(c) for c in world.clients.values()],
        "customers": [
            _document(c) | {kind: of.get(c.uid, []) for kind, of in history.items()}
            for c in world.customers
        ],
        "sessions": [_session(s) for s in sessions],
    }


# -- document -> records ---------------------------------------------------------------------


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _record_names(value: Any) -> Any:
    """`value` with every key in the records' own names, as the fixture readers take them."""
    if isinstance(value, Mapping):
        return {_RECORD_NAMES.get(k, k): _record_names(v) for k, v in value.items()}
    return [_record_names(v) for v in value] if isinstance(value, list) else value


def _read_sessions(raw: list[Mapping[str, Any]]) -> Iterator[tuple[Where, AssistedSession]]:
    for i, s in enumerate(raw):
        ended_at = s.get("endedAt")
        session = AssistedSession(
            s["sessionId"],
            s["agentId"],
            s["customerId"],
            s["baseSite"],
            s.get("cartId"),
            _at(s["createdAt"]),
            SessionStatus(s["status"]),
            None if ended_at is None else _at(ended_at),
        )
        yield Where("", ("sessions", i)), session


def load_state(document: Mapping[str, Any]) -> RestoredState:
    """A `State` document (already valid against its schema) as a world and its sessions."""
    records = Records()
    top = Where("")
    try:
        for i, raw in enumerate(document["agents"]):
            records.add_agent(top.at("agents", i), read_agent(_record_names(raw)))
        for i, raw in enumerate(document["clients"]):
            records.add_client(top.at("clients", i), read_client(_record_names(raw)))
        for i, raw in enumerate(document["customers"]):
            records.add_customer(top.at("customers", i), read_customer(_record_names(raw)))
        return restore(records, document["seed"], _read_sessions(document["sessions"]))
    except RecordProblem as problem:
        raise _invalid(problem) from None


# -- problems, in the document's terms --------------------------------------------------------


def _path(where: Where) -> str:
    names = _SESSION_NAMES if where.path[:1] == ("sessions",) else _NAMES
    return ".".join(names.get(p, p) if isinstance(p, str) else str(p) for p in where.path)


_WORDING = {
    Rule.NOT_LOWERCASE: "{value!r} must be lowercase (SAP lowercases login ids)",
    Rule.UNKNOWN_SITE: "base site {value!r} is not one of the known base sites ({allowed})",
    Rule.FOREIGN_SITE: "base site {value!r} is not one of the customer's sites ({allowed})",
    Rule.UNKNOWN_AGENT: "unknown agent {value!r}",
    Rule.UNKNOWN_CUSTOMER: "no customer has customerId {value!r}",
    Rule.FOREIGN_CART: "{value!r} is not a cart of the customer on {allowed}",
    Rule.END_MISMATCH: "an ENDED session has endedAt, an ACTIVE one has not",
}
_LOGINS = " (agents and customers share one namespace of login ids)"


def _problem(p: RecordProblem) -> str:
    value, allowed = p.value, ", ".join(p.allowed)
    if p.rule is Rule.DUPLICATE and p.ids is not None and p.first is not None:
        kind = _NAMES.get(p.ids.value, p.ids.value)
        note = _LOGINS if p.ids is IdKind.LOGIN else ""
        return f"duplicate {kind} {value!r}: already at {_path(p.first)}{note}"
    if p.rule is Rule.UNKNOWN_AGENT and p.record == "client":
        return f"unknown agent {value!r} (agents: {allowed or 'none'})"
    return _WORDING[p.rule].format(value=value, allowed=allowed)


def _invalid(problem: RecordProblem) -> ValidationError:
    path = _path(problem.where)
    return ValidationError(
        f"Request body field {path} is invalid: {_problem(problem)}",
        reason="invalid",
        subject=path,
        subject_type="body",
    )
