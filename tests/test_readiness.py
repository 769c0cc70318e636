"""Readiness: GET /__admin/ready is 200 only once the validation stack has loaded, and answers
503 at once before that; `asm-mock wait` polls it.

The stack's load is held or failed through `deferred.Background` (its build is the test's), or
completed with `AsmMockApp.load_fully()`: no sleeping until something has probably happened.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from starlette.types import ASGIApp

from asm_mock.cli import command, main
from asm_mock.contract import load_compiled
from asm_mock.contract.canned import canned_answers
from asm_mock.domain.controls import Controls, RuntimeSettings
from asm_mock.domain.journal import Journal
from asm_mock.domain.service import MockService
from asm_mock.domain.tenants import Tenant, Tenants
from asm_mock.domain.world import World
from asm_mock.http.admin import AdminHandlers, admin_contract
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.http.deferred import Background, DeferredApp
from asm_mock.http.readiness import ReadinessProbe
from asm_mock.resources import contract_path
from asm_mock.settings import Settings
from asm_mock.testing import AsmMockServer, free_port
from tests.helpers import assert_occ_error

READY = "/__admin/ready"
NOT_YET = {"ready": False, "loaded": ["contract", "world"], "waitingFor": ["validation stack"]}
EVERYTHING = {"ready": True, "loaded": ["contract", "world", "validation stack"], "waitingFor": []}
ADMIN_TOKEN = "s3cret-admin"


def documented(status: int) -> Draft202012Validator:
    """admin.yaml's schema of /ready's answer with this status."""
    responses = admin_contract().spec["paths"]["/ready"]["get"]["responses"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def admin_client(app: ASGIApp, client_host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002")


def test_ready_documents_ready_not_ready_and_the_guards_refusals() -> None:
    responses = admin_contract().spec["paths"]["/ready"]["get"]["responses"]
    assert set(responses) == {"200", "401", "403", "503"}
    documented(200).validate(EVERYTHING)
    documented(503).validate(NOT_YET)
    assert not documented(200).is_valid(NOT_YET)
    assert not documented(503).is_valid(EVERYTHING)


@pytest.mark.anyio
async def test_ready_is_503_until_the_stack_has_loaded_then_200(app: AsmMockApp) -> None:
    async with admin_client(app) as admin:
        # nothing has asked for the stack yet: the first answer is the one that starts it
        before = await asyncio.wait_for(admin.get(READY), 10)
        assert (before.status_code, before.json()) == (503, NOT_YET)
        assert before.headers["content-type"] == "application/json"
        documented(503).validate(before.json())
        app.load_fully(60)
        after = await admin.get(READY)
        assert (after.status_code, after.json()) == (200, EVERYTHING)
        documented(200).validate(after.json())
        # liveness is unchanged beside it
        assert (await admin.get("/__admin/health")).json()["status"] == "UP"
        # only GET is readiness; the rest is Connexion's, as on every admin path
        assert_occ_error(await admin.post(READY), 405, "HttpRequestMethodNotSupportedError")


def admin_stack(world: World, build: Any) -> tuple[Background[ASGIApp], ASGIApp]:
    """The admin API as create_app serves it, its Connexion app built by `build(make)`."""
    from asm_mock.http.connexion_stack import admin_app

    tenant = Tenant(None, MockService(world), Journal(10), Controls(RuntimeSettings(), seed=1))
    contract = load_compiled(contract_path())
    handlers = AdminHandlers(
        lambda: tenant,
        Tenants(tenant, factory=lambda _name: tenant),
        canned=canned_answers(contract),
    )
    schemas = contract.schemas
    stack: Background[ASGIApp] = Background(
        lambda: build(lambda: admin_app(handlers, schemas=schemas)), name="t"
    )
    return stack, ReadinessProbe(DeferredApp(stack, lambda app: app), stack=stack)


@pytest.mark.anyio
async def test_ready_answers_at_once_while_the_stack_is_still_loading(world: World) -> None:
    release = threading.Event()

    def held(make: Any) -> ASGIApp:
        release.wait(30)
        return make()  # type: ignore[no-any-return]

    stack, app = admin_stack(world, held)
    stack.start()
    async with admin_client(app) as admin:
        health = asyncio.ensure_future(admin.get("/__admin/health"))  # waits for the stack
        loading = await asyncio.wait_for(admin.get(READY), 10)  # does not
        assert (loading.status_code, loading.json()) == (503, NOT_YET)
        assert not health.done()
        release.set()
        stack.result(30)
        assert (await asyncio.wait_for(health, 30)).status_code == 200
        ready = await admin.get(READY)  # answered by Connexion's admin app now
        assert (ready.status_code, ready.json()) == (200, EVERYTHING)


@pytest.mark.anyio
async def test_a_stack_that_failed_to_load_is_503_naming_the_error_without_traceback(
    world: World,
) -> None:
    def broken(make: Any) -> ASGIApp:
        raise RuntimeError("broken installation:\n  connexion is missing")

    stack, app = admin_stack(world, broken)
    with pytest.raises(RuntimeError):
        stack.result(30)
    async with admin_client(app) as admin:
        answer = await admin.get(READY)
    assert answer.status_code == 503
    body = answer.json()
    documented(503).validate(body)
    assert body == {
        "ready": False,
        "loaded": ["contract", "world"],
        "waitingFor": [],
        "failed": [
            {
                "part": "validation stack",
                "error": "RuntimeError: broken installation: connexion is missing",
            }
        ],
    }
    assert "Traceback" not in answer.text and "File " not in answer.text


@pytest.mark.anyio
async def test_ready_is_behind_the_admin_guard_like_every_admin_path() -> None:
    open_app = create_app(Settings(customers=5))
    async with admin_client(open_app, "192.0.2.10") as remote:
        assert_occ_error(await remote.get(READY), 403, "ForbiddenError")
    guarded = create_app(Settings(customers=5, admin_token=ADMIN_TOKEN))
    async with admin_client(guarded) as local:
        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        # first: any answer that has left starts loading the stack
        assert (await local.get(READY, headers=bearer)).status_code == 503
        assert_occ_error(await local.get(READY), 401, "UnauthorizedError")
        guarded.load_fully(60)
        assert (await local.get(READY, headers=bearer)).status_code == 200
        assert_occ_error(await local.get(READY), 401, "UnauthorizedError")


# -- asm-mock wait --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_wait_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ASM_MOCK_URL", "ASM_MOCK_WAIT_TIMEOUT", "ASM_MOCK_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def one_stderr_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_wait_exits_0_once_a_live_mock_is_ready_and_1_at_once_without_its_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with AsmMockServer("--customers", "5", "--admin-token", ADMIN_TOKEN) as server:
        started = time.monotonic()
        assert main(["wait", "--url", server.url, "--timeout", "30"]) == 1
        assert time.monotonic() - started < 10  # the guard's 401 does not change: no waiting
        line = one_stderr_line(capsys)
        assert line.startswith(f"asm-mock: not ready: {server.url}{READY}: 401 ")
        assert "--admin-token" in line
        assert main(["wait", "--url", server.url, "--admin-token", ADMIN_TOKEN]) == 0
        monkeypatch.setenv("ASM_MOCK_ADMIN_TOKEN", ADMIN_TOKEN)  # as `serve` reads it
        monkeypatch.setenv("ASM_MOCK_URL", server.url)
        assert main(["wait"]) == 0
    out = capsys.readouterr()
    ready = out.out.splitlines()
    assert len(ready) == 2
    assert all(line.startswith(f"asm-mock at {server.url} is ready (") for line in ready)
    assert out.err == "" and ADMIN_TOKEN not in out.out


def test_wait_on_a_closed_port_gives_up_after_its_timeout_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # bound and released: nothing listens there
    started = time.monotonic()
    assert main(["wait", "--url", url, "--timeout", "1"]) == 1
    assert 1 <= time.monotonic() - started < 5
    assert one_stderr_line(capsys) == (
        f"asm-mock: not ready after 1 s: {url}{READY}: connection refused"
    )


class StubMock:
    """An HTTP server answering GET /__admin/ready from a list of (status, body), the last
    one for ever; it keeps each request's Authorization header."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]]) -> None:
        self.answers = answers
        self.authorizations: list[str | None] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                assert self.path == READY
                stub.authorizations.append(self.headers.get("Authorization"))
                status, body = stub.answers[min(len(stub.authorizations), len(stub.answers)) - 1]
                encoded = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def stub_mock(answers: list[tuple[int, dict[str, Any]]]) -> Iterator[StubMock]:
    stub = StubMock(answers)
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()
        thread.join(10)


