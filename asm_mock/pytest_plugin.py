"""pytest fixtures for suites that test a client of the ASM API against asm-mock.

Registered as the ``pytest11`` entry point ``asm_mock``, so installing asm-mock is enough:

- ``asm_mock_app``: the mock in-process (no port, no subprocess), with an async and a sync
  ``httpx`` client already logged in as agent ``asagent``;
- ``asm_mock_server``: the mock as a real server on a free loopback port (an
  `asm_mock.testing.AsmMockServer`), for clients that cannot be pointed at an ASGI app (a
  browser, another process, a non-Python SDK);
- ``asm_mock_tenant``: a tenant of its own (``/t/{name}``, a `MockTenant`) on ONE server
  shared by every test of the run, or by every job of a CI, with ``--asm-mock-url URL``: tests
  (and xdist workers) in parallel never see each other's sessions, tokens, journal or settings,
  and no server is reset between them. ``.base_url`` is where a client points (its token
  endpoint, API, admin and Swagger UI are all under it), ``.api_url``, ``.token()``,
  ``.headers()``; the tenant is deleted after the test.

The world comes from ``@pytest.mark.asm_mock(seed=..., customers=..., fixtures=..., auth=...,
scenarios=...)``, else ``--asm-mock-seed`` / ``--asm-mock-customers``, else asm-mock's defaults.
``ASM_MOCK_*`` environment variables are ignored, so both fixtures serve the same world for
the same options.

Like a transaction rolled back after each test: what is costly is built once per distinct
settings per test session (the app with its world and Connexion's stack; the server process),
and every test starts from that world with nothing of the tests before it: no session, no
journal entry, the settings and canned answers the mock started with, no token but its own.
Heavy imports (Connexion, Faker) wait for the first fixture, because pytest loads this module in
every run of a project that merely has asm-mock installed.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from asm_mock.blocking import run_blocking
from asm_mock.testing import (
    AGENT_CREDENTIALS,
    API_PATH,
    TOKEN_PATH,
    AsmMockServer,
    MockServerError,
    ThreadedASGITransport,
    password_form,
)

if TYPE_CHECKING:
    from asm_mock.domain.service import MockService
    from asm_mock.domain.store import IssuedToken
    from asm_mock.http.app import AsmMockApp
    from asm_mock.settings import Settings

__all__ = [
    "API_PATH",
    "TOKEN_PATH",
    "InProcessMock",
    "MockTenant",
    "asm_mock_app",
    "asm_mock_server",
    "asm_mock_tenant",
]

_IN_PROCESS_URL = "http://127.0.0.1:9002"  # a local SAP Commerce's, as the mock's default port
_MARKER_KEYS = frozenset({"seed", "customers", "fixtures", "auth", "scenarios"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asm_mock", "asm-mock fixtures")
    group.addoption("--asm-mock-seed", type=int, help="world seed (a marker's seed wins)")
    group.addoption(
        "--asm-mock-customers", type=int, help="generated customers (a marker's count wins)"
    )
    group.addoption(
        "--asm-mock-url",
        help="a running asm-mock shared by all tests (and CI jobs): asm_mock_tenant's server",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "asm_mock(seed=None, customers=None, fixtures=None, auth=None, scenarios=()): the world, "
        "auth mode (strict|permissive) and start-up scenarios of the asm_mock_app / "
        "asm_mock_server fixtures",
    )


def _settings(request: pytest.FixtureRequest) -> Settings:
    from asm_mock.settings import AuthMode, Settings

    chosen: dict[str, Any] = {
        "seed": request.config.getoption("asm_mock_seed"),
        "customers": request.config.getoption("asm_mock_customers"),
    }
    marker = request.node.get_closest_marker("asm_mock")
    if marker is not None:
        if marker.args or not _MARKER_KEYS.issuperset(marker.kwargs):
            keys = ", ".join(sorted(_MARKER_KEYS))
            pytest.fail(f"asm_mock marker takes only keywords {keys}: {marker}", pytrace=False)
        chosen.update(marker.kwargs)
    given = {key: value for key, value in chosen.items() if value is not None}
    if "auth" in given:
        given["auth"] = AuthMode(given["auth"])
    if "fixtures" in given:
        given["fixtures"] = Path(given["fixtures"])
    if "scenarios" in given:  # one name or several; a tuple keeps the settings hashable
        scenarios = given["scenarios"]
        given["scenarios"] = (scenarios,) if isinstance(scenarios, str) else tuple(scenarios)
    return replace(Settings(), **given)


@dataclass
class InProcessMock:
    """What `asm_mock_app` yields: the app, its state, and clients logged in as `asagent`."""

    app: AsmMockApp
    client: httpx.AsyncClient
    sync_client: httpx.Client
    token: str

    @property
    def service(self) -> MockService:
        return self.app.service

    @property
    def settings(self) -> Settings:
        return self.app.settings

    def reset(self) -> None:
        """Back to a freshly built world of the same settings; sessions go, tokens stay.

        Tokens are kept so that `client` and `sync_client` stay logged in across a reset.
        """
        run_blocking(self.service.reset())
        self.app.controls.reset()
        self.app.journal.clear()
        self.app.tenants.clear()


@dataclass(frozen=True)
class _BuiltMock:
    """What one distinct `Settings` costs, paid once per session: the app with its world and
    Connexion's stack loaded, and the fixture's token."""

    app: AsmMockApp
    token: str
    issued: IssuedToken

    def rolled_back(self) -> None:
        """Everything a test may have changed, undone: back to the world as started, with no
        session, no token but the fixture's, an empty journal, the settings started with."""
        run_blocking(self._rolled_back_state())
        self.app.controls.reset()
        self.app.journal.clear()
        self.app.tenants.clear()

    async def _rolled_back_state(self) -> None:
        service = self.app.service
        await service.reset(drop_tokens=True)  # the world as started (after start-up scenarios)
        await service.store.save_token(self.issued)  # as issued: even if a test expired it


