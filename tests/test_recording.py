"""Recording: a real asm-mock's answers recorded into a scenario file, replayed by `asm-mock serve`.

The exchanges are made as the proxy makes them: requests to a running mock, and what it answered.
"""

from __future__ import annotations

import gzip
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from asm_mock.contract import load_compiled
from asm_mock.contract.canned import canned_answers
from asm_mock.domain.conformance import scrubbed_query
from asm_mock.domain.errors import FixtureError
from asm_mock.domain.scenarios import load_scenarios
from asm_mock.http.app import create_app
from asm_mock.proxy.exchange import Exchange
from asm_mock.recording import recorder as recorder_module
from asm_mock.recording.recorder import Recorder
from asm_mock.resources import contract_path
from asm_mock.settings import Settings
from asm_mock.testing import (
    AGENT_CREDENTIALS,
    AsmMockServer,
    ServerProcess,
    ThreadedASGITransport,
    free_port,
    json_answer,
    password_form,
    scrubbed_environment,
)
from tests.helpers import BASE, TOKEN_URL

CONTRACT = load_compiled(contract_path())
SITE = {"baseSite": "electronics-spa"}
CUSTOMER = "james.weber@example.com"  # a fixture customer: in every world
BOGUS_TOKEN = "s3cr3t-bogus-token-4711"
COOKIE_SECRET = "cookie-secret-value-0815"


def exchange_of(response: httpx.Response) -> Exchange:
    """What the proxy hands its hooks for one forwarded request."""
    request = response.request
    path = request.url.path  # decoded, as ASGI's scope has it
    return Exchange(
        method=request.method,
        path=path,
        query=request.url.query.decode("latin-1"),
        request_headers=tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in request.headers.raw
        ),
        request_body=request.content,
        status=response.status_code,
        response_headers=tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw
        ),
        response_body=response.content,
        # as the proxy names them; its name for the token endpoint is the journal's
        operation_id=CONTRACT.router.operation_id(request.method, path)
        or ("oauthToken" if path == TOKEN_URL else None),
    )


@pytest.fixture(scope="module")
def upstream() -> Iterator[httpx.Client]:
    """A real asm-mock, in-process, standing in for the upstream."""
    app = create_app(Settings(customers=20))
    with httpx.Client(transport=ThreadedASGITransport(app), base_url="http://upstream") as client:
        yield client


def session_flow(client: httpx.Client) -> list[httpx.Response]:
    """Token, search, 360, session start and get, and a refused token: a front end's morning."""
    token = client.post(TOKEN_URL, data=password_form(**AGENT_CREDENTIALS))
    assert token.status_code == 200, token.text
    agent = {"Authorization": f"Bearer {token.json()['access_token']}"}
    search = client.get(
        f"{BASE}/customers/search",
        params={"query": "weber", **SITE},
        headers={**agent, "Cookie": f"JSESSIONID={COOKIE_SECRET}"},
    )
    found = search.json()["entries"][0]
    assert found["uid"] == CUSTOMER
    view = client.get(f"{BASE}/customers/{found['uid']}", params=SITE, headers=agent)
    start = client.post(
        f"{BASE}/sessions", json={"customerId": found["customerId"], **SITE}, headers=agent
    )
    assert start.status_code == 201, start.text
    session = client.get(f"{BASE}/sessions/{start.json()['sessionId']}", headers=agent)
    refused = client.get(
        f"{BASE}/agents/asagent", headers={"Authorization": f"Bearer {BOGUS_TOKEN}"}
    )
    assert refused.status_code == 401 and BOGUS_TOKEN in refused.text  # the mock echoes it
    return [token, search, view, start, session, refused]


@pytest.fixture(scope="module")
def flow(upstream: httpx.Client) -> list[httpx.Response]:
    return session_flow(upstream)


def record(directory: Path, responses: list[httpx.Response], **options: Any) -> Recorder:
    recorder = Recorder(directory, CONTRACT, **options)
    for response in responses:
        recorder(exchange_of(response))
    recorder.flush()
    return recorder


def replay_request(
    client: httpx.Client, response: httpx.Response, **headers: str
) -> httpx.Response:
    """`response`'s request sent again, to the replaying mock."""
    request = response.request
    return client.request(
        request.method,
        request.url.raw_path.decode("latin-1"),
        content=request.content,
        headers={"Content-Type": "application/json", **headers} if request.content else headers,
    )


