"""The admin API: health, reset, the request journal, and who may use it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from asm_mock.domain.controls import Latency, RuntimeSettings
from asm_mock.domain.journal import Journal, JournalEntry
from asm_mock.http.admin import admin_contract
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.settings import Settings
from tests.helpers import BASE, assert_occ_error, password_token

pytestmark = pytest.mark.anyio

SESSION = {"customerId": "james.weber@example.com", "baseSite": "electronics-spa"}


async def admin_client(app: AsmMockApp, client_host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002")


@pytest.fixture
async def admin(app: AsmMockApp) -> AsyncIterator[httpx.AsyncClient]:
    async with await admin_client(app) as c:
        yield c


async def test_health_reports_the_world_and_state(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    await client.post(f"{BASE}/sessions", json=SESSION, headers=agent)
    health = (await admin.get("/__admin/health")).json()
    assert health["status"] == "UP"
    assert health["sessions"] == 1 and health["tokens"] == 1
    assert health["customers"] > 60
    assert health["requests"] == 2  # the token request and the session


async def test_the_journal_records_every_request_with_operation_status_and_problems(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    await client.get(f"{BASE}/agents/asagent", headers=agent)
    await client.get(
        f"{BASE}/customers/search", params={"baseSite": "electronics-spa"}, headers=agent
    )
    await client.get(f"{BASE}/nowhere", headers=agent)
    body = (await admin.get("/__admin/requests")).json()
    assert body["total"] == 4
    newest, missing_query, agent_call, token = body["requests"]
    assert (token["operationId"], token["status"]) == ("oauthToken", 200)
    assert (agent_call["operationId"], agent_call["status"], agent_call["problems"]) == (
        "getAgent",
        200,
        [],
    )
    assert missing_query["operationId"] == "searchCustomers" and missing_query["status"] == 400
    assert missing_query["problems"] == ["Required query parameter 'query' is not present"]
    assert newest["operationId"] is None and newest["status"] == 404
    assert all(entry["durationMs"] >= 0 for entry in body["requests"])


async def test_the_journal_filters_by_path_operation_status_and_limit(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    for _ in range(3):
        await client.get(f"{BASE}/agents/asagent", headers=agent)
    await client.get(f"{BASE}/agents/nobody", headers=agent)

    async def count(**params: object) -> int:
        return len((await admin.get("/__admin/requests", params=params)).json()["requests"])

    assert await count(operationId="getAgent") == 4
    assert await count(status=404) == 1
    assert await count(path=f"{BASE}/agents") == 4
    assert await count(limit=2) == 2
    assert_occ_error(
        await admin.get("/__admin/requests", params={"status": "x"}), 400, "ValidationError"
    )


async def test_clearing_the_journal(admin: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    await client.get(f"{BASE}/agents/asagent")
    cleared = await admin.delete("/__admin/requests")
    assert cleared.json()["total"] == 0
    assert (await admin.get("/__admin/requests")).json()["requests"] == []


async def test_the_journal_is_a_bounded_ring() -> None:
    app = create_app(Settings(customers=5, journal_size=5))
    async with await admin_client(app) as c:
        for _ in range(12):
            await c.get(f"{BASE}/agents/asagent")
        body = (await c.get("/__admin/requests")).json()
    assert body["capacity"] == 5 and body["total"] == 12 and len(body["requests"]) == 5


async def test_reset_ends_sessions_clears_the_journal_and_keeps_tokens(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    session = (await client.post(f"{BASE}/sessions", json=SESSION, headers=agent)).json()
    reset = await admin.post("/__admin/reset")
    assert reset.status_code == 200
    assert reset.json()["sessions"] == 0 and reset.json()["requests"] == 0
    assert_occ_error(
        await client.get(f"{BASE}/sessions/{session['sessionId']}", headers=agent),
        404,
        "NotFoundError",
    )
    assert (await client.get(f"{BASE}/agents/asagent", headers=agent)).status_code == 200


async def test_reset_can_drop_tokens(admin: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await password_token(client)}"}
    assert (await admin.post("/__admin/reset", json={"dropTokens": True})).json()["tokens"] == 0
    assert_occ_error(
        await client.get(f"{BASE}/agents/asagent", headers=headers), 401, "InvalidTokenError"
    )


async def test_reset_validates_its_body_against_the_admin_contract(
    admin: httpx.AsyncClient,
) -> None:
    response = await admin.post("/__admin/reset", json={"dropTokens": "yes"})
    assert_occ_error(response, 400, "ValidationError", subject="dropTokens")
    assert_occ_error(await admin.post("/__admin/reset", json={"other": 1}), 400, "ValidationError")


async def test_the_admin_contract_is_served(admin: httpx.AsyncClient) -> None:
    document = (await admin.get("/__admin/openapi.json")).json()
    assert document["info"]["title"] == "asm-mock admin API"
    assert {"/health", "/reset", "/requests"} <= set(document["paths"])


async def test_admin_refuses_clients_off_loopback(app: AsmMockApp) -> None:
    async with await admin_client(app, "192.0.2.10") as remote:
        assert_occ_error(await remote.get("/__admin/health"), 403, "ForbiddenError")
        assert_occ_error(await remote.post("/__admin/reset"), 403, "ForbiddenError")
    async with await admin_client(app, "::1") as local:
        assert (await local.get("/__admin/health")).status_code == 200


async def test_an_admin_token_is_required_when_set_even_on_loopback() -> None:
    app = create_app(Settings(customers=5, admin_token="s3cret-admin"))
    async with await admin_client(app, "192.0.2.10") as remote:
        assert_occ_error(await remote.get("/__admin/health"), 401, "UnauthorizedError")
        wrong = await remote.get("/__admin/health", headers={"Authorization": "Bearer nope"})
        assert_occ_error(wrong, 403, "ForbiddenError")
        right = await remote.get(
            "/__admin/health", headers={"Authorization": "Bearer s3cret-admin"}
        )
        assert right.status_code == 200
    async with await admin_client(app) as local:
        assert_occ_error(await local.get("/__admin/health"), 401, "UnauthorizedError")


def test_journal_ring_keeps_the_newest_and_filters() -> None:
    from datetime import UTC, datetime

    journal = Journal(capacity=3)
    for n in range(5):
        journal.record(
            JournalEntry(
                datetime.now(UTC), "GET", f"/p/{n}", "", "op" if n % 2 else None, 200 + n, 1.0
            )
        )
    assert [e.path for e in journal.entries()] == ["/p/4", "/p/3", "/p/2"]
    assert journal.total == 5
    assert [e.path for e in journal.entries(operation_id="op")] == ["/p/3"]
    with pytest.raises(ValueError):
        Journal(capacity=0)


# -- run-time settings ------------------------------------------------------------------------


async def test_settings_start_from_the_command_line_defaults(admin: httpx.AsyncClient) -> None:
    settings = await admin.get("/__admin/settings")
    assert settings.json() == {"latency": "0", "errorRate": 0.0, "authMode": "strict"}


async def test_patching_settings_changes_only_the_fields_given(
    admin: httpx.AsyncClient, app: AsmMockApp
) -> None:
    patched = await admin.patch("/__admin/settings", json={"latency": "50-300", "errorRate": 0.25})
    assert patched.json() == {"latency": "50-300", "errorRate": 0.25, "authMode": "strict"}
    again = await admin.patch("/__admin/settings", json={"latency": "120"})
    assert again.json() == {"latency": "120", "errorRate": 0.25, "authMode": "strict"}
    assert (await admin.get("/__admin/settings")).json() == again.json()
    assert app.controls.settings.latency == Latency(120, 120)
    assert app.controls.settings.error_rate == 0.25
    assert (await admin.patch("/__admin/settings", json={})).json() == again.json()


async def test_permissive_auth_takes_effect_at_once(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    anything = {"Authorization": "Bearer not-a-token"}
    assert_occ_error(
        await client.get(f"{BASE}/agents/asagent", headers=anything), 401, "InvalidTokenError"
    )
    await admin.patch("/__admin/settings", json={"authMode": "permissive"})
    assert (await client.get(f"{BASE}/agents/asagent", headers=anything)).status_code == 200
    assert (await admin.get("/__admin/health")).json()["authMode"] == "permissive"


@pytest.mark.parametrize(
    ("change", "subject"),
    [
        ({"latency": "300-50"}, "latency"),  # the contract's pattern passes it, Latency does not
        ({"latency": "99999"}, "latency"),
        ({"latency": "fast"}, "latency"),
        ({"errorRate": 1.5}, "errorRate"),
        ({"errorRate": "0.5"}, "errorRate"),
        ({"authMode": "lenient"}, "authMode"),
    ],
)
async def test_an_invalid_change_is_400_naming_the_field_and_changes_nothing(
    admin: httpx.AsyncClient, app: AsmMockApp, change: dict[str, object], subject: str
) -> None:
    before = app.controls.settings
    # a valid field alongside the invalid one: the change applies whole or not at all
    response = await admin.patch("/__admin/settings", json={"authMode": "permissive", **change})
    assert_occ_error(response, 400, "ValidationError", subject=subject)
    assert app.controls.settings == before


async def test_settings_refuse_unknown_fields_and_untyped_bodies(
    admin: httpx.AsyncClient,
) -> None:
    assert_occ_error(
        await admin.patch("/__admin/settings", json={"latencyMs": 5}), 400, "ValidationError"
    )
    untyped = await admin.patch("/__admin/settings", content=b'{"latency": "5"}')
    assert_occ_error(untyped, 415, "UnsupportedMediaTypeError")
    assert (await admin.get("/__admin/settings")).json()["latency"] == "0"


async def test_reset_restores_the_starting_settings(
    admin: httpx.AsyncClient, app: AsmMockApp
) -> None:
    await admin.patch("/__admin/settings", json={"latency": "5", "authMode": "permissive"})
    await admin.post("/__admin/reset")
    assert (await admin.get("/__admin/settings")).json()["latency"] == "0"
    assert app.controls.settings == RuntimeSettings()


def test_the_admin_document_is_valid_openapi_3_1() -> None:
    document = admin_contract().raw
    OpenAPIV31SpecValidator(document).validate()
    assert {"/state", "/settings", "/scenarios", "/scenarios/{name}"} <= set(document["paths"])


async def test_admin_bodies_need_a_content_type_and_may_pass_1_mib(
    admin: httpx.AsyncClient,
) -> None:
    untyped = await admin.request("PATCH", "/__admin/settings", content=b'{"errorRate": 0.1}')
    assert_occ_error(untyped, 415, "UnsupportedMediaTypeError")
    big = create_app(Settings(customers=2500))
    async with await admin_client(big) as client:
        state = (await client.get("/__admin/state")).content
        assert len(state) > 1024 * 1024  # over the API's limit, within the admin API's
        restored = await client.put(
            "/__admin/state", content=state, headers={"Content-Type": "application/json"}
        )
        assert restored.status_code == 200, restored.text[:300]
