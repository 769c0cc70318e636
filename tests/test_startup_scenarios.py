"""Scenarios given at start-up (--scenario): applied in order; /__admin/reset returns to them."""

from __future__ import annotations

import httpx
import pytest

from asm_mock.cli import main, parse_settings
from asm_mock.http.app import create_app
from asm_mock.settings import Settings
from tests.helpers import BASE

pytestmark = pytest.mark.anyio

VIP = "victoria.price@example.com"


def test_scenario_option_is_repeatable_and_has_an_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, settings = parse_settings(["--scenario", "vip-customer", "--scenario", "slow-network"])
    assert settings.scenarios == ("vip-customer", "slow-network")
    monkeypatch.setenv("ASM_MOCK_SCENARIO", "empty-search, no-login")
    assert parse_settings(["serve"])[1].scenarios == ("empty-search", "no-login")
    assert parse_settings(["check", "--scenario", "vip-customer"])[1].scenarios == ("vip-customer",)


def test_check_reports_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--customers", "5", "--scenario", "no-such-scenario"]) == 2
    err = capsys.readouterr().err
    assert "no-such-scenario" in err and "vip-customer" in err


async def test_start_up_scenarios_apply_and_survive_a_reset() -> None:
    app = create_app(Settings(customers=10, scenarios=("vip-customer", "no-login")))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = {"Authorization": "Bearer anything"}  # no-login: permissive auth
        carts = f"{BASE}/customers/{VIP}/carts"
        site = {"baseSite": "electronics-spa"}
        assert len((await client.get(carts, params=site, headers=headers)).json()["carts"]) == 12
        await client.post("/__admin/scenarios/empty-search")
        search = await client.get(f"{BASE}/customers/search", headers=headers,
                                  params={"query": "", "baseSite": "electronics-spa"})  # fmt: skip
        assert search.json()["entries"] == []
        assert (await client.post("/__admin/reset")).status_code == 200
        after = await client.get(carts, params={"baseSite": "electronics-spa"}, headers=headers)
        assert after.status_code == 200 and len(after.json()["carts"]) == 12
