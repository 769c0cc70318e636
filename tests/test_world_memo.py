"""Answers memoized per world are reused, bounded, and never outlive their world or its sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from asm_mock.domain.fixtures import Fixtures
from asm_mock.domain.generate import build_world
from asm_mock.domain.world import World
from asm_mock.http.app import AsmMockApp
from asm_mock.http.memo import WorldMemo
from tests.helpers import BASE

CUSTOMER = "james.weber@example.com"
ELECTRONICS = {"baseSite": "electronics-spa"}


@pytest.fixture(scope="module")
def other_world(shipped_fixtures: Fixtures) -> World:
    return build_world(seed=99, customers=5, fixtures=shipped_fixtures)


def test_a_value_is_computed_once_per_key_and_world(world: World) -> None:
    memo, calls = WorldMemo(), []
    for _ in range(3):
        assert memo.get(world, "k", lambda: calls.append(1) or "v") == "v"
    assert calls == [1]


def test_another_world_empties_the_memo(world: World, other_world: World) -> None:
    memo = WorldMemo()
    memo.get(world, "a", lambda: 1)
    memo.get(world, "b", lambda: 2)
    assert memo.get(other_world, "a", lambda: 10) == 10
    assert len(memo) == 1
    assert memo.get(world, "a", lambda: 100) == 100  # and back: computed afresh


def test_the_least_recently_used_value_is_dropped_beyond_the_size(world: World) -> None:
    memo = WorldMemo(size=2)
    memo.get(world, "a", lambda: 1)
    memo.get(world, "b", lambda: 2)
    memo.get(world, "a", lambda: 0)  # a is used again: b is now the oldest
    memo.get(world, "c", lambda: 3)
    assert len(memo) == 2
    assert memo.get(world, "a", lambda: 0) == 1
    assert memo.get(world, "b", lambda: 20) == 20


def test_a_failed_computation_is_not_memoized(world: World) -> None:
    memo = WorldMemo()

    def fail() -> int:
        raise LookupError("no such customer")

    with pytest.raises(LookupError):
        memo.get(world, "k", fail)
    assert memo.get(world, "k", lambda: 5) == 5


# -- through the API ---------------------------------------------------------------------------


@pytest.fixture
async def admin(app: AsmMockApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as c:
        yield c


async def _answers(client: httpx.AsyncClient, agent: dict[str, str]) -> list[object]:
    search = {"query": "", "pageSize": 100, **ELECTRONICS}
    return [
        (await client.get(f"{BASE}/customers/search", params=search, headers=agent)).json(),
        (
            await client.get(f"{BASE}/customers/{CUSTOMER}", params=ELECTRONICS, headers=agent)
        ).json(),
        (
            await client.get(
                f"{BASE}/customers/{CUSTOMER}/carts", params=ELECTRONICS, headers=agent
            )
        ).json(),
    ]


@pytest.mark.anyio
async def test_answers_follow_the_world_through_a_scenario_and_a_reset(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    seeded = await _answers(client, agent)  # memoized now
    assert (await admin.post("/__admin/scenarios/vip-customer")).status_code == 200
    with_vip = await _answers(client, agent)
    assert with_vip[0] != seeded[0]  # the search lists her
    assert "victoria.price@example.com" in str(with_vip[0])
    assert (await admin.post("/__admin/scenarios/empty-search")).status_code == 200
    empty = await _answers(client, agent)
    assert empty[0]["pagination"]["totalResults"] == 0  # type: ignore[index]
    assert empty[1]["errors"][0]["type"] == "NotFoundError"  # type: ignore[index]
    assert (await admin.post("/__admin/reset")).status_code == 200
    assert await _answers(client, agent) == seeded


@pytest.mark.anyio
async def test_the_360_shows_a_session_started_after_it_was_memoized(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    url = f"{BASE}/customers/{CUSTOMER}"
    before = (await client.get(url, params=ELECTRONICS, headers=agent)).json()
    assert before["overview"]["latestActivity"]["type"] != "SESSION"
    started = await client.post(
        f"{BASE}/sessions", json={"customerId": CUSTOMER, **ELECTRONICS}, headers=agent
    )
    assert started.status_code == 201
    after = (await client.get(url, params=ELECTRONICS, headers=agent)).json()
    assert after["overview"]["latestActivity"]["type"] == "SESSION"
    assert after["overview"]["latestActivity"]["description"] == (
        "Assisted session with agent asagent"
    )
    del after["overview"]["latestActivity"], before["overview"]["latestActivity"]
    assert after == before


@pytest.mark.anyio
async def test_world_answers_are_one_shared_object_per_request(app: AsmMockApp) -> None:
    """Search pages, carts, the 360 view and agents come from the memo: the handler answers the
    same object each time, which the fast lane then judges and encodes once."""
    handlers = app.operations
    calls = [
        ("searchCustomers", {"query": "a", "baseSite": "electronics-spa"}),
        ("getCustomerCarts", {"customerId": CUSTOMER, **ELECTRONICS}),
        ("getCustomer360", {"customerId": CUSTOMER, **ELECTRONICS}),
        ("getAgent", {"agentId": "asagent"}),
    ]
    for operation_id, arguments in calls:
        handler = handlers.lookup(operation_id)
        first, _ = await handler(**arguments)
        again, _ = await handler(**arguments)
        assert first is again, operation_id
