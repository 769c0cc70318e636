"""The whole state as a document: dump, check, restore (domain), and GET/PUT /__admin/state."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from asm_mock.domain.errors import ValidationError
from asm_mock.domain.service import MockService
from asm_mock.domain.tokens import Principal
from asm_mock.domain.world import World
from asm_mock.http.admin import admin_contract
from asm_mock.http.app import AsmMockApp
from asm_mock.http.state_format import dump_state, load_state
from tests.helpers import BASE, assert_occ_error

JAMES = "james.weber@example.com"
JAMES_ID = "595de6ab-be54-402f-ae9f-707b21e05703"
LINDA = "linda.wolf@rustic-hw.com"
AGENT = Principal("asagent", ("asagentgroup",), ("basic", "assistedservicegroup"))
Document = dict[str, Any]


def fixed_clock() -> datetime:
    return datetime(2026, 1, 20, 9, 30, 0, tzinfo=UTC)


@pytest.fixture
async def service(world: World) -> MockService:
    service = MockService(world, clock=fixed_clock)
    await service.sessions.start(AGENT, customer_id=JAMES, base_site="electronics-spa")
    await service.sessions.start(
        AGENT, customer_id=LINDA, base_site="powertools-spa"
    )  # ends James'
    return service


@pytest.fixture
async def document(service: MockService) -> Document:
    return dump_state(service.world(), await service.store.all_sessions())


def state_validator() -> Draft202012Validator:
    raw = admin_contract().raw
    registry: Registry[Any] = Registry().with_resource(
        "urn:admin", DRAFT202012.create_resource(raw)
    )
    return Draft202012Validator(
        {"$ref": "urn:admin#/components/schemas/State"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


# -- domain -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_document_is_json_and_valid_against_the_admin_schema(document: Document) -> None:
    assert json.loads(json.dumps(document)) == document
    state_validator().validate(document)
    assert [s["status"] for s in document["sessions"]] == ["ACTIVE", "ENDED"]
    james = next(c for c in document["customers"] if c["uid"] == JAMES)
    assert james["carts"][0] == {
        "code": "00090010",
        "site": "electronics-spa",
        "totalItems": 2,
        "total": "534.98",
        "modified": "2025-04-02T19:12:00+00:00",
    }


@pytest.mark.anyio
async def test_dump_load_dump_is_identical_and_rebuilds_the_same_world(
    service: MockService, document: Document
) -> None:
    restored = load_state(copy.deepcopy(document))
    assert dump_state(restored.world, restored.sessions) == document
    world = service.world()
    assert restored.world.customers == world.customers
    assert set(restored.world.carts) == set(world.carts)
    assert set(restored.world.orders) == set(world.orders)
    assert set(restored.world.tickets) == set(world.tickets)
    assert dict(restored.world.agents) == dict(world.agents)
    assert dict(restored.world.clients) == dict(world.clients)
    assert list(restored.sessions) == await service.store.all_sessions()


@pytest.mark.anyio
async def test_customers_may_come_in_any_order(document: Document) -> None:
    shuffled = copy.deepcopy(document)
    shuffled["customers"].reverse()
    restored = load_state(shuffled)
    assert dump_state(restored.world, restored.sessions) == document


def _customer(doc: Document, uid: str) -> Document:
    customer: Document = next(c for c in doc["customers"] if c["uid"] == uid)
    return customer


def _index(doc: Document, uid: str) -> int:
    return next(i for i, c in enumerate(doc["customers"]) if c["uid"] == uid)


Mutation = Callable[[Document], str]  # changes the document, returns the expected subject


def _dup_uid(d: Document) -> str:
    later = max(_index(d, JAMES), _index(d, LINDA))
    _customer(d, LINDA)["uid"] = JAMES
    return f"customers.{later}.uid"


def _agent_uid(d: Document) -> str:
    d["agents"][2]["uid"] = JAMES  # agents are read first: the customer is the duplicate
    return f"customers.{_index(d, JAMES)}.uid"


def _upper_uid(d: Document) -> str:
    _customer(d, JAMES)["uid"] = "James.Weber@example.com"
    return f"customers.{_index(d, 'James.Weber@example.com')}.uid"


def _dup_customer_id(d: Document) -> str:
    _customer(d, LINDA)["customerId"] = JAMES_ID
    return f"customers.{max(_index(d, JAMES), _index(d, LINDA))}.customerId"


def _unknown_site(d: Document) -> str:
    _customer(d, JAMES)["sites"][1] = "no-such-site"
    return f"customers.{_index(d, JAMES)}.sites.1"


def _foreign_cart_site(d: Document) -> str:
    _customer(d, LINDA)["carts"][0]["site"] = "electronics-spa"
    return f"customers.{_index(d, LINDA)}.carts.0.site"


def _dup_code(d: Document) -> str:
    _customer(d, LINDA)["orders"][0]["code"] = "00090001"  # Linda's own cart
    return f"customers.{_index(d, LINDA)}.orders.0.code"


def _dup_ticket(d: Document) -> str:
    first = next(c for c in d["customers"] if c["tickets"])
    second = next(c for c in d["customers"] if c["tickets"] and c is not first)
    second["tickets"][0]["id"] = first["tickets"][0]["id"]
    return f"customers.{d['customers'].index(second)}.tickets.0.id"


def _dup_agent(d: Document) -> str:
    d["agents"][1]["uid"] = d["agents"][0]["uid"]
    return "agents.1.uid"


def _dup_client(d: Document) -> str:
    d["clients"][1]["clientId"] = d["clients"][0]["clientId"]
    return "clients.1.clientId"


def _acts_as(d: Document) -> str:
    d["clients"][1]["actsAs"] = "nobody"
    return "clients.1.actsAs"


def _session_customer(d: Document) -> str:
    d["sessions"][0]["customerId"] = "00000000-0000-4000-8000-000000000000"
    return "sessions.0.customerId"


def _session_agent(d: Document) -> str:
    d["sessions"][0]["agentId"] = "nobody"
    return "sessions.0.agentId"


def _session_site(d: Document) -> str:
    d["sessions"][0]["baseSite"] = "electronics-spa"  # Linda shops on powertools only
    return "sessions.0.baseSite"


def _session_cart(d: Document) -> str:
    d["sessions"][0]["cartId"] = "00090010"  # James' cart, not Linda's
    return "sessions.0.cartId"


def _ended_without_end(d: Document) -> str:
    del d["sessions"][1]["endedAt"]
    return "sessions.1.endedAt"


def _two_active(d: Document) -> str:
    del d["sessions"][1]["endedAt"]
    d["sessions"][1]["status"] = "ACTIVE"
    return "sessions.1.status"


def _dup_session(d: Document) -> str:
    d["sessions"][1]["sessionId"] = d["sessions"][0]["sessionId"]
    return "sessions.1.sessionId"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (_dup_uid, "duplicate uid"),
        (_agent_uid, f"duplicate uid '{JAMES}': already at agents.2.uid (agents and customers"),
        (_upper_uid, "must be lowercase"),
        (_dup_customer_id, "duplicate customerId"),
        (_unknown_site, "'no-such-site' is not one of the known base sites"),
        (_foreign_cart_site, "is not one of the customer's sites (powertools-spa)"),
        (_dup_code, "duplicate cart/order code '00090001'"),
        (_dup_ticket, "duplicate ticket id"),
        (_dup_agent, "duplicate uid"),
        (_dup_client, "duplicate clientId"),
        (_acts_as, "unknown agent 'nobody'"),
        (_session_customer, "no customer has customerId"),
        (_session_agent, "unknown agent 'nobody'"),
        (_session_site, "is not one of the customer's sites"),
        (_session_cart, "'00090010' is not a cart of the customer on powertools-spa"),
        (_ended_without_end, "an ENDED session has endedAt"),
        (_two_active, "duplicate ACTIVE session of agent 'asagent'"),
        (_dup_session, "duplicate sessionId"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else "",
)
async def test_semantic_errors_name_the_json_path(
    document: Document, mutate: Mutation, problem: str
) -> None:
    bad = copy.deepcopy(document)
    subject = mutate(bad)
    state_validator().validate(bad)  # each of these passes the schema: only load_state sees it
    with pytest.raises(ValidationError) as caught:
        load_state(bad)
    error = caught.value
    assert (error.subject, error.subject_type, error.reason) == (subject, "body", "invalid")
    assert problem in error.message and subject in error.message


@pytest.mark.anyio
async def test_restore_swaps_world_and_sessions_and_new_ids_skip_restored_ones(
    service: MockService, document: Document, world: World
) -> None:
    stored = await service.store.all_sessions()
    fresh = MockService(world, clock=fixed_clock)
    restored = load_state(document)
    await fresh.restore(restored.world, restored.sessions)
    assert await fresh.store.all_sessions() == stored
    # the restored ids came from the same seeded numbering: a new session must not reuse one
    started = await fresh.sessions.start(AGENT, customer_id=JAMES, base_site="apparel-uk-spa")
    assert started.session_id not in {s.session_id for s in stored}
    assert (await fresh.sessions.get(AGENT, stored[1].session_id)).customer_id == JAMES_ID
    await fresh.reset()
    assert fresh.world() is world and await fresh.store.session_count() == 0


# -- HTTP -------------------------------------------------------------------------------------

SESSION = {"customerId": JAMES, "baseSite": "electronics-spa"}


@pytest.fixture
async def admin(app: AsmMockApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as c:
        yield c


@pytest.mark.anyio
async def test_get_put_get_is_identical_and_sessions_survive(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    first = (await client.post(f"{BASE}/sessions", json=SESSION, headers=agent)).json()
    second = await client.post(
        f"{BASE}/sessions", json={"customerId": LINDA, "baseSite": "powertools-spa"}, headers=agent
    )
    before = await admin.get("/__admin/state")
    assert before.status_code == 200
    put = await admin.put("/__admin/state", json=before.json())
    assert put.status_code == 200, put.text
    assert put.json()["sessions"] == 2
    after = await admin.get("/__admin/state")
    assert after.content == before.content
    ended = await client.get(f"{BASE}/sessions/{first['sessionId']}", headers=agent)
    assert ended.json()["status"] == "ENDED"
    active = await client.get(f"{BASE}/sessions/{second.json()['sessionId']}", headers=agent)
    assert active.json()["status"] == "ACTIVE"


@pytest.mark.anyio
async def test_a_put_state_changes_what_the_api_serves(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    state = (await admin.get("/__admin/state")).json()
    james = _customer(state, JAMES)
    james["lastName"] = "Webster"
    state["customers"] = [james]
    assert (await admin.put("/__admin/state", json=state)).json()["customers"] == 1
    found = await client.get(
        f"{BASE}/customers/search",
        params={"query": "", "baseSite": "electronics-spa"},
        headers=agent,
    )
    assert [e["name"] for e in found.json()["entries"]] == ["James Webster"]
    assert (await admin.post("/__admin/reset")).json()["customers"] > 60  # the seeded world again


@pytest.mark.anyio
async def test_a_bad_put_changes_nothing(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    await client.post(f"{BASE}/sessions", json=SESSION, headers=agent)
    before = await admin.get("/__admin/state")
    state = before.json()
    james = _customer(state, JAMES)
    james["lastName"] = "Webster"  # valid so far ...
    state["customers"] = [c for c in state["customers"][:40] if c is not james] + [james]
    state["sessions"][0]["cartId"] = "00000001"  # ... but the session's cart does not exist
    response = await admin.put("/__admin/state", json=state)
    assert_occ_error(response, 400, "ValidationError", subject="sessions.0.cartId")
    assert (await admin.get("/__admin/state")).content == before.content


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("change", "subject"),
    [
        (lambda s: s.update(extra=1), "body"),
        (lambda s: s.pop("agents"), "agents"),
        (lambda s: s["customers"][0].update(signedUp="2020-01-01"), "customers.0.signedUp"),
        (lambda s: s["customers"][0].update(uid="not-an-email"), "customers.0.uid"),
        (lambda s: s["customers"][0]["carts"].append({"code": "1"}), "customers.0.carts.0.site"),
        (lambda s: s["agents"][0].update(groups=[]), "agents.0.groups"),
    ],
    ids=["extra field", "missing list", "date without time", "uid", "cart", "empty groups"],
)
async def test_the_admin_schema_checks_a_put_first(
    admin: httpx.AsyncClient, change: Callable[[Document], object], subject: str
) -> None:
    state = (await admin.get("/__admin/state")).json()
    state["customers"][0]["carts"] = []
    change(state)
    response = await admin.put("/__admin/state", json=state)
    error = assert_occ_error(response, 400, "ValidationError")
    assert error.get("subject") in {subject, subject.rsplit(".", 1)[0]}, error


@pytest.mark.anyio
async def test_a_put_without_a_json_content_type_is_415(admin: httpx.AsyncClient) -> None:
    body = (await admin.get("/__admin/state")).content
    response = await admin.put("/__admin/state", content=body)
    assert_occ_error(response, 415, "UnsupportedMediaTypeError")