def _build(settings: Settings) -> _BuiltMock:
    from asm_mock.http.app import create_app

    app = create_app(settings)
    with warnings.catch_warnings():
        # Connexion 3.3's imports use APIs its dependencies deprecate (jsonschema's RefResolver,
        # starlette.testclient with httpx): not the downstream suite's concern under `-W error`.
        # Served, the mock loads Connexion on a thread after its first answer; here it is loaded
        # now, under these filters, and before the tests' own threads import anything.
        warnings.simplefilter("ignore", DeprecationWarning)
        app.load_fully()
    form = password_form(**AGENT_CREDENTIALS)
    issued = run_blocking(app.service.tokens.grant(form)).token
    return _BuiltMock(app, issued.access_token, issued)


@pytest.fixture(scope="session")
def _asm_mock_built() -> dict[Settings, _BuiltMock]:
    """The in-process mocks of this session, by settings."""
    return {}


@pytest.fixture
def asm_mock_app(
    request: pytest.FixtureRequest, _asm_mock_built: dict[Settings, _BuiltMock]
) -> Iterator[InProcessMock]:
    """The mock in-process: `.client` (async), `.sync_client`, `.token`, `.service`, `.reset()`.

    Built once per distinct settings per session; each test starts from it rolled back."""
    settings = _settings(request)
    built = _asm_mock_built.get(settings)
    if built is None:
        built = _asm_mock_built[settings] = _build(settings)
    else:
        built.rolled_back()
    app = built.app
    headers = {"Authorization": f"Bearer {built.token}"}
    transport = ThreadedASGITransport(app)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=_IN_PROCESS_URL, headers=headers
    )
    sync_client = httpx.Client(transport=transport, base_url=_IN_PROCESS_URL, headers=headers)
    try:
        yield InProcessMock(app, client, sync_client, built.token)
    finally:
        if not sync_client.is_closed:  # a test that closed it has also closed the private loop
            # The async client holds no loop-bound resources; the private loop can close it.
            transport.run(client.aclose())
            sync_client.close()


