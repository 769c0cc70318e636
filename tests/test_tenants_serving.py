"""Tenants as they are configured and served: the registry, the options, a live server, --watch
and the pytest plugin's `asm_mock_tenant`."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from asm_mock.cli import command, parse_settings
from asm_mock.domain.controls import Controls, RuntimeSettings
from asm_mock.domain.errors import TenantLimitError
from asm_mock.domain.journal import Journal
from asm_mock.domain.service import MockService
from asm_mock.domain.tenants import Tenant, TenantFactory, Tenants
from asm_mock.domain.world import World
from asm_mock.http.app import create_app
from asm_mock.settings import Settings
from asm_mock.testing import AGENT_CREDENTIALS, AsmMockServer, password_form
from tests.helpers import BASE, REPO, TOKEN_URL, assert_occ_error, password_token

pytest_plugins = ["pytester"]

SITE = "electronics-spa"
JAMES = "james.weber@example.com"
FORM = password_form(**AGENT_CREDENTIALS)


def registry(
    world: World, now: list[float], *, max_tenants: int = 100, ttl_s: float = 3600.0
) -> Tenants:
    controls = Controls(RuntimeSettings(), seed=1)
    default = Tenant(None, MockService(world), Journal(10), controls)
    factory = TenantFactory(
        started=lambda: world, controls=controls, journal_size=10, operation_of=lambda m, p: None
    )
    return Tenants(
        default, factory=factory, max_tenants=max_tenants, ttl_s=ttl_s, time_source=lambda: now[0]
    )


@pytest.mark.anyio
async def test_a_tenant_is_made_once_kept_while_used_and_made_anew_after_its_ttl(
    world: World,
) -> None:
    now = [0.0]
    tenants = registry(world, now, ttl_s=10)
    first = tenants.get("a")
    now[0] = 9.0
    assert tenants.get("a") is first  # used at 9: idle again from there
    now[0] = 18.0
    assert tenants.get("a") is first
    now[0] = 28.0
    fresh = tenants.get("a")
    assert fresh is not first and await fresh.service.store.token_count() == 0
    assert tenants.every()[0] is tenants.default


def test_the_bound_counts_live_tenants_only(world: World) -> None:
    now = [0.0]
    tenants = registry(world, now, max_tenants=2, ttl_s=10)
    tenants.get("a")
    now[0] = 5.0
    tenants.get("b")
    with pytest.raises(TenantLimitError, match="all 2 tenants"):
        tenants.get("c")
    now[0] = 10.0  # a has been idle for 10 s: expired, its place is free
    tenants.get("c")
    assert [t.name for t in tenants.named()] == ["b", "c"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("3600", 3600.0), ("90s", 90.0), ("30m", 1800.0), ("1h", 3600.0)]
)
def test_the_tenant_ttl_takes_seconds_or_a_unit(text: str, seconds: float) -> None:
    assert parse_settings(["serve", "--tenant-ttl", text])[1].tenant_ttl == seconds


def test_tenant_defaults_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse_settings(["serve"])[1]
    assert (settings.max_tenants, settings.tenant_ttl) == (100, 3600.0)
    monkeypatch.setenv("ASM_MOCK_MAX_TENANTS", "7")
    monkeypatch.setenv("ASM_MOCK_TENANT_TTL", "2m")
    settings = parse_settings(["serve"])[1]
    assert (settings.max_tenants, settings.tenant_ttl) == (7, 120.0)


@pytest.mark.parametrize(
    ("args", "env", "problem"),
    [
        (["--tenant-ttl", "1d"], {}, "option --tenant-ttl: '1d' is not a duration"),
        (["--tenant-ttl", "0"], {}, "option --tenant-ttl: '0' is not a duration"),
        (["--tenant-ttl", "-5s"], {}, "option --tenant-ttl: '-5s' is not a duration"),
        (["--max-tenants", "0"], {}, "option --max-tenants: must be >= 1, got 0"),
        ([], {"ASM_MOCK_TENANT_TTL": "soon"}, "ASM_MOCK_TENANT_TTL (option --tenant-ttl)"),
        ([], {"ASM_MOCK_MAX_TENANTS": "x"}, "ASM_MOCK_MAX_TENANTS (option --max-tenants)"),
    ],
)
def test_bad_tenant_options_are_one_line_and_exit_2(
    args: list[str], env: dict[str, str], problem: str
) -> None:
    result = CliRunner().invoke(command, ["serve", *args], env=env)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("asm-mock: error: "), result.stderr
    assert problem in lines[0]


def test_a_live_server_keeps_tenants_apart_and_bounded() -> None:
    with AsmMockServer(
        "--max-tenants", "2", "--tenant-ttl", "30m", settings=Settings(customers=20)
    ) as server:
        with httpx.Client(base_url=server.base_url, trust_env=False) as client:
            token_a = client.post(f"/t/a{TOKEN_URL}", data=FORM).json()["access_token"]
            b = {"X-Asm-Mock-Tenant": "b"}
            token_b = client.post(TOKEN_URL, data=FORM, headers=b).json()["access_token"]
            body = {"customerId": JAMES, "baseSite": SITE}
            started = client.post(
                f"/t/a{BASE}/sessions", json=body, headers={"Authorization": f"Bearer {token_a}"}
            )
            assert started.status_code == 201, started.text
            refused = client.get(
                f"{BASE}/agents/asagent", headers={**b, "Authorization": f"Bearer {token_a}"}
            )
            assert_occ_error(refused, 401, "InvalidTokenError")
            own = client.get(
                f"{BASE}/agents/asagent", headers={**b, "Authorization": f"Bearer {token_b}"}
            )
            assert own.status_code == 200
            assert_occ_error(client.get("/t/c/__admin/health"), 503, "ServiceUnavailableError")
            listed = client.get("/__admin/tenants").json()
            assert listed["maxTenants"] == 2
            assert {t["name"]: t["sessions"] for t in listed["tenants"]} == {"a": 1, "b": 0}
            assert client.get("/__admin/health").json()["sessions"] == 0
            ui = client.get(f"/t/a{BASE}/ui/")
            assert ui.status_code == 200 and f"/t/a{BASE}/openapi.json" in ui.text


@pytest.mark.anyio
async def test_a_watch_reload_reaches_every_tenant(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(REPO / "fixtures", fixtures)
    app = create_app(Settings(watch=True, fixtures=fixtures, customers=0, cache_dir=None))
    assert app.watcher is not None
    app.load_fully()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t/t/a") as tenant:
        headers = {"Authorization": f"Bearer {await password_token(tenant)}"}
        body = {"customerId": JAMES, "baseSite": SITE}
        session = (await tenant.post(f"{BASE}/sessions", json=body, headers=headers)).json()
        before = (await tenant.get("/__admin/health")).json()["customers"]

        document = yaml.safe_load((fixtures / "customers.yaml").read_text())
        added = dict(document["customers"][0], uid="ada.quill@example.com", first_name="Ada")
        added["customer_id"] = "0b7c2a51-5b47-4bfb-9d55-3f1f5ac0e7aa"
        document["customers"].append(added)
        (fixtures / "customers.yaml").write_text(yaml.safe_dump(document))
        assert await app.watcher.reload([str(fixtures / "customers.yaml")])

        assert (await tenant.get("/__admin/health")).json()["customers"] == before + 1
        kept = await tenant.get(f"{BASE}/sessions/{session['sessionId']}", headers=headers)
        assert kept.status_code == 200  # its sessions and tokens survive the reload
        fresh = await tenant.get("/__admin/health", headers={"X-Asm-Mock-Tenant": "a"})
        assert fresh.status_code == 200
    assert len(app.tenants.get("new").service.world().customers) == before + 1


def test_the_plugin_gives_each_test_its_own_tenant_of_one_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(
        """
