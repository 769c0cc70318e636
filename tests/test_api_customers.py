"""Customer search, the 360 view and carts over HTTP: success, paging edges and errors."""

from __future__ import annotations

import httpx
import pytest

from asm_mock.domain.world import World
from tests.helpers import BASE, assert_occ_error

pytestmark = pytest.mark.anyio

SITE = "electronics-spa"


async def search(
    client: httpx.AsyncClient, headers: dict[str, str], **params: object
) -> httpx.Response:
    query = {"query": "", "baseSite": SITE, **params}
    return await client.get(f"{BASE}/customers/search", params=query, headers=headers)


async def test_search_finds_a_customer_by_email_case_insensitively(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await search(client, agent, query="JAMES.WEBER@EXAMPLE")
    assert response.status_code == 200
    entries = response.json()["entries"]
    assert [e["uid"] for e in entries] == ["james.weber@example.com"]


async def test_search_matches_name_and_customer_id(
    client: httpx.AsyncClient, agent: dict[str, str], world: World
) -> None:
    customer = world.customers_on(world.sites[SITE])[3]
    by_name = (await search(client, agent, query=customer.last_name.lower())).json()["entries"]
    assert customer.uid in [e["uid"] for e in by_name]
    by_id = (await search(client, agent, query=customer.customer_id.upper())).json()["entries"]
    assert [e["customerId"] for e in by_id] == [customer.customer_id]


async def test_search_pages_are_zero_based_stable_and_complete(
    client: httpx.AsyncClient, agent: dict[str, str], world: World
) -> None:
    everyone = [c.uid for c in world.customers_on(world.sites[SITE])]
    seen: list[str] = []
    page = 0
    while True:
        body = (await search(client, agent, pageSize=7, currentPage=page)).json()
        assert body["pagination"] == {
            "currentPage": page,
            "pageSize": 7,
            "totalPages": -(-len(everyone) // 7),
            "totalResults": len(everyone),
        }
        if not body["entries"]:
            break
        seen += [e["uid"] for e in body["entries"]]
        page += 1
    assert seen == everyone
    assert page == -(-len(everyone) // 7)
    names = [(c.name.lower(), c.uid) for c in world.customers_on(world.sites[SITE])]
    assert names == sorted(names)


async def test_search_page_past_the_end_is_empty_not_an_error(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await search(client, agent, currentPage=10_000)
    assert response.status_code == 200
    assert response.json()["entries"] == []


@pytest.mark.parametrize("page_size", [0, -1, 101])
async def test_search_rejects_page_sizes_out_of_range(
    client: httpx.AsyncClient, agent: dict[str, str], page_size: int
) -> None:
    response = await search(client, agent, pageSize=page_size)
    assert_occ_error(response, 400, "ValidationError", subject="pageSize")


async def test_search_rejects_a_negative_page(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    assert_occ_error(
        await search(client, agent, currentPage=-1), 400, "ValidationError", subject="currentPage"
    )


async def test_search_names_a_missing_required_parameter(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(
        f"{BASE}/customers/search", params={"baseSite": SITE}, headers=agent
    )
    error = assert_occ_error(response, 400, "ValidationError", subject="query")
    assert error["reason"] == "missing"
    assert error["subjectType"] == "parameter"


async def test_search_names_a_parameter_of_the_wrong_type(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    error = assert_occ_error(
        await search(client, agent, pageSize="ten"), 400, "ValidationError", subject="pageSize"
    )
    assert error["reason"] == "invalid"


async def test_unknown_base_site_is_an_unknown_identifier_error(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await search(client, agent, baseSite="no-such-site")
    assert_occ_error(response, 400, "UnknownIdentifierError", subject="baseSite")
    for path in ("/customers/james.weber@example.com", "/customers/james.weber@example.com/carts"):
        response = await client.get(f"{BASE}{path}", params={"baseSite": "nope"}, headers=agent)
        assert_occ_error(response, 400, "UnknownIdentifierError", subject="baseSite")


async def test_search_entries_agree_with_carts_and_orders(
    client: httpx.AsyncClient, agent: dict[str, str], world: World
) -> None:
    site = world.sites[SITE]
    entries = (await search(client, agent, pageSize=100)).json()["entries"]
    assert entries
    for entry in entries:
        customer = world.find_customer(entry["customerId"])
        assert customer is not None
        carts = world.carts_of(customer, site)
        assert entry.get("lastCartId") == (carts[0].code if carts else None)
        assert entry["hasOrder"] is bool(world.orders_of(customer, site))
    assert any("lastCartId" in e for e in entries) and any("lastCartId" not in e for e in entries)
    assert {e["hasOrder"] for e in entries} == {True, False}


async def test_customer_360_shows_profile_and_site_history(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(
        f"{BASE}/customers/james.weber@example.com", params={"baseSite": SITE}, headers=agent
    )
    assert response.status_code == 200
    body = response.json()
    overview = body["overview"]
    assert overview["email"] == "james.weber@example.com"
    assert overview["name"] == "James Weber"
    assert set(overview["address"]) == {"town", "country"}
    carts = (
        await client.get(
            f"{BASE}/customers/james.weber@example.com/carts",
            params={"baseSite": SITE},
            headers=agent,
        )
    ).json()["carts"]
    assert body["activeCarts"] == carts
    dates = [o["placed"] for o in body["recentOrders"]] + [c["modified"] for c in carts]
    dates += [t["created"] for t in body["supportTickets"]]
    assert overview["latestActivity"]["date"] == max(dates)
    for order in body["recentOrders"]:
        assert order["total"].startswith("$")


async def test_customer_360_totals_use_the_sites_currency(
    client: httpx.AsyncClient, agent: dict[str, str], world: World
) -> None:
    uk = world.sites["apparel-uk-spa"]
    customer = next(c for c in world.customers_on(uk) if world.carts_of(c, uk))
    response = await client.get(
        f"{BASE}/customers/{customer.customer_id}/carts", params={"baseSite": uk.uid}, headers=agent
    )
    totals = [c["total"] for c in response.json()["carts"]]
    assert totals and all(t.startswith("£") for t in totals)


async def test_unknown_customer_is_not_found(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    for path in ("/customers/nobody@example.com", "/customers/nobody@example.com/carts"):
        response = await client.get(f"{BASE}{path}", params={"baseSite": SITE}, headers=agent)
        assert_occ_error(response, 404, "NotFoundError", subject="customerId")


async def test_customer_of_another_site_is_not_found(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(
        f"{BASE}/customers/linda.wolf@rustic-hw.com", params={"baseSite": SITE}, headers=agent
    )
    assert_occ_error(response, 404, "NotFoundError")


async def test_agent_details_and_unknown_agent(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(f"{BASE}/agents/asagentsalesmanager", headers=agent)
    assert response.status_code == 200
    assert response.json()["groups"] == ["asagentgroup", "asagentsalesmanagergroup"]
    assert_occ_error(await client.get(f"{BASE}/agents/nobody", headers=agent), 404, "NotFoundError")


async def test_a_page_number_past_a_java_int_is_a_validation_error(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    huge = await search(client, agent, currentPage=2**31)
    assert_occ_error(huge, 400, "ValidationError", subject="currentPage")
    beyond_64_bits = await search(client, agent, currentPage="9" * 30)
    assert_occ_error(beyond_64_bits, 400, "ValidationError", subject="currentPage")
    last_int = await search(client, agent, currentPage=2**31 - 1)
    assert last_int.status_code == 200 and last_int.json()["entries"] == []
