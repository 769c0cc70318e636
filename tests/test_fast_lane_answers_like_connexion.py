"""The fast lane answers every request exactly as Connexion's full stack does.

Two apps of the same seed, one with the fast lane and one without, get the same requests: valid
ones of every operation and a corpus of invalid, odd and hostile ones. Status, headers and body
must be identical (a session's creation time aside, which comes from the clock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.settings import Settings
from tests.helpers import BASE, SMALL_WORLD, password_token

pytestmark = pytest.mark.anyio

CUSTOMER = "james.weber@example.com"
SITE = "electronics-spa"
VALID_SESSION = {"customerId": CUSTOMER, "baseSite": SITE}

# (method, path, query, headers, body); "TOKEN" in a header value is the app's agent token
Request = tuple[str, str, str, dict[str, str], bytes | None]
AGENT = {"Authorization": "Bearer TOKEN"}
JSON = {**AGENT, "Content-Type": "application/json"}

CORPUS: list[Request] = [
    # the happy path of every read operation
    ("GET", "/customers/search", f"query=a&baseSite={SITE}", AGENT, None),
    (
        "GET",
        "/customers/search",
        f"query=WEBER&baseSite={SITE}&currentPage=0&pageSize=5",
        AGENT,
        None,
    ),
    ("GET", "/customers/search", f"query=&baseSite={SITE}&pageSize=100", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&currentPage=1&pageSize=3", AGENT, None),
    ("GET", "/customers/search", f"query=%C3%BC&baseSite={SITE}", AGENT, None),
    ("GET", "/customers/search", f"query=a+b&baseSite={SITE}&unknown=1", AGENT, None),
    ("GET", f"/customers/{CUSTOMER}", f"baseSite={SITE}", AGENT, None),
    ("GET", "/customers/james.weber%40example.com", f"baseSite={SITE}", AGENT, None),
    ("GET", f"/customers/{CUSTOMER}/carts", f"baseSite={SITE}", AGENT, None),
    ("GET", f"/customers/{CUSTOMER}/carts", "baseSite=apparel-uk-spa", AGENT, None),
    ("GET", "/agents/asagent", "", AGENT, None),
    ("GET", "/agents/cs.agent.emma", "", AGENT, None),
    # the domain refuses: SAP's 400 and 404
    ("GET", "/customers/search", "query=a&baseSite=nowhere", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&pageSize=0", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&pageSize=101", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&currentPage=-1", AGENT, None),
    ("GET", "/customers/nobody@example.com", f"baseSite={SITE}", AGENT, None),
    ("GET", "/customers/nobody@example.com/carts", f"baseSite={SITE}", AGENT, None),
    ("GET", "/agents/nobody", "", AGENT, None),
    ("GET", "/sessions/no-such-session", "", AGENT, None),
    ("DELETE", "/sessions/no-such-session", "", AGENT, None),
    # parameters Connexion must judge
    ("GET", "/customers/search", f"baseSite={SITE}", AGENT, None),
    ("GET", "/customers/search", "query=a", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&pageSize=ten", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&pageSize=", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&pageSize=%EF%BC%95", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&pageSize=+5", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&pageSize=9{'9' * 20}", AGENT, None),
    ("GET", "/customers/search", f"query=a&query=b&baseSite={SITE}", AGENT, None),
    ("GET", "/customers/search", f"query=a&baseSite={SITE}&baseSite=apparel-uk-spa", AGENT, None),
    ("GET", f"/customers/{CUSTOMER}", "", AGENT, None),
    # security
    ("GET", "/agents/asagent", "", {}, None),
    ("GET", "/agents/asagent", "", {"Authorization": "Bearer not-a-token"}, None),
    ("GET", "/agents/asagent", "", {"Authorization": "Basic YXNhZ2VudDpwdzRhbGw="}, None),
    ("GET", "/agents/asagent", "", {"Authorization": "Bearer"}, None),
    # routing: literal before templated, other methods, near misses
    ("GET", "/customers/search/carts", f"baseSite={SITE}", AGENT, None),
    ("POST", "/customers/search", f"query=a&baseSite={SITE}", AGENT, None),
    ("PUT", "/agents/asagent", "", AGENT, None),
    ("HEAD", "/agents/asagent", "", AGENT, None),
    ("GET", "/agents/asagent/", "", AGENT, None),
    ("GET", "/agents/", "", AGENT, None),
    ("GET", "/agents", "", AGENT, None),
    ("GET", "/agents/a/b", "", AGENT, None),
    ("GET", "/sessions", "", AGENT, None),
    ("GET", "/nowhere", "", AGENT, None),
    # bodies
    ("POST", "/sessions", "", JSON, b'{"customerId": "nobody", "baseSite": "electronics-spa"}'),
    ("POST", "/sessions", "", JSON, b'{"customerId": "x", "baseSite": "nowhere"}'),
    ("POST", "/sessions", "", JSON, b'{"baseSite": "electronics-spa"}'),
    ("POST", "/sessions", "", JSON, b'{"customerId": 5, "baseSite": "electronics-spa"}'),
    ("POST", "/sessions", "", JSON, b"[]"),
    ("POST", "/sessions", "", JSON, b"{not json"),
    ("POST", "/sessions", "", JSON, b'{"customerId": "\\ud800", "baseSite": "x"}'),
    ("POST", "/sessions", "", JSON, b'{"customerId": NaN, "baseSite": "x"}'),
    ("POST", "/sessions", "", JSON, b""),
    ("POST", "/sessions", "", AGENT, orjson.dumps(VALID_SESSION)),
    ("POST", "/sessions", "", {**AGENT, "Content-Type": "text/plain"}, orjson.dumps(VALID_SESSION)),
    (
        "POST",
        "/sessions",
        "",
        {**AGENT, "Content-Type": "application/json; charset=utf-8"},
        orjson.dumps({"customerId": "nobody", "baseSite": SITE}),
    ),
    ("POST", "/sessions", "", {"Content-Type": "application/json"}, orjson.dumps(VALID_SESSION)),
    # preferences: answered by PreferredAnswer inside Connexion
    ("GET", "/agents/asagent", "__code=404", AGENT, None),
    ("GET", "/agents/asagent", "__code=418", AGENT, None),
    ("GET", "/agents/asagent", "__dynamic=true&__seed=7", AGENT, None),
]


@pytest.fixture
async def pair() -> AsyncIterator[list[tuple[httpx.AsyncClient, str]]]:
    """(client, agent token) of an app with the fast lane, then of one without."""
    clients = []
    for fast_lane in (True, False):
        app: AsmMockApp = create_app(Settings(customers=SMALL_WORLD), fast_lane=fast_lane)
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002")
        clients.append((client, await password_token(client)))
    try:
        yield clients
    finally:
        for client, _ in clients:
            await client.aclose()


def _headers(headers: dict[str, str], token: str) -> dict[str, str]:
    return {k: v.replace("TOKEN", token) for k, v in headers.items()}


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    headers = sorted((k.lower(), v) for k, v in response.headers.multi_items())
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.status_code, headers, response.content
    if isinstance(body, dict):
        body.pop("createdAt", None)
        body.pop("endedAt", None)
    return response.status_code, headers, (body, response.content.endswith(b"\n"))


async def _send(client: httpx.AsyncClient, token: str, request: Request) -> httpx.Response:
    method, path, query, headers, body = request
    url = BASE + path + (f"?{query}" if query else "")
    return await client.request(method, url, headers=_headers(headers, token), content=body)


async def test_each_request_gets_the_same_answer_with_and_without_the_fast_lane(
    pair: list[tuple[httpx.AsyncClient, str]],
) -> None:
    (fast, fast_token), (full, full_token) = pair
    differences = []
    for request in CORPUS:
        fast_answer = _answer(await _send(fast, fast_token, request))
        full_answer = _answer(await _send(full, full_token, request))
        if fast_answer != full_answer:
            differences.append((request, fast_answer, full_answer))
    assert differences == []


async def test_a_session_lifecycle_answers_alike_with_and_without_the_fast_lane(
    pair: list[tuple[httpx.AsyncClient, str]],
) -> None:
    answers: list[list[Any]] = []
    for client, token in pair:
        steps = []
        headers = {"Authorization": f"Bearer {token}"}
        created = await client.post(f"{BASE}/sessions", json=VALID_SESSION, headers=headers)
        session = f"{BASE}/sessions/{created.json()['sessionId']}"
        steps.append(_answer(created))
        steps.append(_answer(await client.get(session, headers=headers)))
        steps.append(_answer(await client.delete(session, headers=headers)))
        steps.append(_answer(await client.delete(session, headers=headers)))
        steps.append(_answer(await client.get(session, headers=headers)))
        answers.append(steps)
    assert [step[0] for step in answers[0]] == [201, 200, 200, 404, 404]
    assert answers[0] == answers[1]
