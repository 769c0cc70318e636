"""Scenarios: the shipped ones and their effect through the API; bad files; reset undoes them."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from asm_mock.contract import load_compiled
from asm_mock.contract.canned import canned_answers
from asm_mock.domain.controls import Controls, Latency, RuntimeSettings
from asm_mock.domain.errors import FixtureError, NotFoundError
from asm_mock.domain.fixtures import Fixtures
from asm_mock.domain.generate import build_world
from asm_mock.domain.scenarios import apply, apply_scenario, load_scenarios
from asm_mock.domain.service import MockService
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.resources import contract_path
from asm_mock.settings import Settings
from tests.helpers import BASE, REPO, TOKEN_URL, assert_occ_error

SCENARIOS = REPO / "fixtures" / "scenarios"
CANNED = canned_answers(load_compiled(contract_path()))
VIP = "victoria.price@example.com"
ELECTRONICS = {"baseSite": "electronics-spa"}
SHIPPED = {
    "empty-search",
    "vip-customer",
    "expired-token",
    "slow-network",
    "flaky-backend",
    "customer-360-unavailable",
    "agent-not-found",
    "no-login",
}


def fresh(fixtures: Fixtures) -> tuple[MockService, Controls]:
    world = build_world(seed=7, customers=20, fixtures=fixtures)
    return MockService(world), Controls(RuntimeSettings(), seed=7)


# -- the shipped scenarios, in the domain ------------------------------------------------------


def test_every_shipped_scenario_loads_with_a_description() -> None:
    scenarios = load_scenarios(SCENARIOS, canned=CANNED)
    assert SHIPPED <= set(scenarios)
    assert all(s.description and s.name == name for name, s in scenarios.items())


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(SHIPPED))
async def test_every_shipped_scenario_applies(name: str, shipped_fixtures: Fixtures) -> None:
    service, controls = fresh(shipped_fixtures)
    await apply_scenario(
        name, service=service, controls=controls, directory=SCENARIOS, canned=CANNED
    )
    await service.reset()
    controls.reset()
    assert controls.settings == RuntimeSettings()


@pytest.mark.anyio
async def test_vip_customer_is_deterministic_and_idempotent(shipped_fixtures: Fixtures) -> None:
    service, controls = fresh(shipped_fixtures)
    await apply_scenario(
        "vip-customer", service=service, controls=controls, directory=SCENARIOS, canned=CANNED
    )
    once = service.world()
    await apply_scenario(
        "vip-customer", service=service, controls=controls, directory=SCENARIOS, canned=CANNED
    )
    twice = service.world()
    assert twice.customers == once.customers and twice.orders == once.orders
    other, _ = fresh(shipped_fixtures)
    await apply_scenario(
        "vip-customer", service=other, controls=controls, directory=SCENARIOS, canned=CANNED
    )
    assert other.world().carts == once.carts
    vip = once.find_customer(VIP)
    assert vip is not None
    site = once.sites["electronics-spa"]
    assert (len(once.orders_of(vip, site)), len(once.carts_of(vip, site))) == (60, 12)
    assert len(once.tickets_of(vip, site)) == 3
    codes = [x.code for x in (*once.carts, *once.orders)]
    assert len(codes) == len(set(codes))  # invented codes never clash with the world's


@pytest.mark.anyio
async def test_apply_scenario_names_the_available_ones(shipped_fixtures: Fixtures) -> None:
    service, controls = fresh(shipped_fixtures)
    with pytest.raises(NotFoundError, match="available: agent-not-found, customer-360"):
        await apply_scenario(
            "nope", service=service, controls=controls, directory=SCENARIOS, canned=CANNED
        )


# -- their effect through the API ------------------------------------------------------------


@pytest.fixture
async def admin(app: AsmMockApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as c:
        yield c


async def scenario(admin: httpx.AsyncClient, name: str) -> dict[str, object]:
    response = await admin.post(f"/__admin/scenarios/{name}")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.mark.anyio
async def test_the_scenarios_are_listed(admin: httpx.AsyncClient) -> None:
    listed = (await admin.get("/__admin/scenarios")).json()["scenarios"]
    assert SHIPPED <= {s["name"] for s in listed}
    assert all(s["description"] for s in listed)


@pytest.mark.anyio
async def test_empty_search_finds_nothing(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    assert (await scenario(admin, "empty-search"))["customers"] == 0
    found = await client.get(
        f"{BASE}/customers/search", params={"query": "", **ELECTRONICS}, headers=agent
    )
    assert found.json()["entries"] == [] and found.json()["pagination"]["totalResults"] == 0
    missing = await client.get(f"{BASE}/customers/james.weber@example.com", params=ELECTRONICS)
    assert missing.status_code == 401  # no token: auth still comes first
    assert_occ_error(
        await client.get(
            f"{BASE}/customers/james.weber@example.com", params=ELECTRONICS, headers=agent
        ),
        404,
        "NotFoundError",
    )


@pytest.mark.anyio
async def test_vip_customer_has_a_long_history(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    await scenario(admin, "vip-customer")
    view = (await client.get(f"{BASE}/customers/{VIP}", params=ELECTRONICS, headers=agent)).json()
    assert len(view["recentOrders"]) == 5 and len(view["supportTickets"]) == 3
    carts = await client.get(f"{BASE}/customers/{VIP}/carts", params=ELECTRONICS, headers=agent)
    assert len(carts.json()["carts"]) == 12
    found = await client.get(
        f"{BASE}/customers/search", params={"query": "victoria", **ELECTRONICS}, headers=agent
    )
    entry = found.json()["entries"][0]
    assert entry["uid"] == VIP and entry["hasOrder"] is True
    assert entry["lastCartId"] == carts.json()["carts"][0]["code"]


@pytest.mark.anyio
async def test_expired_token_answers_401_and_a_refresh_works(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    login = {"client_id": "mobile_android", "client_secret": "secret"}
    grant = await client.post(
        TOKEN_URL,
        data={"grant_type": "password", "username": "asagent", "password": "pw4all", **login},
    )
    headers = {"Authorization": f"Bearer {grant.json()['access_token']}"}
    assert (await client.get(f"{BASE}/agents/asagent", headers=headers)).status_code == 200
    await scenario(admin, "expired-token")
    assert_occ_error(
        await client.get(f"{BASE}/agents/asagent", headers=headers), 401, "InvalidTokenError"
    )
    refreshed = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "refresh_token",
            "refresh_token": grant.json()["refresh_token"],
            **login,
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await client.get(f"{BASE}/agents/asagent", headers=headers)).status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("slow-network", {"latency": "800-2500", "errorRate": 0.0, "authMode": "strict"}),
        ("flaky-backend", {"latency": "0", "errorRate": 0.2, "authMode": "strict"}),
        ("no-login", {"latency": "0", "errorRate": 0.0, "authMode": "permissive"}),
    ],
)
async def test_settings_scenarios_store_their_settings(
    admin: httpx.AsyncClient, app: AsmMockApp, name: str, settings: dict[str, object]
) -> None:
    assert (await scenario(admin, name))["settings"] == settings
    assert (await admin.get("/__admin/settings")).json() == settings
    if name == "slow-network":
        assert app.controls.settings.latency == Latency(800, 2500)


@pytest.mark.anyio
async def test_no_login_accepts_any_bearer_token(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await scenario(admin, "no-login")
    anything = {"Authorization": "Bearer whatever"}
    assert (await client.get(f"{BASE}/agents/asagent", headers=anything)).status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "operation", "status", "error_type", "headers"),
    [
        (
            "customer-360-unavailable",
            "getCustomer360",
            503,
            "ServiceUnavailableError",
            {"Retry-After": "30"},
        ),
        ("agent-not-found", "getAgent", 404, "NotFoundError", {}),
    ],
)
async def test_canned_answers_are_stored_in_the_controls(
    admin: httpx.AsyncClient,
    app: AsmMockApp,
    name: str,
    operation: str,
    status: int,
    error_type: str,
    headers: dict[str, str],
) -> None:
    assert app.controls.canned(operation) is None
    await scenario(admin, name)
    canned = app.controls.canned(operation)
    assert canned is not None and (canned.status, dict(canned.headers)) == (status, headers)
    assert canned.body["errors"][0]["type"] == error_type


@pytest.mark.anyio
async def test_an_unknown_scenario_is_404_listing_the_available_ones(
    admin: httpx.AsyncClient,
) -> None:
    error = assert_occ_error(await admin.post("/__admin/scenarios/nope"), 404, "NotFoundError")
    assert "vip-customer" in error["message"] and error["subject"] == "name"


@pytest.mark.anyio
async def test_reset_undoes_scenarios(
    admin: httpx.AsyncClient, app: AsmMockApp, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    seeded = (await admin.get("/__admin/state")).content
    for name in ("vip-customer", "slow-network", "agent-not-found", "empty-search"):
        await scenario(admin, name)
    assert (await admin.get("/__admin/state")).content != seeded
    assert (await admin.post("/__admin/reset")).status_code == 200
    assert (await admin.get("/__admin/state")).content == seeded
    assert app.controls.settings == RuntimeSettings() and app.controls.canned("getAgent") is None
    gone = await client.get(f"{BASE}/customers/{VIP}", params=ELECTRONICS, headers=agent)
    assert_occ_error(gone, 404, "NotFoundError")


@pytest.mark.anyio
async def test_a_world_scenario_ends_sessions(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    session = {"customerId": "james.weber@example.com", **ELECTRONICS}
    assert (await client.post(f"{BASE}/sessions", json=session, headers=agent)).status_code == 201
    assert (await scenario(admin, "vip-customer"))["sessions"] == 0


# -- bad scenario files ------------------------------------------------------------------------


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


CUSTOMER = textwrap.dedent("""\
    world:
      customers:
        - uid: new.one@example.com
          customer_id: 0b6a4c44-2f6e-4c5d-9a39-5b7c0f4d2e11
          first_name: New
          last_name: One
          signed_up: 2020-01-01T00:00:00Z
          town: Leeds
          country: United Kingdom
          sites: [electronics-spa]