def test_wait_polls_through_not_ready_answers_with_the_token_it_was_given() -> None:
    with stub_mock([(503, NOT_YET), (503, NOT_YET), (200, EVERYTHING)]) as stub:
        assert main(["wait", "--url", stub.url + "/", "--admin-token", "t0k"]) == 0
    assert stub.authorizations == ["Bearer t0k"] * 3


def test_wait_names_what_is_still_loading_when_it_gives_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with stub_mock([(503, NOT_YET)]) as stub:
        assert main(["wait", "--url", stub.url, "--timeout", "0.3"]) == 1
    assert len(stub.authorizations) >= 2  # it asked again before giving up
    assert one_stderr_line(capsys) == (
        f"asm-mock: not ready after 0.3 s: {stub.url}{READY}: 503: still loading: validation stack"
    )


def test_wait_stops_at_once_when_a_part_failed_to_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    failed = {
        "ready": False,
        "loaded": ["contract", "world"],
        "waitingFor": [],
        "failed": [{"part": "validation stack", "error": "RuntimeError: broken"}],
    }
    documented(503).validate(failed)
    with stub_mock([(503, failed)]) as stub:
        assert main(["wait", "--url", stub.url, "--timeout", "30"]) == 1
    assert len(stub.authorizations) == 1
    assert one_stderr_line(capsys) == (
        f"asm-mock: not ready: {stub.url}{READY}: "
        "503: validation stack failed to load: RuntimeError: broken"
    )


