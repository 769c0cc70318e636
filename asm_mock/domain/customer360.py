"""The customer 360 view: one customer's profile and history on one base site."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from asm_mock.domain.model import AssistedSession, BaseSite, Cart, Customer, Order, Ticket
from asm_mock.domain.world import World

__all__ = [
    "RECENT_ORDERS",
    "Activity",
    "Customer360",
    "customer_360",
    "with_sessions",
    "world_view",
]

RECENT_ORDERS = 5


@dataclass(frozen=True, slots=True)
class Activity:
    type: str
    description: str
    date: datetime


@dataclass(frozen=True, slots=True)
class Customer360:
    customer: Customer
    site: BaseSite
    recent_orders: tuple[Order, ...]
    active_carts: tuple[Cart, ...]
    tickets: tuple[Ticket, ...]
    latest_activity: Activity | None


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _latest_activity(
    site: BaseSite,
    orders: tuple[Order, ...],
    carts: tuple[Cart, ...],
    tickets: tuple[Ticket, ...],
) -> Activity | None:
    candidates: list[Activity] = []
    if orders:
        o = orders[0]
        candidates.append(
            Activity(
                "ORDER",
                f"Order {o.code} placed ({o.status}, {site.format_price(o.total)})",
                o.placed,
            )
        )
    if carts:
        c = carts[0]
        candidates.append(
            Activity("CART", f"Cart {c.code} updated ({_items(c.total_items)})", c.modified)
        )
    if tickets:
        t = max(tickets, key=lambda ticket: ticket.created)
        candidates.append(
            Activity("TICKET", f"Ticket {t.id} opened: {t.subject} ({t.status})", t.created)
        )
    return max(candidates, key=lambda a: a.date, default=None)


def world_view(world: World, site: BaseSite, customer: Customer) -> Customer360:
    """The view as the world alone makes it: the same for a world's whole life."""
    orders = world.orders_of(customer, site)
    carts = world.carts_of(customer, site)
    tickets = world.tickets_of(customer, site)
    return Customer360(
        customer=customer,
        site=site,
        recent_orders=orders[:RECENT_ORDERS],
        active_carts=carts,
        tickets=tickets,
        latest_activity=_latest_activity(site, orders, carts, tickets),
    )


def with_sessions(view: Customer360, sessions: list[AssistedSession]) -> Customer360:
    """`view` with the customer's assisted sessions counted as activity.

    A session is the latest activity only when it is strictly later than the world's.
    """
    on_site = [s for s in sessions if s.site == view.site.uid]
    if not on_site:
        return view
    s = max(on_site, key=lambda session: session.created_at)
    latest = view.latest_activity
    if latest is not None and latest.date >= s.created_at:
        return view
    activity = Activity("SESSION", f"Assisted session with agent {s.agent_uid}", s.created_at)
    return replace(view, latest_activity=activity)


def customer_360(
    world: World, site: BaseSite, customer: Customer, sessions: list[AssistedSession]
) -> Customer360:
    return with_sessions(world_view(world, site, customer), sessions)
