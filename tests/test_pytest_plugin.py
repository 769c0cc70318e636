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
    result.stdout.fnmatch_lines(
        ["*asm_mock marker takes only keywords auth, customers, fixtures, scenarios, seed*sed*"]
    )


# -- isolation: what one test leaves behind is gone in the next ------------------------------

# `dirty` leaves a session, a second agent's token, a journal entry, settings changed through
# the admin API and two scenarios (a world change and a canned answer); `assert_clean` then
# finds none of it. Both run against either fixture through one `httpx.Client`.
ISOLATION = """
import asyncio

API = "/assistedservicewebservices"
SITE = {"baseSite": "electronics-spa"}
CUSTOMER = "james.weber@example.com"
EMMA = {
    "grant_type": "password",
    "username": "cs.agent.emma",
    "password": "pw4all",
    "client_id": "mobile_android",
    "client_secret": "secret",
}
LEFT = {}


def search(client):
    response = client.get(API + "/customers/search", params={"query": "", **SITE})
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def dirty(client):
    started = client.post(API + "/sessions", json={"customerId": CUSTOMER, **SITE})
    assert started.status_code == 201, started.text
    LEFT["session"] = started.json()["sessionId"]
    emma = client.post("/authorizationserver/oauth/token", data=EMMA)
    assert emma.status_code == 200, emma.text
    LEFT["emma"] = {"Authorization": "Bearer " + emma.json()["access_token"]}
    assert client.get(API + "/agents/cs.agent.emma", headers=LEFT["emma"]).status_code == 200
    changed = client.patch("/__admin/settings", json={"authMode": "permissive"})
    assert changed.json()["authMode"] == "permissive", changed.text
    for scenario in ("empty-search", "agent-not-found"):
        applied = client.post("/__admin/scenarios/" + scenario)
        assert applied.status_code == 200, applied.text
    assert search(client) == []
    assert client.get(API + "/agents/asagent").status_code == 404
    assert client.get("/__admin/requests").json()["total"] > 0


def assert_clean(client):
    # the live server's journal holds this test's own login, nothing of the previous test
    journal = client.get("/__admin/requests").json()["requests"]
    assert {entry["path"] for entry in journal} <= {"/authorizationserver/oauth/token"}
    assert client.get(API + "/sessions/" + LEFT["session"]).status_code == 404
    assert client.get("/__admin/settings").json()["authMode"] == "strict"
    anyone = {"Authorization": "Bearer anything"}
    assert client.get(API + "/agents/asagent", headers=anyone).status_code == 401
    assert client.get(API + "/agents/cs.agent.emma", headers=LEFT["emma"]).status_code == 401
    assert client.get(API + "/agents/asagent").status_code == 200
    assert search(client)
"""


def test_in_process_tests_do_not_see_each_others_state(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        ISOLATION
        + """

def test_leaves_everything_behind(asm_mock_app):
    dirty(asm_mock_app.sync_client)


def test_finds_nothing_of_it(asm_mock_app):
    assert_clean(asm_mock_app.sync_client)
    assert asyncio.run(asm_mock_app.service.store.session_count()) == 0


def test_the_token_survives_an_expiry_only_within_its_test(asm_mock_app):
    asyncio.run(asm_mock_app.service.expire_tokens())
    assert asm_mock_app.sync_client.get(API + "/agents/asagent").status_code == 401


def test_and_is_valid_again_in_the_next(asm_mock_app):
    assert asm_mock_app.sync_client.get(API + "/agents/asagent").status_code == 200
"""
    )
    pytester.runpytest_subprocess("-p", "asm_mock").assert_outcomes(passed=4)


def test_in_process_mock_is_built_once_per_distinct_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

APPS = []


@pytest.mark.parametrize("round", [1, 2])
@pytest.mark.parametrize("customers", [10, 12])
def test_app(asm_mock_app, customers, round):
    assert len(asm_mock_app.service.world().customers) >= customers
    APPS.append((customers, id(asm_mock_app.app)))


def test_one_app_per_settings():
    assert len(APPS) == 4
    assert len(set(APPS)) == 2
"""
    )
    result = pytester.runpytest_subprocess("-p", "asm_mock", "--asm-mock-customers", "10")
    result.assert_outcomes(passed=5)


def test_live_server_tests_do_not_see_each_others_state(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        ISOLATION
        + """
import os

import httpx
import pytest

PIDS = []


@pytest.fixture
def client(asm_mock_server):
    PIDS.append(asm_mock_server.pid)
    with httpx.Client(
        base_url=asm_mock_server.base_url, headers=asm_mock_server.headers(), trust_env=False
    ) as client:
        yield client


def test_leaves_everything_behind(client):
    dirty(client)


def test_finds_nothing_of_it(client):
    assert_clean(client)


def test_one_process_served_both():
    assert len(PIDS) == 2 and PIDS[0] == PIDS[1]
"""
    )
    pytester.runpytest_subprocess("-p", "asm_mock").assert_outcomes(passed=3)
