"""Domain records -> the contract's JSON shapes (field names exactly as openapi.yaml has them)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from asm_mock.domain.clock import iso_text
from asm_mock.domain.customer360 import Activity, Customer360
from asm_mock.domain.model import Agent, AssistedSession, BaseSite, Cart
from asm_mock.domain.service import CustomerPage

__all__ = [
    "activity",
    "agent",
    "cart_list",
    "customer_360",
    "customer_page",
    "session",
    "timestamp",
    "with_latest_activity",
]

Json = dict[str, Any]


@lru_cache(maxsize=1 << 16)  # the world's dates are fixed: most are formatted once
def timestamp(value: datetime) -> str:
    """RFC 3339, as the contract's `format: date-time` requires (SAP's `+0000` is not RFC 3339)."""
    return iso_text(value)


def customer_page(result: CustomerPage) -> Json:
    entries = []
    for summary in result.entries:
        entry: Json = {
            "uid": summary.customer.uid,
            "name": summary.customer.name,
            "customerId": summary.customer.customer_id,
        }
        if summary.last_cart_id is not None:
            entry["lastCartId"] = summary.last_cart_id
        entry["hasOrder"] = summary.has_order
        entries.append(entry)
    page = result.page
    return {
        "entries": entries,
        "pagination": {
            "currentPage": page.current_page,
            "pageSize": page.page_size,
            "totalPages": page.total_pages,
            "totalResults": page.total_results,
        },
    }


def _cart(cart: Cart, site: BaseSite) -> Json:
    return {
        "code": cart.code,
        "totalItems": cart.total_items,
        "total": site.format_price(cart.total),
        "modified": timestamp(cart.modified),
    }


def cart_list(carts: tuple[Cart, ...], site: BaseSite) -> Json:
    return {"carts": [_cart(c, site) for c in carts]}


def activity(value: Activity) -> Json:
    return {"type": value.type, "description": value.description, "date": timestamp(value.date)}


def with_latest_activity(body: Json, value: Activity) -> Json:
    """A serialized 360 `body` with another latest activity; `body` itself is left as it is."""
    return {**body, "overview": {**body["overview"], "latestActivity": activity(value)}}


def customer_360(view: Customer360) -> Json:
    customer, site = view.customer, view.site
    overview: Json = {
        "name": customer.name,
        "email": customer.uid,
        "signedUpDate": timestamp(customer.signed_up),
        "address": {"town": customer.town, "country": customer.country},
    }
    if view.latest_activity is not None:
        overview["latestActivity"] = activity(view.latest_activity)
    return {
        "overview": overview,
        "recentOrders": [
            {
                "code": o.code,
                "status": o.status,
                "total": site.format_price(o.total),
                "placed": timestamp(o.placed),
            }
            for o in view.recent_orders
        ],
        "activeCarts": [_cart(c, site) for c in view.active_carts],
        "supportTickets": [
            {
                "id": t.id,
                "subject": t.subject,
                "status": str(t.status),
                "created": timestamp(t.created),
            }
            for t in view.tickets
        ],
    }


def session(value: AssistedSession) -> Json:
    """The contract's AssistedSession: the API answers it, and the admin `State` document adds
    `endedAt` to it."""
    fields: Json = {
        "sessionId": value.session_id,
        "agentId": value.agent_uid,
        "customerId": value.customer_id,
        "baseSite": value.site,
    }
    if value.cart_id is not None:
        fields["cartId"] = value.cart_id
    fields["createdAt"] = iso_text(value.created_at)  # each its own: the cache is the world's
    fields["status"] = str(value.status)
    return fields


def agent(value: Agent) -> Json:
    return {
        "uid": value.uid,
        "name": value.name,
        "email": value.email,
        "groups": list(value.groups),
    }
