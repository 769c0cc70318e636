"""What the fast lane serves itself, what it hands to Connexion, and the checks it keeps.

The lane is driven directly, with stand-in handlers and a recording stand-in for Connexion, so
each test sees which side answered.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import orjson
import pytest
from starlette.types import Message

from asm_mock.domain.controls import CannedAnswer, Controls, RuntimeSettings
from asm_mock.domain.errors import NotFoundError
from asm_mock.http.prefer import PreferenceGate
from tests.helpers import (
    AGENT,
    BASE,
    SESSION,
    VALID_AGENT,
    Handlers,
    StandInConnexion,
    make_lane,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def controls() -> Controls:
    return Controls(RuntimeSettings(), seed=1)


@pytest.fixture
def connexion() -> StandInConnexion:
    return StandInConnexion()


@pytest.fixture
def handlers() -> Handlers:
    return Handlers()


@pytest.fixture
def client(
    connexion: StandInConnexion, handlers: Handlers, controls: Controls
) -> httpx.AsyncClient:
    lane = make_lane(handlers, connexion, controls)
    gate = PreferenceGate(lane, controls=lambda: controls, is_operation=lambda _m, _p: True)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gate),
        base_url="http://127.0.0.1",
        headers={"Authorization": "Bearer good"},
    )


async def test_valid_requests_of_every_operation_never_reach_connexion(
    client: httpx.AsyncClient, connexion: StandInConnexion, handlers: Handlers
) -> None:
    answers = [
        await client.get(f"{BASE}/customers/search?query=a&baseSite=s"),
        await client.get(f"{BASE}/customers/c1?baseSite=s"),
        await client.get(f"{BASE}/customers/c1/carts?baseSite=s"),
        await client.post(f"{BASE}/sessions", json={"customerId": "c1", "baseSite": "s"}),
        await client.get(f"{BASE}/sessions/s1"),
        await client.delete(f"{BASE}/sessions/s1"),
        await client.get(f"{BASE}/agents/asagent"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 201, 200, 200, 200]
    assert connexion.requests == []
    assert [operation for operation, _ in handlers.calls] == [
        "searchCustomers",
        "getCustomer360",
        "getCustomerCarts",
        "createAssistedSession",
        "getAssistedSession",
        "endAssistedSession",
        "getAgent",
    ]
    assert answers[6].json() == VALID_AGENT
    assert answers[6].headers["content-type"] == "application/json"


async def test_handlers_get_the_arguments_connexion_would_pass(
    client: httpx.AsyncClient, handlers: Handlers
) -> None:
    await client.get(f"{BASE}/customers/search?query=J%C3%BC+x&baseSite=s&pageSize=5&other=1")
    await client.get(f"{BASE}/customers/a%40b.c/carts?baseSite=s")
    await client.post(f"{BASE}/sessions", json={"customerId": "c1", "baseSite": "s"})
    search, carts, create = (arguments for _, arguments in handlers.calls)
    # the contract's default for the absent currentPage, integers as integers
    assert search == {"query": "Jü x", "baseSite": "s", "currentPage": 0, "pageSize": 5}
    assert carts == {"customerId": "a@b.c", "baseSite": "s"}
    assert create["body"] == {"customerId": "c1", "baseSite": "s"}
    assert create["token_info"]["principal"] == AGENT
    assert create["token_info"]["sub"] == "asagent"


async def test_a_parameter_the_handler_does_not_take_is_checked_but_not_passed(
    connexion: StandInConnexion, controls: Controls
) -> None:
    handlers = Handlers()
    handlers.signatures["searchCustomers"] = "query, baseSite"
    lane = make_lane(handlers, connexion, controls)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=lane),
        base_url="http://127.0.0.1",
        headers={"Authorization": "Bearer good"},
    ) as client:
        valid = await client.get(f"{BASE}/customers/search?query=a&baseSite=s&pageSize=5")
        invalid = await client.get(f"{BASE}/customers/search?query=a&baseSite=s&pageSize=x")
    assert (valid.status_code, invalid.status_code) == (200, 299)  # 299: Connexion judged it
    assert handlers.calls == [("searchCustomers", {"query": "a", "baseSite": "s"})]


@pytest.mark.parametrize(
    ("method", "url", "headers", "body"),
    [
        ("GET", "/customers/search?baseSite=s", {}, None),  # a required parameter missing
        ("GET", "/customers/search?query=a&baseSite=s&pageSize=x", {}, None),
        ("GET", "/customers/search?query=a&query=b&baseSite=s", {}, None),  # repeated
        ("GET", "/customers/search?query=a&baseSite=s&pageSize=%2B5", {}, None),
        ("GET", "/agents/asagent", {"Authorization": "Bearer bad"}, None),
        ("HEAD", "/agents/asagent", {}, None),
        ("PUT", "/agents/asagent", {}, None),
        ("GET", "/agents/asagent/", {}, None),
        ("POST", "/sessions", {"Content-Type": "application/json"}, b'{"customerId": 1}'),
        ("POST", "/sessions", {"Content-Type": "application/json"}, b"{broken"),
        ("POST", "/sessions", {"Content-Type": "text/plain"}, b'{"customerId": "c"}'),
        ("GET", "/agents/asagent?__code=404", {}, None),  # a preferred answer
        ("GET", "/agents/asagent", {"Prefer": "dynamic=true"}, None),
    ],
)
async def test_requests_not_provably_valid_go_to_connexion_with_their_body(
    client: httpx.AsyncClient,
    connexion: StandInConnexion,
    handlers: Handlers,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
) -> None:
    answer = await client.request(method, BASE + url, headers=headers, content=body)
    assert answer.status_code == 299
    assert handlers.calls == []
    assert [(m, p) for m, p, _ in connexion.requests] == [(method, BASE + url.split("?")[0])]
    assert connexion.requests[0][2] == (body or b"")


async def test_a_canned_answer_of_a_scenario_is_left_to_connexion(
    client: httpx.AsyncClient, connexion: StandInConnexion, controls: Controls
) -> None:
    controls.set_canned("getAgent", CannedAnswer(404, {"errors": []}))
    assert (await client.get(f"{BASE}/agents/asagent")).status_code == 299
    assert (await client.get(f"{BASE}/customers/c1?baseSite=s")).status_code == 200
    assert len(connexion.requests) == 1


async def test_an_answer_breaking_the_response_schema_is_never_sent(
    client: httpx.AsyncClient, handlers: Handlers, caplog: pytest.LogCaptureFixture
) -> None:
    handlers.answers["getAgent"] = lambda: ({"uid": 42}, 200)
    with caplog.at_level(logging.ERROR, logger="asm_mock.contract"):
        answer = await client.get(f"{BASE}/agents/asagent")
    assert answer.status_code == 500
    (error,) = answer.json()["errors"]
    assert error["type"] == "InternalServerError"
    assert "/uid" in error["message"]
    assert "contract violation" in caplog.text


async def test_an_undocumented_status_is_never_sent(
    client: httpx.AsyncClient, handlers: Handlers
) -> None:
    handlers.answers["getAgent"] = lambda: (VALID_AGENT, 202)
    answer = await client.get(f"{BASE}/agents/asagent")
    assert answer.status_code == 500
    assert "202" in answer.json()["errors"][0]["message"]


async def test_a_failing_handler_is_a_logged_500_in_the_error_format_never_a_traceback(
    client: httpx.AsyncClient,
    connexion: StandInConnexion,
    handlers: Handlers,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> Any:
        raise RuntimeError("a bug in the mock")

    handlers.answers["getAgent"] = broken
    with caplog.at_level(logging.ERROR, logger="asm_mock.contract"):
        answer = await client.get(f"{BASE}/agents/asagent")
    assert answer.status_code == 500
    assert answer.json()["errors"][0]["type"] == "InternalServerError"
    assert "RuntimeError: a bug in the mock" in caplog.text  # with its traceback, in the log
    assert "a bug" not in answer.text
    assert connexion.requests == [] and len(handlers.calls) == 1


async def test_a_domain_error_is_answered_by_the_lane_after_one_handler_call(
    client: httpx.AsyncClient, connexion: StandInConnexion, handlers: Handlers
) -> None:
    def missing() -> Any:
        raise NotFoundError("Session s1 not found", reason="notFound", subject="sessionId")

    handlers.answers["endAssistedSession"] = missing
    answer = await client.delete(f"{BASE}/sessions/s1")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["message"] == "Session s1 not found"
    assert len(handlers.calls) == 1
    assert connexion.requests == []


async def test_a_long_body_arriving_in_chunks_is_read_whole() -> None:
    sent: list[Message] = []
    chunks = [b'{"customerId": "c1", ', b'"baseSite": "s"}']

    async def receive() -> Message:
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    handlers = Handlers()
    lane = make_lane(handlers)
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"{BASE}/sessions",
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer good"), (b"content-type", b"application/json")],
    }
    await lane(scope, receive, send)
    assert sent[0]["status"] == 201
    assert orjson.loads(sent[1]["body"]) == SESSION
    assert handlers.calls[0][1]["body"] == {"customerId": "c1", "baseSite": "s"}


async def test_a_bug_in_the_lane_is_logged_and_never_kept_as_a_verdict(
    client: httpx.AsyncClient,
    connexion: StandInConnexion,
    handlers: Handlers,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from asm_mock.contract import Parameter

    def broken(self: Parameter, raw: str) -> Any:
        raise RuntimeError("a lane bug")

    monkeypatch.setattr(Parameter, "value", broken)
    url = f"{BASE}/agents/asagent"
    with caplog.at_level(logging.ERROR, logger="asm_mock.contract"):
        for attempt in (1, 2):
            caplog.clear()
            response = await client.get(url)
            assert response.status_code == 299  # Connexion served it
            assert "a lane bug" not in response.text
            bugs = [r for r in caplog.records if r.levelno == logging.ERROR]
            assert len(bugs) == 1, attempt  # once per request: tried again, not remembered
            assert bugs[0].exc_info is not None and "a lane bug" in str(bugs[0].exc_info[1])
    assert len(connexion.requests) == 2
    monkeypatch.undo()  # the bug fixed: the same request line is the lane's again
    assert (await client.get(url)).json() == VALID_AGENT
    assert [op for op, _ in handlers.calls] == ["getAgent"]
    assert len(connexion.requests) == 2


async def test_a_bug_while_serving_is_logged_and_the_request_goes_to_connexion(
    client: httpx.AsyncClient,
    connexion: StandInConnexion,
    controls: Controls,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(operation_id: str) -> None:
        raise RuntimeError("a lane bug while serving")

    monkeypatch.setattr(controls, "canned_answers", broken)
    with caplog.at_level(logging.ERROR, logger="asm_mock.contract"):
        for _ in (1, 2):
            assert (await client.get(f"{BASE}/agents/asagent")).status_code == 299
    bugs = [r for r in caplog.records if "fast lane bug" in r.getMessage()]
    assert len(bugs) == 2 and all(r.exc_info is not None for r in bugs)
    assert len(connexion.requests) == 2
