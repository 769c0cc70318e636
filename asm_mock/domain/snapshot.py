"""Restoring the whole mutable state (`PUT /__admin/state`): a world and its sessions.

The records come checked by `Records`; here the sessions are checked against the world they
join — unknown agents and customers, sites and carts that are not the customer's, an ENDED
session without an end, two ACTIVE sessions of one agent — raising `RecordProblem` with the
session's place. Only new objects are built, so a refused state changes nothing. The document
format itself belongs to the admin API (`asm_mock.http.state_format`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from asm_mock.domain.model import AssistedSession, SessionStatus
from asm_mock.domain.records import IdKind, Ids, RecordProblem, Records, Rule, Where
from asm_mock.domain.world import World

__all__ = ["RestoredState", "restore"]


@dataclass(frozen=True, slots=True)
class RestoredState:
    world: World
    sessions: tuple[AssistedSession, ...]


def restore(
    records: Records, seed: int, sessions: Iterable[tuple[Where, AssistedSession]]
) -> RestoredState:
    """The world of `records` and `sessions`, each checked against it as it comes."""
    world = records.world(seed)
    return RestoredState(world, tuple(_checked(world, sessions)))


def _checked(
    world: World, sessions: Iterable[tuple[Where, AssistedSession]]
) -> Iterable[AssistedSession]:
    ids, active_of = Ids(IdKind.SESSION), Ids(IdKind.ACTIVE_SESSION)
    by_id = {c.customer_id: c for c in world.customers}
    for where, s in sessions:
        ids.claim(s.session_id, where.at("session_id"), "session")
        if s.agent_uid not in world.agents:
            raise RecordProblem(where.at("agent_uid"), Rule.UNKNOWN_AGENT, "session", s.agent_uid)
        customer = by_id.get(s.customer_id)
        if customer is None:
            raise RecordProblem(
                where.at("customer_id"), Rule.UNKNOWN_CUSTOMER, "session", s.customer_id
            )
        if s.site not in customer.sites:
            raise RecordProblem(
                where.at("site"), Rule.FOREIGN_SITE, "session", s.site, allowed=customer.sites
            )
        carts = world.carts_of(customer, world.sites[s.site])
        if s.cart_id is not None and s.cart_id not in {c.code for c in carts}:
            raise RecordProblem(
                where.at("cart_id"), Rule.FOREIGN_CART, "session", s.cart_id, allowed=(s.site,)
            )
        if (s.status is SessionStatus.ENDED) != (s.ended_at is not None):
            raise RecordProblem(where.at("ended_at"), Rule.END_MISMATCH, "session", str(s.status))
        if s.status is SessionStatus.ACTIVE:
            active_of.claim(s.agent_uid, where.at("status"), "session")
        yield s