@pytest.mark.parametrize(
    ("args", "env", "named", "problem"),
    [
        (["--timeout", "abc"], {}, "option --timeout", "'abc' is not a number of seconds"),
        (["--timeout", "-1"], {}, "option --timeout", "between 0 and 86400 seconds"),
        (["--timeout", "nan"], {}, "option --timeout", "between 0 and 86400 seconds"),
        (
            [],
            {"ASM_MOCK_WAIT_TIMEOUT": "soon"},
            "ASM_MOCK_WAIT_TIMEOUT (option --timeout)",
            "'soon'",
        ),
        (["--url", "ftp://host"], {}, "option --url", "is not an http(s) URL"),
        (["--url", "http://[::1"], {}, "option --url", "is not a URL"),
        (["--url", "http://h:99999"], {}, "option --url", "is not a URL"),
        ([], {"ASM_MOCK_URL": "localhost:9002"}, "ASM_MOCK_URL (option --url)", "http(s) URL"),
    ],
)
def test_bad_wait_options_are_one_line_and_exit_2(
    args: list[str], env: dict[str, str], named: str, problem: str
) -> None:
    result = CliRunner().invoke(command, ["wait", *args], env=env)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"asm-mock: error: {named}: "), lines
    assert problem in lines[0] and result.stdout == ""


def test_wait_help_shows_each_options_variable() -> None:
    result = CliRunner().invoke(command, ["wait", "--help"])
    assert result.exit_code == 0
    options = [p for p in command.commands["wait"].params if isinstance(p, click.Option)]
    assert {max(o.opts, key=len) for o in options} == {"--url", "--timeout", "--admin-token"}
    for option in options:
        assert f"env var: {option.envvar}" in " ".join(result.stdout.split())
