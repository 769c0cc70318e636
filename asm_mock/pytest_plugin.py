"""pytest fixtures for suites that test a client of the ASM API against asm-mock.

Registered as the ``pytest11`` entry point ``asm_mock``, so installing asm-mock is enough:

- ``asm_mock_app``: the mock in-process (no port, no subprocess), with an async and a sync
  ``httpx`` client already logged in as agent ``asagent``;
- ``asm_mock_server``: the mock as a real server on a free loopback port, for clients that
  cannot be pointed at an ASGI app (a browser, another process, a non-Python SDK).

Both are function-scoped: each test gets its own world, so a seed chosen by one test's marker
cannot leak into another's. The world comes from ``@pytest.mark.asm_mock(seed=..., customers=...,
auth=...)``, else ``--asm-mock-seed`` / ``--asm-mock-customers``, else asm-mock's defaults.
``ASM_MOCK_*`` environment variables are ignored, so both fixtures serve the same world for
the same options. Heavy imports (Connexion, Faker) wait for the first fixture, because pytest
loads this module in every run of a project that merely has asm-mock installed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

if TYPE_CHECKING:
    from asm_mock.domain.service import MockService
    from asm_mock.http.app import AsmMockApp
    from asm_mock.settings import Settings

__all__ = ["API_PATH", "TOKEN_PATH", "InProcessMock", "LiveMock", "asm_mock_app", "asm_mock_server"]

API_PATH = "/assistedservicewebservices"
TOKEN_PATH = "/authorizationserver/oauth/token"
_IN_PROCESS_URL = "http://127.0.0.1:9002"  # a local SAP Commerce's, as the mock's default port
_MARKER_KEYS = frozenset({"seed", "customers", "auth"})
_START_TIMEOUT = 30.0
_T = TypeVar("_T")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asm_mock", "asm-mock fixtures")
    group.addoption("--asm-mock-seed", type=int, help="world seed (a marker's seed wins)")
    group.addoption(
        "--asm-mock-customers", type=int, help="generated customers (a marker's count wins)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "asm_mock(seed=None, customers=None, auth=None): the world and auth mode "
        "(strict|permissive) of the asm_mock_app / asm_mock_server fixtures",
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
    return replace(Settings(), **given)


class _ThreadedASGITransport(httpx.BaseTransport):
    """A sync transport into an ASGI app, for suites without an event loop.

    `httpx.ASGITransport` is async-only, so the app runs on a private loop in a daemon thread;
    one loop per transport, closed with it, so nothing outlives the fixture.
    """

    def __init__(self, app: AsmMockApp) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="asm-mock-asgi", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Reading here (a generator body is sync-only) leaves a stream ASGITransport accepts.
        request.read()
        future = asyncio.run_coroutine_threadsafe(self._send(request), self._loop)
        try:
            return future.result(request.extensions.get("timeout", {}).get("read"))
        except TimeoutError as error:
            future.cancel()
            raise httpx.ReadTimeout("asm-mock did not answer in time", request=request) from error

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        try:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        # Raw (still encoded) bytes: the sync client decodes them as it would from a socket.
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions=response.extensions,
        )

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():  # a handler stuck in blocking code keeps its loop
            self._loop.close()


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
        self.service.reset()
        self.app.controls.reset()
        self.app.journal.clear()


def _password_form(username: str, password: str, client_id: str, secret: str) -> dict[str, str]:
    form = {"username": username, "password": password, "client_id": client_id}
    return {"grant_type": "password", "client_secret": secret, **form}


@pytest.fixture
def asm_mock_app(request: pytest.FixtureRequest) -> Iterator[InProcessMock]:
    """The mock in-process: `.client` (async), `.sync_client`, `.token`, `.service`, `.reset()`."""
    from asm_mock.http.app import create_app

    app = create_app(_settings(request))
    with warnings.catch_warnings():
        # Connexion 3.3's imports use APIs its dependencies deprecate (jsonschema's RefResolver,
        # starlette.testclient with httpx): not the downstream suite's concern under `-W error`.
        # Served, the mock loads Connexion on a thread after its first answer; here it is loaded
        # now, under these filters, and before the tests' own threads import anything.
        warnings.simplefilter("ignore", DeprecationWarning)
        app.load_fully()
    form = _password_form("asagent", "pw4all", "mobile_android", "secret")
    token = app.service.tokens.grant(form).token.access_token
    headers = {"Authorization": f"Bearer {token}"}
    transport = _ThreadedASGITransport(app)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=_IN_PROCESS_URL, headers=headers
    )
    sync_client = httpx.Client(transport=transport, base_url=_IN_PROCESS_URL, headers=headers)
    try:
        yield InProcessMock(app, client, sync_client, token)
    finally:
        if not sync_client.is_closed:  # a test that closed it has also closed the private loop
            # The async client holds no loop-bound resources; the private loop can close it.
            transport.run(client.aclose())
            sync_client.close()


class LiveMock:
    """A real `asm-mock serve` process on a free loopback port; what `asm_mock_server` yields."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.base_url = f"http://127.0.0.1:{port}"
        self.api_url = self.base_url + API_PATH
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: nobody reads while tests run, and a full pipe would block the server.
        self._output: IO[bytes] | None = None

    def start(self) -> None:
        s = self.settings
        command = [sys.executable, "-m", "asm_mock", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self._port), "--seed", str(s.seed)]
        command += ["--customers", str(s.customers), "--auth", s.auth.value]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASM_MOCK_")}
        self._output = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            command, stdout=self._output, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + _START_TIMEOUT
        with httpx.Client(trust_env=False, timeout=2) as client:  # no proxy for loopback
            while self._process.poll() is None and time.monotonic() < deadline:
                try:
                    if client.get(f"{self.api_url}/openapi.json").status_code == 200:
                        return
                except httpx.TransportError:
                    time.sleep(0.05)
        output = self._read()
        self.stop(check=False)
        pytest.fail(f"asm-mock did not come up on {self.base_url}:\n{output}", pytrace=False)

    def stop(self, *, check: bool = True) -> None:
        """Terminate the server; with `check`, fail if it had already died on its own."""
        process, self._process = self._process, None
        if process is None:
            return
        died = process.poll() is not None
        if not died:
            process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        output = self._read()
        if self._output is not None:
            self._output.close()
        if died and check:
            pytest.fail(f"asm-mock exited early ({process.returncode}):\n{output}", pytrace=False)

    def _read(self) -> str:
        if self._output is None or self._output.closed:
            return ""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def reset(self) -> None:
        """Back to the seeded world through `POST /__admin/reset`: sessions and the request
        journal go, tokens stay (a client logged in before stays logged in)."""
        response = httpx.post(f"{self.base_url}/__admin/reset", trust_env=False, timeout=10)
        response.raise_for_status()

    def token(
        self,
        username: str = "asagent",
        password: str = "pw4all",
        client_id: str = "mobile_android",
        client_secret: str = "secret",
    ) -> str:
        """An access token from the server's password grant (the path Spartacus uses)."""
        form = _password_form(username, password, client_id, client_secret)
        with httpx.Client(trust_env=False, timeout=10) as client:
            response = client.post(self.base_url + TOKEN_PATH, data=form)
        if response.status_code != 200:
            raise AssertionError(f"token request refused ({response.status_code}): {response.text}")
        return str(response.json()["access_token"])

    def headers(self, **credentials: str) -> dict[str, str]:
        """`{"Authorization": "Bearer ..."}` for `token(**credentials)`, for any HTTP client."""
        return {"Authorization": f"Bearer {self.token(**credentials)}"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def asm_mock_server(request: pytest.FixtureRequest) -> Iterator[LiveMock]:
    """A live server per test (function scope: a marker may pick another world for each)."""
    server = LiveMock(_settings(request), _free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
