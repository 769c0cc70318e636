"""The pytest plugin, as a downstream suite sees it: generated test files run in a subprocess."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from asm_mock.settings import Settings

pytest_plugins = ["pytester"]

SEARCH = """
import json

SEARCH = "/assistedservicewebservices/customers/search"
SITE = {"baseSite": "electronics-spa"}


def first_page(client):
    response = client.get(SEARCH, params={"query": "", **SITE})
    assert response.status_code == 200, response.text
    return [entry["uid"] for entry in response.json()["entries"]]
"""


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated runs load plugins with `-p` only: the venv's others (hypothesis, schemathesis,
    Faker) would double each run's start-up time."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def pages(outlines: list[str]) -> dict[str, list[str]]:
    """`PAGE <name> <json>` lines printed by the generated tests (run with `-s`)."""
    found = {}
    for line in outlines:
        match = re.search(r"PAGE (\S+) (\[.*\])", line)
        if match:
            found[match[1]] = json.loads(match[2])
    return found


def test_in_process_clients_are_logged_in_and_reset_keeps_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SEARCH
        + """
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_async_client(asm_mock_app):
    response = await asm_mock_app.client.get(SEARCH, params={"query": "weber", **SITE})
    assert response.status_code == 200, response.text
    assert response.json()["entries"][0]["uid"] == "james.weber@example.com"
    assert asm_mock_app.client.headers["Authorization"] == f"Bearer {asm_mock_app.token}"


def test_sync_client_and_reset(asm_mock_app):
    client = asm_mock_app.sync_client
    assert first_page(client)
    started = client.post(
        "/assistedservicewebservices/sessions",
        json={"customerId": "james.weber@example.com", "baseSite": "electronics-spa"},
    )
    assert started.status_code == 201, started.text
    session = f"/assistedservicewebservices/sessions/{started.json()['sessionId']}"
    assert client.get(session).status_code == 200
    asm_mock_app.reset()
    assert client.get(session).status_code == 404
    assert first_page(client)  # the token survived the reset


def test_answers_only_connexion_gives(asm_mock_app):
    client = asm_mock_app.sync_client
    refused = client.get(SEARCH, params={"query": "a", "pageSize": "abc", **SITE})
    assert refused.status_code == 400, refused.text
    assert client.get("/__admin/health").status_code == 200
"""
    )
    # `-W error`: downstream suites with filterwarnings=error must not trip over Connexion's imports
    result = pytester.runpytest_subprocess("-p", "asm_mock", "-p", "anyio", "-W", "error")
    result.assert_outcomes(passed=3)


def test_marker_seed_chooses_the_world(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SEARCH
        + """
import pytest


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("seed7", marks=pytest.mark.asm_mock(seed=7, customers=30)),
        pytest.param("seed7again", marks=pytest.mark.asm_mock(seed=7, customers=30)),
        pytest.param("seed8", marks=pytest.mark.asm_mock(seed=8, customers=30)),
    ],
)
def test_world(asm_mock_app, name):
    assert asm_mock_app.service.world().seed == int(name[4])
    print("PAGE", name, json.dumps(first_page(asm_mock_app.sync_client)))
"""
    )
    result = pytester.runpytest_subprocess("-p", "asm_mock", "-s")
    result.assert_outcomes(passed=3)
    found = pages(result.outlines)
    assert found["seed7"] == found["seed7again"]
    assert found["seed7"] != found["seed8"]


def test_options_are_defaults_and_the_marker_wins(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SEARCH
        + """
import pytest


def test_option(asm_mock_app):
    assert (asm_mock_app.settings.seed, asm_mock_app.settings.customers) == (7, 30)
    print("PAGE option", json.dumps(first_page(asm_mock_app.sync_client)))


@pytest.mark.asm_mock(seed=7)
def test_marker_same_seed(asm_mock_app):
    print("PAGE marker7", json.dumps(first_page(asm_mock_app.sync_client)))


@pytest.mark.asm_mock(seed=8, customers=12)
def test_marker_wins(asm_mock_app):
    assert (asm_mock_app.settings.seed, asm_mock_app.settings.customers) == (8, 12)
    print("PAGE marker8", json.dumps(first_page(asm_mock_app.sync_client)))
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "asm_mock", "-s", "--asm-mock-seed", "7", "--asm-mock-customers", "30"
    )
    result.assert_outcomes(passed=3)
    found = pages(result.outlines)
    assert found["option"] == found["marker7"] != found["marker8"]


def test_without_options_the_project_defaults_apply(pytester: pytest.Pytester) -> None:
    defaults = Settings()
    pytester.makepyfile(
        f"""
def test_defaults(asm_mock_app):
    assert asm_mock_app.settings.seed == {defaults.seed}
    assert asm_mock_app.settings.customers == {defaults.customers}
    assert asm_mock_app.settings.auth == "{defaults.auth.value}"
"""
    )
    pytester.runpytest_subprocess("-p", "asm_mock").assert_outcomes(passed=1)


def test_live_server_answers_and_reset_forgets_sessions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import httpx
import pytest


@pytest.mark.asm_mock(customers=20)
def test_live(asm_mock_server):
    print("BASE", asm_mock_server.base_url)
    assert asm_mock_server.api_url == asm_mock_server.base_url + "/assistedservicewebservices"
    with httpx.Client(base_url=asm_mock_server.api_url, trust_env=False) as client:
        assert client.get("/openapi.json").status_code == 200
        headers = asm_mock_server.headers()
        search = client.get(
            "/customers/search",
            params={"query": "weber", "baseSite": "electronics-spa"},
            headers=headers,
        )
        assert search.json()["entries"][0]["uid"] == "james.weber@example.com"
        started = client.post(
            "/sessions",
            json={"customerId": "james.weber@example.com", "baseSite": "electronics-spa"},
            headers=headers,
        )
        assert started.status_code == 201, started.text
        session = f"/sessions/{started.json()['sessionId']}"
        assert client.get(session, headers=headers).status_code == 200

        asm_mock_server.reset()
        assert client.get(session, headers=headers).status_code == 404  # the token stays
"""
    )
    result = pytester.runpytest_subprocess("-p", "asm_mock", "-s")
    result.assert_outcomes(passed=1)
    base = next(m[1] for line in result.outlines if (m := re.search(r"BASE (\S+)", line)))
    with pytest.raises(httpx.TransportError):  # the fixture stopped the server
        httpx.get(f"{base}/assistedservicewebservices/openapi.json", trust_env=False, timeout=2)


def test_marker_is_registered_for_strict_markers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
import pytest


@pytest.mark.asm_mock(seed=3, customers=10, auth="permissive")
def test_permissive(asm_mock_app):
    response = asm_mock_app.sync_client.get(
        "/assistedservicewebservices/agents/asagent",
        headers={"Authorization": "Bearer anything"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.asm_mock(sed=3)
def test_misspelt_keyword(asm_mock_app):
    pass
"""
    )
    # no `-p`: the installed pytest11 entry point loads the plugin
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    result = pytester.runpytest_subprocess("--strict-markers")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*asm_mock marker takes only keywords auth, customers, seed*sed*"])
