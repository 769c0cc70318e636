"""Assisted sessions over HTTP: the agent from the token, one active session, end = remove."""

from __future__ import annotations

import httpx
import pytest

from asm_mock.domain.world import World
from tests.helpers import BASE, assert_occ_error, password_token

pytestmark = pytest.mark.anyio

SITE = "electronics-spa"
JAMES = "james.weber@example.com"


async def start(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await client.post(
        f"{BASE}/sessions", json={"customerId": JAMES, "baseSite": SITE, **body}, headers=headers
    )


async def test_session_binds_the_token_agent_to_the_customer_and_latest_cart(
    client: httpx.AsyncClient, agent: dict[str, str], world: World
) -> None:
    response = await start(client, agent)
    assert response.status_code == 201
    session = response.json()
    customer = world.find_customer(JAMES)
    assert customer is not None
    assert session["agentId"] == "asagent"
    assert session["customerId"] == customer.customer_id
    assert session["status"] == "ACTIVE"
    assert session["cartId"] == world.carts_of(customer, world.sites[SITE])[0].code


async def test_session_with_a_named_cart_of_the_customer(
    client: httpx.AsyncClient, agent: dict[str, str], world: World
) -> None:
    customer = world.find_customer(JAMES)
    assert customer is not None
    older_cart = world.carts_of(customer, world.sites[SITE])[-1].code
    response = await start(client, agent, cartId=older_cart)
    assert response.status_code == 201
    assert response.json()["cartId"] == older_cart


async def test_session_rejects_a_cart_that_is_not_the_customers(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    assert_occ_error(
        await start(client, agent, cartId="99999999"), 400, "ValidationError", subject="cartId"
    )


async def test_session_rejects_an_unknown_customer_and_site(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    error = assert_occ_error(
        await start(client, agent, customerId="nobody@example.com"),
        400,
        "ValidationError",
        subject="customerId",
    )
    assert error["subjectType"] == "body"
    assert_occ_error(await start(client, agent, baseSite="nope"), 400, "UnknownIdentifierError")


async def test_session_rejects_a_body_missing_a_required_field(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.post(f"{BASE}/sessions", json={"customerId": JAMES}, headers=agent)
    error = assert_occ_error(response, 400, "ValidationError", subject="baseSite")
    assert error["reason"] == "missing"


async def test_session_rejects_malformed_json(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    for raw in (b"{", b"\x00", b"\xff\xfe", b"[]", b'"text"'):
        response = await client.post(
            f"{BASE}/sessions", content=raw, headers={**agent, "Content-Type": "application/json"}
        )
        assert_occ_error(response, 400, "ValidationError")


async def test_a_new_session_ends_the_agents_previous_one(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    first = (await start(client, agent)).json()
    second = (await start(client, agent, customerId="keenreviewer1@hybris.com")).json()
    earlier = await client.get(f"{BASE}/sessions/{first['sessionId']}", headers=agent)
    assert earlier.status_code == 200
    assert earlier.json()["status"] == "ENDED"
    current = await client.get(f"{BASE}/sessions/{second['sessionId']}", headers=agent)
    assert current.json()["status"] == "ACTIVE"


async def test_ending_a_session_answers_it_ended_then_forgets_it(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    session_id = (await start(client, agent)).json()["sessionId"]
    ended = await client.delete(f"{BASE}/sessions/{session_id}", headers=agent)
    assert ended.status_code == 200
    assert ended.json()["status"] == "ENDED"
    assert ended.json()["sessionId"] == session_id
    assert_occ_error(
        await client.get(f"{BASE}/sessions/{session_id}", headers=agent), 404, "NotFoundError"
    )
    assert_occ_error(
        await client.delete(f"{BASE}/sessions/{session_id}", headers=agent), 404, "NotFoundError"
    )


async def test_agents_see_only_their_own_sessions_but_a_manager_sees_all(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    session_id = (await start(client, agent)).json()["sessionId"]
    other = {"Authorization": f"Bearer {await password_token(client, 'cs.agent.emma')}"}
    assert_occ_error(
        await client.get(f"{BASE}/sessions/{session_id}", headers=other), 404, "NotFoundError"
    )
    assert_occ_error(
        await client.delete(f"{BASE}/sessions/{session_id}", headers=other), 404, "NotFoundError"
    )
    manager = {"Authorization": f"Bearer {await password_token(client, 'asagentsalesmanager')}"}
    seen = await client.get(f"{BASE}/sessions/{session_id}", headers=manager)
    assert seen.status_code == 200
    assert seen.json()["agentId"] == "asagent"


async def test_a_session_shows_as_the_customers_latest_activity(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    await start(client, agent)
    view = await client.get(f"{BASE}/customers/{JAMES}", params={"baseSite": SITE}, headers=agent)
    activity = view.json()["overview"]["latestActivity"]
    assert activity["type"] == "SESSION"
    assert "asagent" in activity["description"]


async def test_unknown_session_is_not_found(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    assert_occ_error(await client.get(f"{BASE}/sessions/nope", headers=agent), 404, "NotFoundError")