def login(client: httpx.Client) -> dict[str, str]:
    token = client.post(TOKEN_URL, data=password_form(**AGENT_CREDENTIALS)).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_a_recording_replays_the_recorded_answers(
    tmp_path: Path, flow: list[httpx.Response]
) -> None:
    recorder = record(tmp_path, flow)
    assert recorder.path == tmp_path / "scenarios" / "recorded.yaml"
    document = yaml.safe_load(recorder.path.read_text())
    assert set(document["responses"]) == {
        "searchCustomers",
        "getCustomer360",
        "createAssistedSession",
        "getAssistedSession",
        "getAgent",
    }  # the token endpoint is not recorded: the replaying mock issues tokens itself
    # another seed: a world whose answers differ, so only the recording can answer alike
    with (
        AsmMockServer(
            "--fixtures", str(tmp_path), "--scenario", "recorded", "--seed", "7", "--customers", "5"
        ) as server,
        httpx.Client(base_url=server.base_url) as replay,
    ):
        agent = login(replay)
        for recorded in flow[1:5]:
            answer = replay_request(replay, recorded, **agent)
            assert (answer.status_code, answer.json()) == (recorded.status_code, recorded.json())
            assert answer.headers["x-asm-mock-canned"] == "scenario"
        # a request not recorded is answered by the world
        other = replay.get(
            f"{BASE}/customers/search", params={"query": "wolf", **SITE}, headers=agent
        )
        assert other.status_code == 200 and "x-asm-mock-canned" not in other.headers


