"""The proxy in front of a deliberately drifting upstream (a small Starlette app): each kind of
drift appears once in GET /__admin/drift with its count; clients get the upstream's answers
unchanged, --strict ones a 502 for an answer that breaks the contract; a slow upstream is a
504; an invalid request is forwarded and flagged in /__admin/report."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import xmlschema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from asm_mock.contract import load_compiled
from asm_mock.proxy.cli import build_proxy
from asm_mock.proxy.exchange import Exchange
from asm_mock.report_render import render_drift
from asm_mock.testing import ThreadedServer
from tests.helpers import BASE, REPO

JUNIT_XSD = Path(__file__).with_name("data") / "junit-10.xsd"
AGENT = {"uid": "asagent", "name": "Agent", "email": "a@example.com", "groups": ["g"]}
BEARER = "Bearer sent-token-123"
SLOW_S = 3.0
TIMEOUT_S = 0.5


async def agent(request: Request) -> Response:
    kind = request.path_params["agentId"]
    if kind == "missing":  # an error body without the required `type`
        return JSONResponse({"errors": [{"message": "Agent not found"}]}, 404)
    if kind == "added":
        return JSONResponse({**AGENT, "nickname": "Ace"})
    if kind == "typed":
        return JSONResponse({**AGENT, "groups": "g"})
    if kind == "teapot":
        return JSONResponse({"errors": [{"type": "TeapotError"}]}, 418)
    if kind == "broken":
        return HTMLResponse("<html><body>Internal Server Error</body></html>", 500)
    if kind == "unchallenged":  # a 401 without its documented WWW-Authenticate
        return JSONResponse({"errors": [{"type": "UnauthorizedError"}]}, 401)
    if kind == "gzipped":  # drifted, and compressed: judged after decoding, passed on as sent
        body = gzip.compress(json.dumps({**AGENT, "groups": "g"}).encode())
        headers = {"content-encoding": "gzip"}
        return Response(body, 200, headers, media_type="application/json")
    if kind == "slow":
        await asyncio.sleep(SLOW_S)
    return JSONResponse(AGENT)


SEEN: list[tuple[str, str]] = []


async def search(request: Request) -> Response:
    SEEN.append((request.url.path, request.url.query))
    return JSONResponse({"entries": [], "pagination": {"currentPage": 0, "totalResults": 0}})


UPSTREAM = Starlette(
    routes=[
        Route(BASE + "/agents/{agentId}", agent),
        Route(BASE + "/customers/search", search),
    ]
)
DRIFTING = ["missing", "added", "typed", "teapot", "broken", "unchallenged"]
# (status, kind, where, breaks the contract) of each drifting agent id's answer
EXPECTED = {
    (404, "missing", "errors[].type", True),
    (200, "added", "nickname", False),
    (200, "type", "groups", True),
    (418, "status", "", True),
    (500, "status", "", True),
    (401, "header-missing", "WWW-Authenticate", True),
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[ThreadedServer]:
    with ThreadedServer(UPSTREAM) as server:
        yield server


def serve_proxy(upstream: ThreadedServer, *, strict: bool) -> ThreadedServer:
    app = build_proxy(upstream.base_url, strict=strict, upstream_timeout=TIMEOUT_S)
    return ThreadedServer(app)


def ask(server: ThreadedServer, agent_id: str) -> httpx.Response:
    url = server.base_url + BASE + "/agents/" + agent_id
    return httpx.get(url, headers={"Authorization": BEARER}, trust_env=False, timeout=10)


def test_each_kind_of_drift_appears_once_with_its_count(upstream: ThreadedServer) -> None:
    with serve_proxy(upstream, strict=False) as proxy:
        for agent_id in [*DRIFTING, *DRIFTING, "fine"]:
            through, direct = ask(proxy, agent_id), ask(upstream, agent_id)
            assert (through.status_code, through.content) == (direct.status_code, direct.content)
            assert through.headers["content-type"] == direct.headers["content-type"]
        drift = httpx.get(proxy.base_url + "/__admin/drift", trust_env=False).json()
        cleared = httpx.delete(proxy.base_url + "/__admin/drift", trust_env=False).json()
    rows = {(r["status"], r["kind"], r["where"], r["breaksContract"]): r for r in drift["drift"]}
    assert set(rows) == EXPECTED
    assert {r["count"] for r in drift["drift"]} == {2}
    assert all(r["operationId"] == "getAgent" for r in drift["drift"])
    assert all(r["firstSeen"] <= r["lastSeen"] for r in drift["drift"])
    assert drift["summary"] == {"answers": 13, "kinds": 6, "breakingKinds": 5}
    # values differ between answers (ids, names): not drift; the fine answer showed none
    assert {"status": 200, "count": 5, "operationId": "getAgent"} in drift["answers"]
    assert cleared["drift"] == [] and cleared["summary"]["answers"] == 0
    admin = load_compiled(REPO / "asm_mock" / "http" / "admin.yaml")
    getting = admin.by_id["getDrift"].responses[200].check
    assert getting is not None and getting.first_error(drift) is None


def test_the_drift_report_as_junit(upstream: ThreadedServer) -> None:
    with serve_proxy(upstream, strict=False) as proxy:
        for agent_id in DRIFTING:
            ask(proxy, agent_id)
        drift = httpx.get(proxy.base_url + "/__admin/drift", trust_env=False).json()
    xml = render_drift(drift, "junit")
    xmlschema.XMLSchema(JUNIT_XSD).validate(xml)
    root = ElementTree.fromstring(xml)
    assert root.get("failures") == "6"
    failures = [
        case.get("name") for case in root.iter("testcase") if case.find("failure") is not None
    ]
    assert "answers conform: 404 missing errors[].type: required, absent" in failures


def test_strict_clients_get_a_502_for_an_answer_that_breaks_the_contract(
    upstream: ThreadedServer,
) -> None:
    with serve_proxy(upstream, strict=True) as proxy:
        answers = {agent_id: ask(proxy, agent_id) for agent_id in [*DRIFTING, "fine"]}
    for agent_id in ["missing", "typed", "teapot", "broken", "unchallenged"]:
        body: dict[str, Any] = answers[agent_id].json()
        assert answers[agent_id].status_code == 502, agent_id
        assert body["errors"][0]["type"] == "BadGatewayError"
        assert "broke the contract" in body["errors"][0]["message"]
    assert "errors[].type" in answers["missing"].json()["errors"][0]["message"]
    # drift the contract allows, and a conforming answer, pass unchanged
    assert answers["added"].json() == {**AGENT, "nickname": "Ace"}
    assert answers["fine"].json() == AGENT


def test_each_exchange_is_handed_to_the_hooks(upstream: ThreadedServer) -> None:
    seen: list[Exchange] = []
    app = build_proxy(upstream.base_url, strict=True, on_exchange=[seen.append])
    with ThreadedServer(app) as proxy:
        ask(proxy, "typed")
    (exchange,) = seen
    assert (exchange.method, exchange.path, exchange.status) == ("GET", BASE + "/agents/typed", 200)
    assert exchange.operation_id == "getAgent"
    assert ("authorization", BEARER) in exchange.request_headers  # the hook scrubs what it keeps
    assert b'"groups":"g"' in exchange.response_body  # the upstream's answer, not the 502


def test_a_compressed_answer_is_judged_decoded_and_passed_on_as_sent(
    upstream: ThreadedServer,
) -> None:
    with serve_proxy(upstream, strict=False) as proxy:
        url = proxy.base_url + BASE + "/agents/gzipped"
        with httpx.stream("GET", url, trust_env=False) as through:
            raw = b"".join(through.iter_raw())
        drift = httpx.get(proxy.base_url + "/__admin/drift", trust_env=False).json()
    assert through.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(raw))["groups"] == "g"
    assert [(r["kind"], r["where"]) for r in drift["drift"]] == [("type", "groups")]


def test_an_upstream_below_a_path_prefix() -> None:
    with ThreadedServer(Starlette(routes=[Mount("/sap/occ", UPSTREAM)])) as prefixed:
        app = build_proxy(prefixed.base_url + "/sap/occ", upstream_timeout=TIMEOUT_S)
        with ThreadedServer(app) as proxy:
            answer = ask(proxy, "fine")
    assert answer.status_code == 200 and answer.json() == AGENT


def test_a_slow_upstream_is_a_504(upstream: ThreadedServer) -> None:
    with serve_proxy(upstream, strict=False) as proxy:
        slow = ask(proxy, "slow")
    assert slow.status_code == 504
    error = slow.json()["errors"][0]
    assert error["type"] == "GatewayTimeoutError"
    assert upstream.base_url in error["message"]


def test_an_unreachable_upstream_is_a_502() -> None:
    with ThreadedServer(UPSTREAM) as gone:
        url = gone.base_url
    app = build_proxy(url, upstream_timeout=TIMEOUT_S)
    with ThreadedServer(app) as proxy:
        answer = httpx.get(proxy.base_url + BASE + "/agents/x", trust_env=False)
    assert answer.status_code == 502
    assert answer.json()["errors"][0]["type"] == "BadGatewayError"


def test_an_invalid_request_is_forwarded_and_flagged(upstream: ThreadedServer) -> None:
    app = build_proxy(upstream.base_url, upstream_timeout=TIMEOUT_S)
    with ThreadedServer(app) as proxy:
        SEEN.clear()
        answer = httpx.get(
            proxy.base_url + BASE + "/customers/search",
            params={"baseSite": "x", "pageSize": "many", "access_token": "query-secret"},
            headers={"Authorization": BEARER},
            trust_env=False,
        )
        report = httpx.get(proxy.base_url + "/__admin/report", trust_env=False).json()
    assert answer.status_code == 200  # the upstream's answer: the proxy never answers for it
    assert len(SEEN) == 1 and "pageSize=many" in SEEN[0][1]
    violations = {(v["location"], v["name"], v["problem"]) for v in report["violations"]}
    assert violations == {
        ("parameter", "query", "missing"),
        ("parameter", "pageSize", "invalid: value is not of type 'integer'"),
    }
    # the journal holds no secret: neither the bearer token nor the query's
    for entry in app.journal.entries():
        assert "query-secret" not in repr(entry) and "sent-token-123" not in repr(entry)
    assert "access_token=***" in report["violations"][0]["example"]["query"]