@pytest.fixture(scope="session")
def _asm_mock_servers() -> Iterator[dict[Settings, AsmMockServer]]:
    """The live servers of this session, by settings; stopped when the session ends."""
    servers: dict[Settings, AsmMockServer] = {}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.close()


def _running_server(settings: Settings, servers: dict[Settings, AsmMockServer]) -> AsmMockServer:
    """This session's server of `settings`, started now if it is the first ask."""
    server = servers.get(settings)
    if server is None:
        started = AsmMockServer(settings=settings)
        try:
            started.start()
        except MockServerError:
            started.close()  # its output is in the error
            raise
        server = servers[settings] = started
    else:
        server.ensure_running()
    return server


@pytest.fixture
def asm_mock_server(
    request: pytest.FixtureRequest, _asm_mock_servers: dict[Settings, AsmMockServer]
) -> Iterator[AsmMockServer]:
    """A live server: `.base_url`, `.api_url`, `.headers()`, `.token()`, `.reset()`.

    One process per distinct settings per session, reset before each test through
    `POST /__admin/reset` with every token dropped (`headers()` logs in again)."""
    settings = _settings(request)
    try:
        used = settings in _asm_mock_servers
        server = _running_server(settings, _asm_mock_servers)
        if used:
            server.reset(drop_tokens=True)
    except MockServerError as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    try:
        server.ensure_running()
    except MockServerError as error:
        pytest.fail(str(error), pytrace=False)


# -- a tenant of one shared server -------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _tenant_name(request: pytest.FixtureRequest) -> str:
    """Unique in the run and across runs, and readable in /__admin/tenants: the xdist worker,
    the test's name, a random tail (64 characters at most, as tenant names are)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    test = _UNSAFE.sub("-", request.node.name).strip("-.")[:36]
    return f"{worker}-{test}-{uuid.uuid4().hex[:12]}"[-64:].lstrip("-.") or uuid.uuid4().hex


@dataclass(frozen=True)
class MockTenant:
    """What `asm_mock_tenant` yields: one tenant of a shared server, reached under `base_url`."""

    name: str
    server_url: str  # the server's root, without the tenant's prefix

    @property
    def base_url(self) -> str:
        """Where a client points instead of the server's root: every path the mock serves."""
        return f"{self.server_url}/t/{self.name}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PATH

    def token(self, **credentials: str) -> str:
        """An access token of this tenant (the demo agent's, unless `credentials` say who)."""
        form = password_form(**{**AGENT_CREDENTIALS, **credentials})
        answer = httpx.post(self.base_url + TOKEN_PATH, data=form, timeout=10, trust_env=False)
        if answer.status_code != 200:
            raise MockServerError(f"token request refused ({answer.status_code}): {answer.text}")
        return str(answer.json()["access_token"])

    def headers(self, **credentials: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**credentials)}"}

    def delete(self) -> None:
        """Drop the tenant and its state now (the server would after --tenant-ttl)."""
        url = f"{self.base_url}/__admin/tenants/{self.name}"
        httpx.delete(url, timeout=10, trust_env=False)


@pytest.fixture
def asm_mock_tenant(
    request: pytest.FixtureRequest, _asm_mock_servers: dict[Settings, AsmMockServer]
) -> Iterator[MockTenant]:
    """A tenant of its own on a shared server: `--asm-mock-url`'s, else one this session starts
    (per distinct settings, like `asm_mock_server`'s, and never reset for a tenant)."""
    shared = request.config.getoption("asm_mock_url")
    if shared:
        url = str(shared).rstrip("/")
    else:
        try:
            url = _running_server(_settings(request), _asm_mock_servers).base_url
        except MockServerError as error:
            pytest.fail(str(error), pytrace=False)
    tenant = MockTenant(_tenant_name(request), url)
    yield tenant
    try:
        tenant.delete()
    except httpx.HTTPError:
        pass  # gone with the server: nothing is left to delete
