"""Canned answers per request: a scenario's `responses` entry may list answers that `match`
path parameters, query parameters and body fields; the first that matches answers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from asm_mock.contract import load_compiled
from asm_mock.contract.canned import canned_answers
from asm_mock.domain.errors import FixtureError
from asm_mock.domain.scenarios import load_scenarios
from asm_mock.http.app import create_app
from asm_mock.resources import contract_path
from asm_mock.settings import Settings
from asm_mock.testing import AGENT_CREDENTIALS, ThreadedASGITransport, password_form
from tests.helpers import BASE, REPO, TOKEN_URL

CANNED = canned_answers(load_compiled(contract_path()))
SITE = {"baseSite": "electronics-spa"}
MATCHING = """\
description: per-request answers
responses:
  searchCustomers:
    - match: {query: {query: lin, pageSize: 5}}
      status: 200
      body: {entries: [{uid: five@example.com}], pagination: {pageSize: 5}}
    - match: {query: {query: lin}}
      status: 200
      body: {entries: [{uid: lin@example.com}]}
    - match: {query: {query: ""}}
      status: 200
      body: {entries: [], pagination: {totalResults: 0}}
  getCustomer360:
    - match: {path: {customerId: gone@example.com}}
      status: 404
      body: {errors: [{type: NotFoundError, message: gone}]}
    - status: 503
      headers: {Retry-After: "7"}
      body: {errors: [{type: ServiceUnavailableError, message: down}]}
  createAssistedSession:
    - match: {body: {customerId: c-1}}
      status: 201
      body: {sessionId: s-1, customerId: c-1, status: ACTIVE}
"""


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    fixtures = tmp_path_factory.mktemp("fixtures")
    shutil.copytree(REPO / "fixtures", fixtures, dirs_exist_ok=True)
    (fixtures / "scenarios" / "matching.yaml").write_text(MATCHING)
    app = create_app(Settings(customers=5, fixtures=fixtures, scenarios=("matching",)))
    with httpx.Client(transport=ThreadedASGITransport(app), base_url="http://mock") as client:
        token = client.post(TOKEN_URL, data=password_form(**AGENT_CREDENTIALS)).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield client


def search(client: httpx.Client, **query: str) -> httpx.Response:
    return client.get(f"{BASE}/customers/search", params={**query, **SITE})


def test_the_first_matching_answer_answers(replay: httpx.Client) -> None:
    assert (
        search(replay, query="lin", pageSize="5").json()["entries"][0]["uid"] == "five@example.com"
    )
    assert search(replay, query="lin").json()["entries"][0]["uid"] == "lin@example.com"
    # what a match does not name may be anything
    assert search(replay, query="lin", currentPage="0").json()["entries"][0]["uid"] == (
        "lin@example.com"
    )


def test_an_empty_query_parameter_matches_an_empty_value(replay: httpx.Client) -> None:
    answer = search(replay, query="")
    assert answer.json() == {"entries": [], "pagination": {"totalResults": 0}}
    assert search(replay, query="weber").json()["entries"]  # a search the world answers


def test_a_request_no_answer_matches_is_answered_by_the_world(replay: httpx.Client) -> None:
    answer = search(replay, query="wolf")
    assert answer.status_code == 200 and "x-asm-mock-canned" not in answer.headers
    started = replay.post(
        f"{BASE}/sessions", json={"customerId": "james.weber@example.com", **SITE}
    )
    assert started.status_code == 201 and started.json()["sessionId"] != "s-1"


def test_body_fields_match(replay: httpx.Client) -> None:
    started = replay.post(f"{BASE}/sessions", json={"customerId": "c-1", **SITE})
    assert (started.status_code, started.json()["sessionId"]) == (201, "s-1")


def test_an_answer_without_match_answers_the_rest_with_its_headers(replay: httpx.Client) -> None:
    gone = replay.get(f"{BASE}/customers/gone@example.com", params=SITE)
    assert (gone.status_code, gone.json()["errors"][0]["message"]) == (404, "gone")
    other = replay.get(f"{BASE}/customers/james.weber@example.com", params=SITE)
    assert (other.status_code, other.headers["retry-after"]) == (503, "7")
    assert other.headers["x-asm-mock-canned"] == "scenario"


def test_the_old_form_is_still_one_answer_for_every_request() -> None:
    scenarios = load_scenarios(REPO / "fixtures" / "scenarios", canned=CANNED)
    (answer,) = scenarios["customer-360-unavailable"].responses["getCustomer360"]
    assert (answer.status, answer.match, dict(answer.headers)) == (503, None, {"Retry-After": "30"})


BAD_FILES = {
    "unknown-parameter": (
        "responses:\n  getCustomer360:\n    - match: {path: {uid: x}}\n"
        "      status: 404\n      body: {errors: [{type: X}]}\n",
        "/responses/getCustomer360/0/match/path/uid",
        "getCustomer360 has no path parameter uid (customerId)",
    ),
    "query-in-path": (
        "responses:\n  getCustomer360:\n    - match: {query: {customerId: x}}\n"
        "      status: 404\n      body: {errors: [{type: X}]}\n",
        "/responses/getCustomer360/0/match/query/customerId",
        "no query parameter customerId (baseSite)",
    ),
    "body-without-request-body": (
        "responses:\n  getAgent:\n    - match: {body: {uid: x}}\n"
        "      status: 404\n      body: {errors: [{type: X}]}\n",
        "/responses/getAgent/0/match/body",
        "getAgent takes no request body",
    ),
    "unreachable": (
        "responses:\n  getAgent:\n    - {status: 404, body: {errors: [{type: X}]}}\n"
        "    - {match: {path: {agentId: a}}, status: 404, body: {errors: [{type: Y}]}}\n",
        "/responses/getAgent/1",
        "never used: the answer before it has no match",
    ),
    "empty-list": ("responses:\n  getAgent: []\n", "/responses/getAgent", "should be non-empty"),
    "unknown-key": (
        "responses:\n  getAgent:\n    - {when: {}, status: 404, body: {errors: [{type: X}]}}\n",
        "/responses/getAgent/0",
        "'when' was unexpected",
    ),
    "unmarked-violation": (
        "responses:\n  getAgent:\n    - {match: {path: {agentId: a}}, status: 200,"
        " body: {groups: x}}\n",
        "/responses/getAgent/0/body/groups",
        "breaks the contract's schema: 'x' is not of type 'array' (unless listed under violations)",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_per_request_answer_names_file_path_and_problem(tmp_path: Path, name: str) -> None:
    text, path, problem = BAD_FILES[name]
    (tmp_path / f"{name}.yaml").write_text("description: x\n" + text)
    with pytest.raises(FixtureError) as caught:
        load_scenarios(tmp_path, canned=CANNED)
    error = caught.value
    assert (error.file, error.path) == (f"{name}.yaml", path), error
    assert problem in error.problem, error
