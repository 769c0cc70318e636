"""Tenants: isolated states of one running mock, chosen by a /t/{tenant} prefix or a header."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.settings import Settings
from tests.helpers import BASE, SMALL_WORLD, assert_occ_error, password_token

pytestmark = pytest.mark.anyio

SITE = "electronics-spa"
JAMES = "james.weber@example.com"
HEADER = "X-Asm-Mock-Tenant"


def tenant_client(app: AsmMockApp, prefix: str = "") -> httpx.AsyncClient:
    """A client whose base URL is the tenant's: all a browser app changes."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=f"http://127.0.0.1:9002{prefix}"
    )


async def bearer(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {await password_token(client)}"}


async def session_flow(client: httpx.AsyncClient) -> str:
    """Token, start a session, read it, end it, start another one that stays: its id."""
    headers = await bearer(client)
    body = {"customerId": JAMES, "baseSite": SITE}
    started = await client.post(f"{BASE}/sessions", json=body, headers=headers)
    assert started.status_code == 201, started.text
    first = started.json()["sessionId"]
    read = await client.get(f"{BASE}/sessions/{first}", headers=headers)
    assert read.status_code == 200 and read.json()["status"] == "ACTIVE", read.text
    ended = await client.delete(f"{BASE}/sessions/{first}", headers=headers)
    assert ended.status_code in (200, 204), ended.text
    kept = await client.post(f"{BASE}/sessions", json=body, headers=headers)
    assert kept.status_code == 201, kept.text
    return str(kept.json()["sessionId"])


async def health(client: httpx.AsyncClient) -> dict[str, object]:
    answer = await client.get("/__admin/health")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


async def test_two_tenants_run_the_session_flow_at_once_and_a_reset_touches_one(
    app: AsmMockApp,
) -> None:
    async with tenant_client(app, "/t/ci-job-1") as one, tenant_client(app, "/t/ci-job-2") as two:
        first, second = await asyncio.gather(session_flow(one), session_flow(two))
        assert (await health(one))["sessions"] == 1  # an ended session is forgotten
        assert (await health(two))["sessions"] == 1

        assert (await one.post("/__admin/reset", json={})).status_code == 200

        headers = await bearer(two)
        assert (await two.get(f"{BASE}/sessions/{second}", headers=headers)).status_code == 200
        assert (await health(two))["sessions"] == 1
        assert (await health(one))["sessions"] == 0
        gone = await one.get(f"{BASE}/sessions/{first}", headers=await bearer(one))
        assert gone.status_code == 404
    assert await app.service.store.session_count() == 0  # the default tenant saw none of it


async def test_a_token_is_401_in_every_other_tenant(app: AsmMockApp) -> None:
    async with (
        tenant_client(app, "/t/a") as a,
        tenant_client(app, "/t/b") as b,
        tenant_client(app) as default,
    ):
        headers = await bearer(a)
        assert (await a.get(f"{BASE}/agents/asagent", headers=headers)).status_code == 200
        for other in (b, default):
            answer = await other.get(f"{BASE}/agents/asagent", headers=headers)
            assert_occ_error(answer, 401, "InvalidTokenError")
        # and the default tenant's token is nothing in a named one
        default_headers = await bearer(default)
        answer = await a.get(f"{BASE}/agents/asagent", headers=default_headers)
        assert_occ_error(answer, 401, "InvalidTokenError")


async def test_settings_and_scenarios_stay_in_their_tenant(app: AsmMockApp) -> None:
    async with tenant_client(app, "/t/a") as a, tenant_client(app, "/t/b") as b:
        patched = await a.patch("/__admin/settings", json={"errorRate": 1.0})
        assert patched.status_code == 200, patched.text
        assert (await a.post("/__admin/scenarios/empty-search")).status_code == 200
        assert (await a.post("/__admin/scenarios/agent-not-found")).status_code == 200

        headers = await bearer(b)
        search = await b.get(
            f"{BASE}/customers/search", params={"query": "weber", "baseSite": SITE}, headers=headers
        )
        assert search.status_code == 200 and search.json()["entries"], search.text
        assert (await b.get(f"{BASE}/agents/asagent", headers=headers)).status_code == 200
        assert (await b.get("/__admin/settings")).json()["errorRate"] == 0
        assert (await health(a))["customers"] == 0
        assert (await health(b))["customers"] == len(app.service.world().customers)
        answer = await a.get(f"{BASE}/agents/asagent", headers=await bearer(b))
        assert_occ_error(answer, 503, "ServiceUnavailableError")  # a's error rate
    assert app.controls.settings.error_rate == 0
    assert app.controls.canned("getAgent") is None


async def test_tenants_share_the_started_world_until_theirs_changes(app: AsmMockApp) -> None:
    async with tenant_client(app, "/t/a") as a, tenant_client(app, "/t/b") as b:
        await asyncio.gather(health(a), health(b))
        a_service = app.tenants.get("a").service
        b_service = app.tenants.get("b").service
        assert a_service.world() is b_service.world() is app.service.world()
        assert (await a.post("/__admin/scenarios/vip-customer")).status_code == 200
        assert a_service.world() is not app.service.world()
        assert b_service.world() is app.service.world()


@pytest.mark.parametrize("how", ["prefix", "header"])
async def test_prefix_and_header_reach_token_endpoint_api_admin_and_openapi(
    app: AsmMockApp, how: str
) -> None:
    prefix, headers = ("/t/acme", {}) if how == "prefix" else ("", {HEADER: "acme"})
    async with tenant_client(app, prefix) as client:
        client.headers.update(headers)
        token = await password_token(client)
        auth = {"Authorization": f"Bearer {token}"}
        agent = await client.get(f"{BASE}/agents/asagent", headers=auth)
        assert agent.status_code == 200, agent.text
        listed = await client.get("/__admin/tenants")
        assert [t["name"] for t in listed.json()["tenants"]] == ["acme"]
        assert listed.json()["tenants"][0]["tokens"] == 1
        assert (await health(client))["tenant"] == "acme"
        document = await client.get(f"{BASE}/openapi.json")
        assert document.status_code == 200
        assert document.json()["servers"][0]["url"] == f"{prefix}{BASE}"
        ui = await client.get(f"{BASE}/ui/")
        assert ui.status_code == 200 and f"{prefix}{BASE}/openapi.json" in ui.text
        assert (await client.get(f"{BASE}/nope", headers=auth)).status_code == 404
    assert await app.service.store.token_count() == 0


async def test_the_same_tenant_by_prefix_and_header_is_one_tenant(app: AsmMockApp) -> None:
    async with tenant_client(app, "/t/same") as by_prefix, tenant_client(app) as by_header:
        headers = await bearer(by_prefix)
        answer = await by_header.get(f"{BASE}/agents/asagent", headers={**headers, HEADER: "same"})
        assert answer.status_code == 200
        both = await by_prefix.get(f"{BASE}/agents/asagent", headers={**headers, HEADER: "same"})
        assert both.status_code == 200


@pytest.mark.parametrize(
    ("path", "header", "subject"),
    [
        ("/t/a%20b/__admin/health", None, "tenant"),
        ("/t/" + "x" * 65 + "/__admin/health", None, "tenant"),
        ("/t//__admin/health", None, "tenant"),
        ("/t/caf%C3%A9/__admin/health", None, "tenant"),
        ("/__admin/health", "a/b", HEADER),
        ("/__admin/health", "", HEADER),
        ("/__admin/health", "x" * 65, HEADER),
        ("/t/a/__admin/health", "b", HEADER),  # prefix and header disagree
    ],
)
async def test_a_bad_tenant_name_is_a_400(
    client: httpx.AsyncClient, app: AsmMockApp, path: str, header: str | None, subject: str
) -> None:
    headers = {} if header is None else {HEADER: header}
    answer = await client.get(path, headers=headers)
    assert_occ_error(answer, 400, "ValidationError", subject=subject)
    assert len(app.tenants) == 0


async def test_the_101st_tenant_is_a_503_and_a_deleted_one_frees_its_place(
    app: AsmMockApp, client: httpx.AsyncClient
) -> None:
    assert app.tenants.max_tenants == 100  # --max-tenants' default
    for number in range(100):
        assert (await client.get(f"/t/t{number}/__admin/health")).status_code == 200
    refused = await client.get("/t/one-too-many/__admin/health")
    error = assert_occ_error(refused, 503, "ServiceUnavailableError")
    assert "100 tenants (--max-tenants)" in error["message"]
    assert (await client.get("/t/t7/__admin/health")).status_code == 200  # a live one still is
    assert (await client.get("/__admin/health")).json()["tenants"] == 100

    assert (await client.delete("/__admin/tenants/t7")).status_code == 200
    assert (await client.get("/t/one-too-many/__admin/health")).status_code == 200
    assert len(app.tenants) == 100


async def test_a_tenant_idle_for_the_ttl_is_gone_with_its_state() -> None:
    now = [1000.0]
    app = create_app(
        Settings(customers=SMALL_WORLD, max_tenants=2, tenant_ttl=60), tenant_time=lambda: now[0]
    )
    async with (
        tenant_client(app, "/t/a") as a,
        tenant_client(app, "/t/b") as b,
        tenant_client(app) as default,
    ):
        headers = await bearer(a)
        await session_flow(a)
        now[0] += 59
        assert (await a.get(f"{BASE}/agents/asagent", headers=headers)).status_code == 200
        await health(b)
        assert_occ_error(
            await default.get("/__admin/health", headers={HEADER: "c"}),
            503,
            "ServiceUnavailableError",
        )

        now[0] += 60  # a idle for 60 s, b for 60 s: both expired
        listed = await default.get("/__admin/tenants")
        assert listed.json()["tenants"] == []
        answer = await a.get(f"{BASE}/agents/asagent", headers=headers)
        assert_occ_error(answer, 401, "InvalidTokenError")
        assert (await health(a))["sessions"] == 0
        assert (await default.get("/__admin/health", headers={HEADER: "c"})).status_code == 200


async def test_journal_and_report_are_per_tenant(app: AsmMockApp) -> None:
    async with tenant_client(app, "/t/a") as a, tenant_client(app, "/t/b") as b:
        headers = await bearer(a)
        await a.get(f"{BASE}/agents/asagent", headers=headers)
        await a.get(f"{BASE}/agents/asagent", headers={"Authorization": "Bearer nope"})
        journal = (await a.get("/__admin/requests")).json()
        assert [r["operationId"] for r in journal["requests"]] == [
            "getAgent",
            "getAgent",
            "oauthToken",
        ]
        assert journal["requests"][0]["path"] == f"{BASE}/agents/asagent"  # without the prefix
        assert (await b.get("/__admin/requests")).json()["total"] == 0
        report = (await a.get("/__admin/report")).json()
        assert report["window"]["requests"] == 3
        assert (await b.get("/__admin/report")).json()["window"]["requests"] == 0
        assert (await a.delete("/__admin/report")).status_code == 200
        assert (await a.get("/__admin/requests")).json()["total"] == 0
    assert app.journal.total == 0


async def test_a_tenant_sees_and_deletes_only_itself(app: AsmMockApp) -> None:
    async with tenant_client(app, "/t/a") as a, tenant_client(app, "/t/b") as b:
        await asyncio.gather(health(a), health(b))
        assert [t["name"] for t in (await a.get("/__admin/tenants")).json()["tenants"]] == ["a"]
        answer = await a.delete("/__admin/tenants/b")
        assert_occ_error(answer, 404, "NotFoundError")
        assert (await a.delete("/__admin/tenants/a")).status_code == 200
        listed = await b.get("/__admin/tenants", headers={HEADER: "b"})
        assert [t["name"] for t in listed.json()["tenants"]] == ["b"]
    assert [tenant.name for tenant in app.tenants.named()] == ["b"]


async def test_a_new_tenant_starts_as_the_mock_started_not_as_it_is_now() -> None:
    app = create_app(Settings(customers=SMALL_WORLD, scenarios=("empty-search", "slow-network")))
    async with tenant_client(app) as default, tenant_client(app, "/t/new") as new:
        await default.patch("/__admin/settings", json={"latency": "0", "errorRate": 0.5})
        await default.post("/__admin/scenarios/vip-customer")
        settings = (await new.get("/__admin/settings")).json()
        assert settings["latency"] == "800-2500" and settings["errorRate"] == 0
        assert (await health(new))["customers"] == 0  # empty-search, applied at start-up


async def test_a_snapshot_is_the_tenants_own_and_restores_into_one_tenant_only(
    app: AsmMockApp,
) -> None:
    async with (
        tenant_client(app, "/t/a") as a,
        tenant_client(app, "/t/b") as b,
        tenant_client(app) as default,
    ):
        session = await session_flow(a)
        snapshot = (await a.get("/__admin/state")).json()
        assert [s["sessionId"] for s in snapshot["sessions"]] == [session]
        assert (await default.get("/__admin/state")).json()["sessions"] == []

        restored = await b.put("/__admin/state", json=snapshot)
        assert restored.status_code == 200, restored.text
        assert (await health(b))["sessions"] == 1
        read = await b.get(f"{BASE}/sessions/{session}", headers=await bearer(b))
        assert read.status_code == 200
        assert app.tenants.get("b").service.world() is not app.service.world()
        assert app.tenants.get("a").service.world() is app.service.world()
        assert (await health(default))["sessions"] == 0
