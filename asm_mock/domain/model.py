"""The world's value objects: plain, immutable records with no behaviour beyond formatting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "Agent",
    "AssistedSession",
    "BaseSite",
    "Cart",
    "Customer",
    "OAuthClient",
    "Order",
    "SessionStatus",
    "Ticket",
    "TicketStatus",
    "User",
]


@dataclass(frozen=True, slots=True)
class BaseSite:
    uid: str
    name: str
    currency_iso: str
    currency_symbol: str

    def format_price(self, amount: Decimal) -> str:
        """Format like SAP's `formattedValue`: currency symbol, thousands separators, 2 decimals."""
        return f"{self.currency_symbol}{amount:,.2f}"


@dataclass(frozen=True, slots=True)
class Customer:
    uid: str  # lowercase email, SAP's login id
    customer_id: str  # UUID4
    first_name: str
    last_name: str
    signed_up: datetime
    town: str
    country: str
    sites: tuple[str, ...]
    password: str | None = None  # only hand-written fixture customers can log in

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class Cart:
    code: str
    customer_uid: str
    site: str
    total_items: int
    total: Decimal
    modified: datetime


@dataclass(frozen=True, slots=True)
class Order:
    code: str
    customer_uid: str
    site: str
    status: str
    total: Decimal
    placed: datetime


class TicketStatus(StrEnum):
    OPEN = "Open"
    IN_PROCESS = "In Process"
    CLOSED = "Closed"


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    customer_uid: str
    site: str
    subject: str
    category: str
    status: TicketStatus
    created: datetime


@dataclass(frozen=True, slots=True)
class Agent:
    uid: str
    name: str
    email: str
    password: str
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class User:
    """Anyone who can log in with the password grant: an agent or a plain customer."""

    uid: str
    password: str
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OAuthClient:
    client_id: str
    secret: str
    grants: tuple[str, ...]
    scopes: tuple[str, ...]
    # client_credentials tokens of this client act as this agent (None: no agent behind it)
    acts_as: str | None = None


class SessionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@dataclass(frozen=True, slots=True)
class AssistedSession:
    session_id: str
    agent_uid: str
    customer_id: str
    site: str
    cart_id: str | None
    created_at: datetime
    status: SessionStatus = SessionStatus.ACTIVE
    ended_at: datetime | None = field(default=None)