def test_no_secret_reaches_the_file_or_the_log(
    tmp_path: Path, flow: list[httpx.Response], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asm_mock")
    recorder = record(tmp_path, flow)
    text = recorder.path.read_text()
    token = flow[0].json()
    secrets = [
        AGENT_CREDENTIALS["password"],
        AGENT_CREDENTIALS["client_secret"],
        token["access_token"],
        token["refresh_token"],
        BOGUS_TOKEN,
        COOKIE_SECRET,
    ]
    for secret in secrets:
        assert secret not in text
        assert secret not in caplog.text
    assert "[scrubbed]" in text  # the refused token the 401's message echoed
    assert "not recorded: oauthToken: not an operation of the contract" in caplog.text


def fakes_in(document: dict[str, Any]) -> dict[str, Any]:
    responses = document["responses"]
    search = responses["searchCustomers"][0]
    return {
        "search": search,
        "view": responses["getCustomer360"][0],
        "start": responses["createAssistedSession"][0],
        "entry": search["body"]["entries"][0],
    }


def test_a_pseudonymized_recording_holds_no_real_customer_and_replays_with_the_fakes(
    tmp_path: Path, flow: list[httpx.Response]
) -> None:
    recorder = record(tmp_path, flow, pseudonymize=True)
    text = recorder.path.read_text()
    real = flow[1].json()["entries"]
    personal = {e[k] for e in real for k in ("uid", "name", "customerId")}
    personal |= {"weber", "Weber", flow[2].json()["overview"]["name"]}
    assert all(value not in text for value in personal), [v for v in personal if v in text]
    found = fakes_in(yaml.safe_load(text))
    fake = found["entry"]
    # the same customer, the same fake everywhere: search result, 360 path, 360 body, session
    assert found["view"]["match"]["path"] == {"customerId": fake["uid"]}
    assert found["view"]["body"]["overview"]["email"] == fake["uid"]
    assert found["view"]["body"]["overview"]["name"] == fake["name"]
    assert found["start"]["match"]["body"]["customerId"] == fake["customerId"]
    assert found["start"]["body"]["customerId"] == fake["customerId"]
    # deterministic: another recording of the same answers has the same fakes
    again = record(tmp_path / "again", flow, pseudonymize=True)
    assert again.path.read_text() == text

    app = create_app(Settings(customers=5, fixtures=tmp_path, scenarios=("recorded",)))
    with httpx.Client(transport=ThreadedASGITransport(app), base_url="http://replay") as replay:
        agent = login(replay)
        query = found["search"]["match"]["query"]
        page = replay.get(f"{BASE}/customers/search", params=query, headers=agent)
        entry = page.json()["entries"][0]
        assert entry == fake
        # the search result's id works in the 360 request, and the session starts with it
        view = replay.get(f"{BASE}/customers/{entry['uid']}", params=SITE, headers=agent)
        assert view.status_code == 200 and view.json()["overview"]["email"] == entry["uid"]
        start = replay.post(
            f"{BASE}/sessions", json={"customerId": entry["customerId"], **SITE}, headers=agent
        )
        assert start.status_code == 201 and start.json()["customerId"] == entry["customerId"]
        session = replay.get(f"{BASE}/sessions/{start.json()['sessionId']}", headers=agent)
        assert session.json() == start.json()


def test_recording_the_same_answers_twice_changes_nothing(
    tmp_path: Path, flow: list[httpx.Response]
) -> None:
    recorder = record(tmp_path, flow)
    once = recorder.path.read_bytes()
    for response in flow:
        recorder(exchange_of(response))
    recorder.flush()
    assert recorder.path.read_bytes() == once
    record(tmp_path, flow)  # a new recorder continues the file it finds
    assert recorder.path.read_bytes() == once
    document = yaml.safe_load(once)
    assert all(len(answers) == 1 for answers in document["responses"].values())


def test_a_new_answer_to_a_recorded_request_replaces_the_old_one(
    tmp_path: Path, flow: list[httpx.Response]
) -> None:
    recorder = record(tmp_path, flow)
    view = exchange_of(flow[2])
    body = b'{"errors":[{"type":"ServiceUnavailableError","message":"down"}]}'
    unavailable = Exchange(**{**_fields(view), "status": 503, "response_body": body})
    recorder(unavailable)
    recorder.flush()
    answers = yaml.safe_load(recorder.path.read_text())["responses"]["getCustomer360"]
    assert [(a["status"], a["body"]["errors"][0]["message"]) for a in answers] == [(503, "down")]


def _fields(exchange: Exchange) -> dict[str, Any]:
    return {name: getattr(exchange, name) for name in Exchange.__slots__}


def test_a_body_that_breaks_the_contract_is_recorded_marked_and_replayed(
    tmp_path: Path, flow: list[httpx.Response]
) -> None:
    refused = exchange_of(flow[5])
    drifting = Exchange(
        **{
            **_fields(refused),
            "request_headers": (),
            "status": 200,
            "response_body": b'{"uid":"asagent","groups":"asagentgroup","region":7}',
        }
    )
    recorder = record(tmp_path, [])
    recorder(drifting)
    recorder.flush()
    answer = yaml.safe_load(recorder.path.read_text())["responses"]["getAgent"][0]
    assert answer["violations"] == ["/groups: 'asagentgroup' is not of type 'array'"]
    scenario = load_scenarios(tmp_path / "scenarios", canned=canned_answers(CONTRACT))["recorded"]
    assert scenario.responses["getAgent"][0].violations == tuple(answer["violations"])
    app = create_app(Settings(customers=5, fixtures=tmp_path, scenarios=("recorded",)))
    with httpx.Client(transport=ThreadedASGITransport(app), base_url="http://replay") as replay:
        got = replay.get(f"{BASE}/agents/asagent", headers=login(replay))
    assert (got.status_code, got.json()) == (200, answer["body"])
    assert got.headers["x-asm-mock-canned"] == "recorded-violation"


def test_a_compressed_answer_is_recorded_decoded(
    tmp_path: Path, flow: list[httpx.Response]
) -> None:
    view = exchange_of(flow[2])
    coded = Exchange(
        **{
            **_fields(view),
            "response_headers": (*view.response_headers, ("content-encoding", "gzip")),
            "response_body": gzip.compress(view.response_body),
        }
    )
    recorder = record(tmp_path, [])
    recorder(coded)
    recorder.flush()
    answer = yaml.safe_load(recorder.path.read_text())["responses"]["getCustomer360"][0]
    assert answer["body"] == flow[2].json() and "headers" not in answer


def test_a_failed_write_leaves_the_previous_file_whole(
    tmp_path: Path,
    flow: list[httpx.Response],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = record(tmp_path, flow[:2])
    before = recorder.path.read_bytes()

    def crash(source: str, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recorder_module.os, "replace", crash)
    recorder(exchange_of(flow[2]))  # the client's answer is not held up: nothing raises
    recorder.flush()
    assert recorder.path.read_bytes() == before
    assert os.listdir(recorder.path.parent) == ["recorded.yaml"]  # no temporary file left
    assert "recording not written" in caplog.text
    monkeypatch.undo()
    recorder(exchange_of(flow[3]))  # the next answer writes what the failed write held too
    recorder.flush()
    assert {"getCustomer360", "createAssistedSession"} <= set(
        yaml.safe_load(recorder.path.read_text())["responses"]
    )


def test_a_file_that_is_not_a_scenario_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "scenarios" / "recorded.yaml"
    path.parent.mkdir()
    path.write_text("- just\n- a list\n")
    with pytest.raises(FixtureError, match="cannot record into it"):
        Recorder(tmp_path, CONTRACT)
    assert path.read_text() == "- just\n- a list\n"


# -- through `asm-mock proxy --record` -------------------------------------------------------


def test_asm_mock_proxy_records_what_serve_replays(tmp_path: Path) -> None:
    """Upstream -> proxy --record -> recording -> serve --scenario recorded: the same answers."""
    with AsmMockServer("--customers", "20") as upstream:
        port = free_port()
        proxy = ServerProcess(
            [sys.executable, "-m", "asm_mock", "proxy", "--upstream", upstream.base_url]
            + ["--port", str(port), "--record", str(tmp_path)],
            port=port,
            ready=json_answer("/__admin/ready"),
            name="asm-mock proxy",
        )
        with proxy, httpx.Client(base_url=proxy.base_url, trust_env=False) as client:
            flow = session_flow(client)
    text = (tmp_path / "scenarios" / "recorded.yaml").read_text()  # the proxy has stopped
    token = flow[0].json()
    for secret in (token["access_token"], token["refresh_token"], BOGUS_TOKEN, COOKIE_SECRET):
        assert secret not in text
    with (
        AsmMockServer("--fixtures", str(tmp_path), "--scenario", "recorded", "--seed", "7") as mock,
        httpx.Client(base_url=mock.base_url, trust_env=False) as replay,
    ):
        agent = login(replay)
        for recorded in flow[1:5]:
            answer = replay_request(replay, recorded, **agent)
            assert (answer.status_code, answer.json()) == (recorded.status_code, recorded.json())


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        (["--pseudonymize"], "option --pseudonymize: needs --record DIR"),
        (["--record", "{file}"], "is a file, not a directory to record into"),
        (["--record", "{dir}"], "option --record: recorded.yaml: <root>: cannot record into it"),
    ],
)
def test_asm_mock_proxy_refuses_a_recording_it_cannot_make(
    tmp_path: Path, options: list[str], refusal: str
) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "recorded.yaml").write_text("[not, a, scenario]\n")
    argv = [o.format(file=tmp_path / "file", dir=tmp_path) for o in options]
    port = str(free_port())
    done = subprocess.run(
        [sys.executable, "-m", "asm_mock", "proxy", "--upstream", "http://127.0.0.1:9", *argv]
        + ["--port", port],
        capture_output=True,
        text=True,
        timeout=60,
        env=scrubbed_environment(),
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and refusal in lines[0], done.stderr


def test_a_secret_field_is_scrubbed_whatever_its_case(tmp_path: Path) -> None:
    """The journal scrubs secret names lowercased; so does a recording (`Password` in a body)."""
    answer = {"uid": "asagent", "name": "Agent", "groups": [], "Password": "pw4all-0815"}
    exchange = Exchange(
        method="GET",
        path=f"{BASE}/agents/asagent",
        query="ID_Token=id-token-secret-4711",
        request_headers=(),
        request_body=b"",
        status=200,
        response_headers=(("content-type", "application/json"),),
        response_body=orjson.dumps(answer),
        operation_id="getAgent",
    )
    recorder = Recorder(tmp_path, CONTRACT)
    recorder(exchange)
    recorder.flush()
    text = recorder.path.read_text()
    assert "pw4all-0815" not in text and "Password: '[scrubbed]'" in text
    assert scrubbed_query("ID_Token=id-token-secret-4711") == "ID_Token=***"
