"""`asm-mock proxy` in front of another asm-mock: answers byte-identical to asking the upstream
directly, no drift, no violations for a conforming client, and no secret in its reports or log.
And its command line's refusals."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import xmlschema

from asm_mock.cli import main
from asm_mock.testing import (
    AGENT_CREDENTIALS,
    AsmMockServer,
    ServerProcess,
    free_port,
    json_answer,
    password_form,
)
from tests.helpers import BASE, SMALL_WORLD, TOKEN_URL

JUNIT_XSD = Path(__file__).with_name("data") / "junit-10.xsd"
# headers each hop sets for itself
HOP_HEADERS = {"date", "server", "connection", "keep-alive", "transfer-encoding"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[AsmMockServer]:
    with AsmMockServer("--customers", str(SMALL_WORLD)) as server:
        yield server


def proxy_process(upstream_url: str, *options: str) -> ServerProcess:
    port = free_port()
    command = [sys.executable, "-m", "asm_mock", "proxy", "--upstream", upstream_url]
    return ServerProcess(
        [*command, "--port", str(port), *options],
        port=port,
        ready=json_answer("/__admin/ready"),
        name="asm-mock proxy",
    )


@pytest.fixture(scope="module")
def proxy(upstream: AsmMockServer) -> Iterator[ServerProcess]:
    with proxy_process(upstream.base_url) as server:
        yield server


def same_answer(through: httpx.Response, direct: httpx.Response) -> None:
    assert through.status_code == direct.status_code
    assert through.content == direct.content
    strip = lambda r: sorted((k, v) for k, v in r.headers.multi_items() if k not in HOP_HEADERS)  # noqa: E731
    assert strip(through) == strip(direct)


def test_a_conforming_client_through_the_proxy_gets_the_upstreams_answers(
    upstream: AsmMockServer, proxy: ServerProcess
) -> None:
    upstream.reset(drop_tokens=True)
    with (
        httpx.Client(base_url=proxy.base_url, trust_env=False) as via,
        httpx.Client(base_url=upstream.base_url, trust_env=False) as direct,
    ):
        assert via.delete("/__admin/report").status_code == 200
        assert via.delete("/__admin/drift").status_code == 200
        granted = via.post(TOKEN_URL, data=password_form(**AGENT_CREDENTIALS))
        assert granted.status_code == 200
        auth = {"Authorization": f"Bearer {granted.json()['access_token']}"}
        search = {"query": "james", "baseSite": "electronics-spa", "pageSize": "5"}
        for method, path, params in [
            ("GET", "/customers/search", search),
            ("GET", "/agents/asagent", {}),
        ]:
            same_answer(
                via.request(method, BASE + path, params=params, headers=auth),
                direct.request(method, BASE + path, params=params, headers=auth),
            )
        customer = via.get(BASE + "/customers/search", params=search, headers=auth).json()
        customer_id = customer["entries"][0]["customerId"]
        started = via.post(
            BASE + "/sessions",
            json={"customerId": customer_id, "baseSite": "electronics-spa"},
            headers=auth,
        )
        assert started.status_code == 201
        session = BASE + "/sessions/" + started.json()["sessionId"]
        same_answer(via.get(session, headers=auth), direct.get(session, headers=auth))
        assert via.delete(session, headers=auth).status_code == 200
        same_answer(via.get(session, headers=auth), direct.get(session, headers=auth))
        # an error answer with its challenge, passed on as it came
        same_answer(via.get(BASE + "/agents/asagent"), direct.get(BASE + "/agents/asagent"))

        drift = via.get("/__admin/drift").json()
        report = via.get("/__admin/report").json()
    assert drift["drift"] == []
    assert drift["summary"]["answers"] == 8
    assert report["violations"] == []
    assert report["window"]["requests"] == 9  # the token request too
    exercised = {
        c["operationId"]: {s["status"] for s in c["statuses"] if s["count"]}
        for c in report["coverage"]
    }
    assert exercised["createAssistedSession"] == {201}
    assert exercised["getAgent"] == {200, 401}


def test_no_secret_reaches_the_reports_or_the_log(
    upstream: AsmMockServer, proxy: ServerProcess
) -> None:
    with httpx.Client(base_url=proxy.base_url, trust_env=False) as via:
        via.delete("/__admin/report")
        granted = via.post(TOKEN_URL, data=password_form(**AGENT_CREDENTIALS)).json()
        tokens = [granted["access_token"], granted["refresh_token"]]
        auth = {"Authorization": f"Bearer {tokens[0]}", "Cookie": "JSESSIONID=cookie-secret"}
        # a client that puts its token in the query too, and breaks the contract with it
        via.get(BASE + "/customers/search", params={"query": "x", "access_token": tokens[0]})
        via.get(BASE + "/customers/search", params={"baseSite": "x"}, headers=auth)
        refreshed = via.post(
            TOKEN_URL,
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens[1],
                "client_id": "mobile_android",
                "client_secret": AGENT_CREDENTIALS["client_secret"],
            },
        ).json()
        tokens += [refreshed["access_token"]]
        written = "\n".join(
            [
                via.get("/__admin/report").text,
                via.get("/__admin/drift").text,
                proxy.stdout_text(),
                proxy.stderr_text(),
            ]
        )
    assert "access_token=***" in written  # the violation's example is there, scrubbed
    for secret in [*tokens, AGENT_CREDENTIALS["password"], "cookie-secret", "client_secret="]:
        assert secret not in written


def test_report_and_drift_commands_read_the_proxy(
    proxy: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in ("/__admin/report", "/__admin/drift"):
        httpx.delete(proxy.base_url + path, trust_env=False)
    with httpx.Client(base_url=proxy.base_url, trust_env=False) as via:
        via.get(BASE + "/agents/asagent")  # a 401, documented: no violation, no drift
    assert main(["report", "--url", proxy.base_url, "--fail-on", "violations"]) == 0
    capsys.readouterr()
    assert main(["drift", "--url", proxy.base_url, "--format", "junit", "--fail-on-drift"]) == 0
    xml = capsys.readouterr().out
    xmlschema.XMLSchema(JUNIT_XSD).validate(xml)
    assert 'failures="0"' in xml


def test_the_proxy_is_not_the_mock_its_admin_api_says_so(proxy: ServerProcess) -> None:
    with httpx.Client(base_url=proxy.base_url, trust_env=False) as via:
        reset = via.post("/__admin/reset")
        wrong_method = via.post("/__admin/drift")
    assert reset.status_code == 404
    assert "asm-mock serve" in reset.json()["errors"][0]["message"]
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, DELETE"


def test_the_mock_says_the_drift_report_is_the_proxys(upstream: AsmMockServer) -> None:
    answer = httpx.get(upstream.base_url + "/__admin/drift", trust_env=False)
    assert answer.status_code == 404
    assert "asm-mock proxy" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--upstream", "ftp://sap.example.com"], "option --upstream: 'ftp://sap.example.com'"),
        (["--upstream", "http://127.0.0.1:1", "--upstream-ca", "/no/such.pem"], "--upstream-ca"),
        (["--upstream", "http://127.0.0.1:1", "--upstream-timeout", "0"], "--upstream-timeout"),
        ([], "option --upstream: is required"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(
    arguments: list[str], says: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["proxy", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err