import httpx
import pytest

SESSIONS = "/assistedservicewebservices/sessions"
BODY = {"customerId": "james.weber@example.com", "baseSite": "electronics-spa"}
SEEN = []


@pytest.mark.parametrize("run", range(3))
@pytest.mark.asm_mock(customers=20)
def test_own_tenant(asm_mock_tenant, run):
    SEEN.append((asm_mock_tenant.name, asm_mock_tenant.server_url))
    assert asm_mock_tenant.base_url.endswith("/t/" + asm_mock_tenant.name)
    with httpx.Client(base_url=asm_mock_tenant.base_url, trust_env=False) as client:
        headers = asm_mock_tenant.headers()
        started = client.post(SESSIONS, json=BODY, headers=headers)
        assert started.status_code == 201, started.text
        health = client.get("/__admin/health").json()
        assert health["tenant"] == asm_mock_tenant.name
        assert health["sessions"] == 1  # no other test's session
        assert client.get("/__admin/tenants").json()["tenants"][0]["sessions"] == 1


def test_one_server_and_every_tenant_deleted():
    assert len({name for name, _ in SEEN}) == 3
    servers = {url for _, url in SEEN}
    assert len(servers) == 1
    with httpx.Client(base_url=servers.pop(), trust_env=False) as client:
        assert client.get("/__admin/tenants").json()["tenants"] == []
"""
    )
    result = pytester.runpytest_subprocess("-p", "asm_mock", "-p", "no:randomly")
    result.assert_outcomes(passed=4)