""")
BAD_FILES = {
    "typo": ("description: x\nsetings: {latency: '5'}\n", "", "did you mean 'settings'"),
    "no-effect": ("description: nothing\n", "", "needs settings, world, tokens or responses"),
    "latency": (
        "description: x\nsettings: {latency: fast}\n",
        "/settings/latency",
        "expected MS or LOW-HIGH",
    ),
    "error-rate": ("description: x\nsettings: {errorRate: 2}\n", "/settings/errorRate", "2 is"),
    "tokens": ("description: x\ntokens: {expire: true}\n", "/tokens", "expire"),
    "missing-field": (
        "description: x\n" + CUSTOMER.replace("      town: Leeds\n", ""),
        "/world/customers/0",
        "'town' is a required property",
    ),
    "unknown-site": (
        "description: x\n" + CUSTOMER.replace("[electronics-spa]", "[nowhere-spa]"),
        "/world/customers/0/sites/0",
        "unknown base site 'nowhere-spa'",
    ),
    "bad-date": (
        "description: x\n" + CUSTOMER.replace("2020-01-01T00:00:00Z", "'2020-01-01'"),
        "/world/customers/0/signed_up",
        "not an ISO 8601 date-time",
    ),
    "generate-and-list": (
        "description: x\n" + CUSTOMER + "      orders: []\n      generate: {orders: 3}\n",
        "/world/customers/0/generate/orders",
        "both as a list and in generate",
    ),
    "undocumented-status": (
        "description: x\nresponses:\n  getCustomer360: {status: 409, body: {errors: [{type: X}]}}",
        "/responses/getCustomer360/status",
        "does not document status 409 (200, 400, 401, 403, 404",
    ),
    "undocumented-header": (
        "description: x\nresponses:\n  getAgent:\n"
        "    {status: 404, headers: {X-Nope: '1'}, body: {errors: [{type: X}]}}\n",
        "/responses/getAgent/headers/X-Nope",
        "documents no such header here",
    ),
    "body-breaks-contract": (
        "description: x\nresponses:\n  getAgent: {status: 404, body: {errors: [{message: m}]}}\n",
        "/responses/getAgent/body/errors/0",
        "breaks the contract's schema: 'type' is a required property",
    ),
    "body-wrong-type": (
        "description: x\nresponses:\n  getAgent: {status: 200, body: {uid: asagent, groups: x}}\n",
        "/responses/getAgent/body/groups",
        "'x' is not of type 'array'",
    ),
    "body-missing": (
        "description: x\nresponses:\n  getAgent: {status: 404}\n",
        "/responses/getAgent",
        "'body' is required",
    ),
    "unknown-operation": (
        "description: x\nresponses:\n  getCustomers: {status: 200, body: {}}\n",
        "/responses/getCustomers",
        "unknown operationId (the contract has: createAssistedSession",
    ),
    "duplicate-key": ("description: x\ndescription: y\n", "", "duplicate key 'description'"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_scenario_file_names_file_path_and_problem(tmp_path: Path, name: str) -> None:
    text, path, problem = BAD_FILES[name]
    write(tmp_path, "fine", "description: fine\nsettings: {latency: '5'}\n")
    write(tmp_path, name, text)
    with pytest.raises(FixtureError) as caught:
        load_scenarios(tmp_path, canned=CANNED)
    error = caught.value
    assert (error.file, error.path) == (f"{name}.yaml", path), error
    assert problem in error.problem, error


def test_a_scenario_name_must_be_url_friendly(tmp_path: Path) -> None:
    write(tmp_path, "Bad Name", "description: x\nsettings: {latency: '5'}\n")
    with pytest.raises(FixtureError, match="lowercase letters, digits and dashes"):
        load_scenarios(tmp_path, canned=CANNED)
    with pytest.raises(FixtureError, match="scenarios directory not found"):
        load_scenarios(tmp_path / "missing", canned=CANNED)


@pytest.mark.anyio
async def test_a_clash_with_the_current_world_changes_nothing(
    tmp_path: Path, shipped_fixtures: Fixtures
) -> None:
    clash = CUSTOMER.replace(
        "0b6a4c44-2f6e-4c5d-9a39-5b7c0f4d2e11", "595de6ab-be54-402f-ae9f-707b21e05703"
    )  # James Weber's customerId
    write(tmp_path, "clash", "description: x\nsettings: {errorRate: 0.5}\n" + clash)
    service, controls = fresh(shipped_fixtures)
    world = service.world()
    with pytest.raises(FixtureError) as caught:
        await apply(
            load_scenarios(tmp_path, canned=CANNED)["clash"], service=service, controls=controls
        )
    assert caught.value.path == "/world/customers/0/customer_id"
    assert service.world() is world and controls.settings == RuntimeSettings()


@pytest.mark.anyio
async def test_bad_scenario_files_answer_409_through_http(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(REPO / "fixtures", fixtures)
    write(fixtures / "scenarios", "broken", "description: x\nsettings: {latency: fast}\n")
    app = create_app(Settings(customers=5, fixtures=fixtures))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as admin:
        for response in (
            await admin.get("/__admin/scenarios"),
            await admin.post("/__admin/scenarios/broken"),
        ):
            error = assert_occ_error(response, 409, "ScenarioError", subject="broken.yaml")
            assert "/settings/latency" in error["message"]
