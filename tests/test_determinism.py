"""One seed, one world: byte-identical answers across builds; another seed, another world."""

from __future__ import annotations

import httpx
import pytest

from asm_mock.domain.fixtures import Fixtures
from asm_mock.domain.generate import build_world
from asm_mock.http.app import create_app
from asm_mock.settings import AuthMode, Settings
from tests.helpers import BASE

pytestmark = pytest.mark.anyio

PATHS = (
    "/customers/search?query=&baseSite=electronics-spa&pageSize=100",
    "/customers/search?query=a&baseSite=apparel-uk-spa&pageSize=50&currentPage=1",
    "/customers/james.weber@example.com?baseSite=electronics-spa",
    "/customers/james.weber@example.com/carts?baseSite=electronics-spa",
    "/agents/asagent",
)


async def answers(seed: int) -> list[bytes]:
    app = create_app(Settings(seed=seed, customers=150, auth=AuthMode.PERMISSIVE))
    headers = {"Authorization": "Bearer any"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return [(await c.get(BASE + path, headers=headers)).content for path in PATHS]


async def test_same_seed_gives_byte_identical_answers() -> None:
    assert await answers(7) == await answers(7)


async def test_another_seed_gives_another_world() -> None:
    first, second = await answers(7), await answers(8)
    assert first[0] != second[0]
    assert first[-1] == second[-1]  # fixtures are hand-written: the same in every world


def test_same_seed_builds_equal_worlds(shipped_fixtures: Fixtures) -> None:
    a = build_world(seed=3, customers=120, fixtures=shipped_fixtures)
    b = build_world(seed=3, customers=120, fixtures=shipped_fixtures)
    assert a.customers == b.customers
    assert (a.carts, a.orders, a.tickets) == (b.carts, b.orders, b.tickets)


def test_a_larger_world_extends_a_smaller_one(shipped_fixtures: Fixtures) -> None:
    small = build_world(seed=3, customers=50, fixtures=shipped_fixtures)
    large = build_world(seed=3, customers=80, fixtures=shipped_fixtures)
    assert set(small.customers) <= set(large.customers)


def test_fixture_customers_history_does_not_depend_on_world_size(
    shipped_fixtures: Fixtures,
) -> None:
    small = build_world(seed=3, customers=5, fixtures=shipped_fixtures)
    large = build_world(seed=3, customers=90, fixtures=shipped_fixtures)
    keen = "keenreviewer1@hybris.com"
    assert [c for c in small.carts if c.customer_uid == keen] == [
        c for c in large.carts if c.customer_uid == keen
    ]
