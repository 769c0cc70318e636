"""The client conformance report: GET/DELETE /__admin/report and `asm-mock report`.

One client breaks the contract four ways (a parameter of the wrong type, twice; a required
body field left out; a body that is not JSON; a path no operation has) and covers some
statuses; the JSON document, the JUnit XML (valid against Jenkins' junit-10.xsd) and the
markdown must say exactly that, and never repeat its bearer token or password.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import xmlschema

from asm_mock.cli import main
from asm_mock.domain.conformance import DocumentedOperation, conformance_report
from asm_mock.domain.journal import ErrorDetail, JournalEntry
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.report_render import render
from asm_mock.settings import Settings
from asm_mock.testing import AsmMockServer, ThreadedServer
from tests.helpers import BASE, SMALL_WORLD, TOKEN_URL

JUNIT_XSD = Path(__file__).with_name("data") / "junit-10.xsd"
PASSWORD = "pw4all"
SEARCH = {"query": "james", "baseSite": "electronics-spa"}

# (method, path, params, body, content type, with the agent's token, Prefer)
Call = tuple[str, str, dict[str, str], bytes | None, str | None, bool, str | None]
CLIENT_CALLS: list[Call] = [
    ("GET", "/customers/search", SEARCH, None, None, True, None),
    ("GET", "/customers/search", SEARCH, None, None, True, None),
    ("GET", "/customers/search", {**SEARCH, "pageSize": "lots"}, None, None, True, None),
    # the token in the query too: it must be scrubbed from the example
    ("GET", "/customers/search", {**SEARCH, "pageSize": "many", "access_token": "TOKEN"},
     None, None, True, None),
    ("POST", "/sessions", {}, b'{"baseSite": "electronics-spa"}', "application/json", True, None),
    ("POST", "/sessions", {}, b"customerId=x", "text/plain", True, None),
    ("GET", "/agents/asagent", {}, None, None, False, None),
    ("GET", "/agents/asagent", {}, None, None, True, None),
    ("GET", "/customers/search", SEARCH, None, None, True, "code=403"),
    ("GET", "/shops", SEARCH, None, None, True, None),
]  # fmt: skip

NOT_CONSUMED = "not a media type the operation consumes"
VIOLATIONS = {
    ("searchCustomers", "parameter", "pageSize", "invalid: value is not of type 'integer'"): 2,
    ("createAssistedSession", "body", "customerId", "missing"): 1,
    ("createAssistedSession", "header", "Content-Type", NOT_CONSUMED): 1,
    (None, "path", None, "no operation documents this path"): 1,
}
EXERCISED = {
    "searchCustomers": {200: 2, 400: 2, 403: 1},
    "createAssistedSession": {400: 1, 415: 1},
    "getAgent": {200: 1, 401: 1},
}


def _token_form() -> dict[str, str]:
    return {
        "grant_type": "password",
        "client_id": "mobile_android",
        "client_secret": "secret",
        "username": "asagent",
        "password": PASSWORD,
    }


def _request(call: Call, token: str) -> dict[str, Any]:
    method, path, params, body, content_type, with_token, prefer = call
    headers = {"Content-Type": content_type} if content_type else {}
    if with_token:
        headers["Authorization"] = f"Bearer {token}"
    if prefer:
        headers["Prefer"] = prefer
    params = {k: token if v == "TOKEN" else v for k, v in params.items()}
    return {
        "method": method,
        "url": BASE + path,
        "params": params,
        "content": body,
        "headers": headers,
    }


async def drive_async(client: httpx.AsyncClient) -> str:
    token = (await client.post(TOKEN_URL, data=_token_form())).json()["access_token"]
    for call in CLIENT_CALLS:
        await client.request(**_request(call, token))
    return str(token)


def drive_sync(client: httpx.Client) -> str:
    token = client.post(TOKEN_URL, data=_token_form()).json()["access_token"]
    for call in CLIENT_CALLS:
        client.request(**_request(call, token))
    return str(token)


def assert_says_exactly_what_the_client_did(report: dict[str, Any]) -> None:
    groups = {
        (v["operationId"], v["location"], v["name"], v["problem"]): v["count"]
        for v in report["violations"]
    }
    assert groups == VIOLATIONS
    assert report["summary"]["violatingRequests"] == 5
    assert report["summary"]["violationKinds"] == 4
    coverage = {c["operationId"]: c for c in report["coverage"]}
    for operation_id, statuses in coverage.items():
        answered = {s["status"]: s["count"] for s in statuses["statuses"] if s["count"]}
        assert answered == EXERCISED.get(operation_id, {}), operation_id
    never = [s["status"] for s in coverage["searchCustomers"]["statuses"] if not s["count"]]
    assert never == [401, 503]
    documented = sum(len(c["statuses"]) for c in report["coverage"])
    exercised = sum(len(v) for v in EXERCISED.values())
    assert report["summary"]["documentedStatuses"] == documented
    assert report["summary"]["exercisedStatuses"] == exercised
    assert report["summary"]["uncoveredStatuses"] == documented - exercised
    assert report["controls"] == [
        {"kind": "prefer", "detail": "code=403", "operationId": "searchCustomers", "count": 1}
    ]
    examples = {v["name"]: v["example"] for v in report["violations"]}
    assert examples["pageSize"]["status"] == 400
    assert "access_token=***" in examples["pageSize"]["query"]  # the newest of the two


def assert_junit_says_it(xml: str) -> None:
    xmlschema.XMLSchema(JUNIT_XSD).validate(xml)
    root = ElementTree.fromstring(xml)
    failures = root.findall(".//testcase/failure")
    assert sorted(f.get("message") for f in failures) == sorted(
        f"{n} x {where}{f' {name}' if name else ''}: {problem}"
        for (_, where, name, problem), n in VIOLATIONS.items()
    )
    assert root.get("failures") == "4"
    unrouted = root.find("testsuite[@name='(no operation)']")
    assert unrouted is not None and unrouted.get("failures") == "1"
    suite = root.find("testsuite[@name='searchCustomers']")
    assert suite is not None
    skipped = [c.get("name") for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert skipped == ["GET /customers/search answers 401", "GET /customers/search answers 503"]
    assert suite.get("tests") == "6" and suite.get("failures") == "1"


def assert_markdown_says_it(text: str) -> None:
    assert (
        "| searchCustomers | parameter pageSize | invalid: value is not of type 'integer' | 2 |"
        in text
    )
    assert "| createAssistedSession | body customerId | missing | 1 |" in text
    assert (
        "| searchCustomers | `GET /customers/search` | 200 (2), 400 (2), 403 (1) | 401, 503 | - |"
        in text
    )
    assert "| prefer | code=403 | searchCustomers | 1 |" in text
    assert "| (no operation) | path | no operation documents this path | 1 |" in text
    assert "5 broke the contract (4 kinds)" in text


def assert_no_secret(text: str, token: str) -> None:
    assert token not in text
    assert PASSWORD not in text


# -- in process -----------------------------------------------------------------------------


@pytest.fixture
async def report_client(app: AsmMockApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as c:
        yield c


@pytest.mark.anyio
async def test_the_report_says_how_the_client_broke_the_contract_and_what_it_covered(
    report_client: httpx.AsyncClient,
) -> None:
    token = await drive_async(report_client)
    answer = await report_client.get("/__admin/report")
    assert answer.status_code == 200
    report = answer.json()
    assert report["window"] == {"requests": 11, "reported": 11, "complete": True}
    assert_says_exactly_what_the_client_did(report)
    assert_junit_says_it(render(report, "junit"))
    assert_markdown_says_it(render(report, "markdown"))
    for output_format in ("json", "junit", "markdown"):
        assert_no_secret(render(report, output_format), token)


@pytest.mark.anyio
@pytest.mark.parametrize("clearing", ["/__admin/report", "/__admin/requests"])
async def test_a_delete_starts_a_new_window(
    report_client: httpx.AsyncClient, clearing: str
) -> None:
    await drive_async(report_client)
    cleared = await report_client.delete(clearing)
    assert cleared.status_code == 200
    report = (await report_client.get("/__admin/report")).json()
    assert report["window"]["requests"] == 0
    assert report["violations"] == [] and report["controls"] == []
    assert all(s["count"] == 0 for c in report["coverage"] for s in c["statuses"])
    await report_client.get(f"{BASE}/customers/search", params=SEARCH)  # no token: 401
    searched = next(
        c
        for c in (await report_client.get("/__admin/report")).json()["coverage"]
        if c["operationId"] == "searchCustomers"
    )
    assert {s["status"]: s["count"] for s in searched["statuses"]}[401] == 1


@pytest.mark.anyio
async def test_canned_answers_and_injected_errors_are_counted_as_controls(
    report_client: httpx.AsyncClient,
) -> None:
    token = await drive_async(report_client)
    agent = {"Authorization": f"Bearer {token}"}
    await report_client.delete("/__admin/report")
    applied = await report_client.post("/__admin/scenarios/agent-not-found")
    assert applied.status_code == 200
    assert (await report_client.get(f"{BASE}/agents/asagent", headers=agent)).status_code == 404
    assert (await report_client.patch("/__admin/settings", json={"errorRate": 1.0})).is_success
    searched = await report_client.get(f"{BASE}/customers/search", params=SEARCH, headers=agent)
    assert searched.status_code == 503
    controls = (await report_client.get("/__admin/report")).json()["controls"]
    assert sorted((u["kind"], u["detail"], u["operationId"], u["count"]) for u in controls) == [
        ("canned", "scenario", "getAgent", 1),
        ("injected", "error-rate", "searchCustomers", 1),
    ]


@pytest.mark.anyio
async def test_a_refusal_of_a_value_the_contract_allows_is_coverage_not_a_violation(
    report_client: httpx.AsyncClient,
) -> None:
    token = await drive_async(report_client)
    await report_client.delete("/__admin/report")
    # the contract's pageSize is any integer; the world refuses more than SAP's 100
    refused = await report_client.get(
        f"{BASE}/customers/search",
        params={**SEARCH, "pageSize": "500"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 400
    report = (await report_client.get("/__admin/report")).json()
    assert report["violations"] == []
    searched = next(c for c in report["coverage"] if c["operationId"] == "searchCustomers")
    assert {s["status"]: s["count"] for s in searched["statuses"]}[400] == 1


def test_a_problem_is_grouped_whatever_value_was_sent_and_never_repeats_it() -> None:
    def bad(value: str) -> JournalEntry:
        message = f"Request body field password is invalid: {value} is not of type 'integer'"
        detail = ErrorDetail(message, "invalid", "password", "body")
        return JournalEntry(
            None,
            "POST",
            "/p",
            "",
            "op",
            400,
            1.0,
            (message,),
            (detail,),  # type: ignore[arg-type]
        )

    sent = [
        "'hunter2 is secret'",
        "{'a': 'is not', 'b': [\"it's\"]}",
        "'x'",
        "'" + "is " * 4000 + "'",
    ]
    report = conformance_report(
        [bad(v) for v in sent], [DocumentedOperation("op", "POST", "/p", frozenset({201, 400}))]
    )
    [group] = report.violations
    assert (group.name, group.problem, group.count) == (
        "password",
        "invalid: value is not of type 'integer'",
        4,
    )
    assert report.coverage[0].exercised == {201: 0, 400: 4}
    unterminated = conformance_report([bad("'hunter2 is not")], [])
    assert [g.problem for g in unterminated.violations] == ["invalid"]  # nothing of the value


# -- a live server and the CLI ---------------------------------------------------------------


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["report", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_asm_mock_report_prints_each_format_and_fails_on_what_it_is_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with AsmMockServer("--customers", "10") as server:
        with httpx.Client(base_url=server.url) as client:
            token = drive_sync(client)
        url = ("--url", server.url)
        status, out, _ = _report(capsys, *url)
        assert status == 0
        assert_says_exactly_what_the_client_did(json.loads(out))
        status, junit, _ = _report(capsys, *url, "--format", "junit")
        assert status == 0
        assert_junit_says_it(junit)
        status, summary, _ = _report(capsys, *url, "--format", "markdown")
        assert status == 0
        assert_markdown_says_it(summary)
        for text in (out, junit, summary):
            assert_no_secret(text, token)

        status, _, err = _report(capsys, *url, "--fail-on", "violations")
        assert status == 1
        assert err == "asm-mock: failing on violations: 5 requests broke the contract (4 kinds)\n"
        status, _, err = _report(capsys, *url, "--fail-on", "uncovered")
        assert status == 1 and err.startswith("asm-mock: failing on uncovered: ")

        with httpx.Client(base_url=server.url) as client:
            client.delete("/__admin/report")
            client.get(f"{BASE}/customers/search", params=SEARCH)  # a documented 401
        status, _, err = _report(capsys, *url, "--fail-on", "violations", "--format", "junit")
        assert (status, err) == (0, "")
        status, _, _ = _report(capsys, *url, "--fail-on", "violations,uncovered")
        assert status == 1  # still uncovered


def test_asm_mock_report_refuses_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = _report(capsys, "--fail-on", "violations,flaky")
    assert (status, out) == (2, "")
    assert err == "asm-mock: error: option --fail-on: 'flaky' is not one of violations, uncovered\n"
    status, _, err = _report(capsys, "--format", "xml")
    assert status == 2 and err.count("\n") == 1 and "'xml' is not one of" in err
    # nothing listens on port 1: exit 1, as for every failure to get a report
    status, out, err = _report(capsys, "--url", "http://127.0.0.1:1")
    assert (status, out) == (1, "")
    assert err.startswith("asm-mock: no report from http://127.0.0.1:1/__admin/report: ")
    assert err.count("\n") == 1


@pytest.mark.anyio
async def test_a_report_of_a_window_the_journal_outgrew_says_so() -> None:
    app = create_app(Settings(customers=SMALL_WORLD, journal_size=3))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as client:
        await drive_async(client)
        report = (await client.get("/__admin/report")).json()
    assert report["window"] == {"requests": 11, "reported": 3, "complete": False}
    assert "Only the newest 3 requests are reported on." in render(report, "markdown")


def test_asm_mock_report_sends_the_admin_token_and_says_when_one_is_needed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin_token = "report-admin-token-7"
    with AsmMockServer("--customers", "10", "--admin-token", admin_token) as server:
        status, out, err = _report(capsys, "--url", server.url)
        assert (status, out) == (1, "")
        assert err.startswith(f"asm-mock: no report from {server.url}/__admin/report: 401 ")
        assert "--admin-token" in err and err.count("\n") == 1
        status, out, _ = _report(capsys, "--url", server.url, "--admin-token", admin_token)
        assert status == 0 and json.loads(out)["violations"] == []  # the launcher polled only
        assert admin_token not in out


async def _summary_without_counts(scope: Any, receive: Any, send: Any) -> None:
    """Another server's JSON with a `summary` object: not admin.yaml's Report."""
    if scope["type"] == "http":
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"summary": {"ok": true}}'})


def test_asm_mock_report_refuses_a_document_that_is_not_a_report_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ThreadedServer(_summary_without_counts) as other:
        for fail_on in ("violations", "uncovered"):
            status, out, err = _report(capsys, "--url", other.base_url, "--fail-on", fail_on)
            assert (status, out) == (1, "")
            assert err.count("\n") == 1 and "is not a conformance report" in err, err
