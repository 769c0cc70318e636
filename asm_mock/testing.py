"""Launch servers for tests, fuzzing and benchmarks: asm-mock (or any command) on loopback.

One launcher for every place that starts a server process: the pytest plugin's
``asm_mock_server``, the test suite, ``fuzz/run.py`` and ``bench/run.py`` (which starts Prism
through the same `ServerProcess`). What each of them needs and used to do differently:

- a free loopback port (`free_port`);
- an environment without ``ASM_MOCK_*`` variables (`scrubbed_environment`): a developer's shell
  must not change the world a test asked for, so every option reaches the child explicitly;
- readiness that needs a real answer (`json_answer`: 200 and a JSON body), never "any status";
- the server's stdout and stderr in files, not pipes (a pipe nobody reads fills up and blocks
  the server), shown in the `MockServerError` raised when it fails to start or dies;
- a clean stop: terminate, wait, kill.

``AsmMockServer`` adds what a client of asm-mock needs: ``token()`` / ``headers()`` (the demo
agent's password grant) and ``reset()``. Both classes are context managers::

    with AsmMockServer("--customers", "30") as server:
        httpx.get(server.api_url + "/agents/asagent", headers=server.headers())

`RedisServer` starts Debian's ``redis-server`` the same way (no persistence, loopback only), for
the shared store's tests and benchmarks; `redis_server_path()` says whether one is installed.

`ThreadedASGITransport` is the in-process counterpart: a sync ``httpx`` client into an ASGI app.
This module imports neither pytest nor anything heavy of asm-mock: scripts use it too.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from asm_mock.domain.errors import AsmMockError

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from asm_mock.settings import Settings

__all__ = [
    "AGENT_CREDENTIALS",
    "API_PATH",
    "TOKEN_PATH",
    "AsmMockServer",
    "Check",
    "REDIS_MISSING",
    "MockServerError",
    "RedisServer",
    "ServerProcess",
    "ThreadedASGITransport",
    "ThreadedServer",
    "free_port",
    "json_answer",
    "password_form",
    "redis_server_path",
    "running_in_ci",
    "scrubbed_environment",
    "settings_options",
]

API_PATH = "/assistedservicewebservices"
TOKEN_PATH = "/authorizationserver/oauth/token"
# The demo agent and OAuth client of the packaged fixtures (README, Demo accounts).
AGENT_CREDENTIALS: Mapping[str, str] = {
    "username": "asagent",
    "password": "pw4all",
    "client_id": "mobile_android",
    "client_secret": "secret",
}
_T = TypeVar("_T")
_OUTPUT_TAIL = 4000  # characters of each stream in an error: the end is where the cause is

Check = Callable[[httpx.Client], bool]
"""A readiness probe: sends what it needs with the client (based at the server's URL) and says
whether the answer is the one it waits for. A `httpx.TransportError` means "not listening yet"."""


class MockServerError(AsmMockError):
    """A launched server did not become ready, died, or refused a request the launcher makes
    (a token, a reset). The message carries the server's captured output when there is any."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` now (the OS picks it; another process could still take it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def scrubbed_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without any ``ASM_MOCK_*`` variable."""
    source = os.environ if base is None else base
    return {key: value for key, value in source.items() if not key.startswith("ASM_MOCK_")}


def json_answer(path: str) -> Check:
    """Ready when GET `path` answers 200 with a JSON body."""

    def check(client: httpx.Client) -> bool:
        answer = client.get(path)
        if answer.status_code != 200:
            return False
        try:
            answer.json()
        except ValueError:
            return False
        return True

    return check


def password_form(
    username: str, password: str, client_id: str, client_secret: str
) -> dict[str, str]:
    """The form of an OAuth2 password grant, as SAP's token endpoint takes it."""
    return {
        "grant_type": "password",
        "username": username,
        "password": password,
        "client_id": client_id,
        "client_secret": client_secret,
    }


class ServerProcess:
    """Any server command on a loopback port, ready when `ready` says so.

    `start()` spawns it and polls `ready` every `poll_s` until it holds, the process exits or
    `timeout` seconds have passed since the spawn; the last two raise `MockServerError` with
    the captured output. `own_session` starts the command in its own process group, so
    `stop()` also ends the children of a wrapper script (npm's `prism` is one).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        port: int,
        ready: Check,
        name: str = "server",
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        poll_s: float = 0.05,
        own_session: bool = False,
    ) -> None:
        self.command = list(command)
        self.port = port
        self.name = name
        self.timeout = timeout
        self.spawned_at = 0.0  # time.perf_counter() at the spawn
        self.returncode: int | None = None  # once stopped: the exit status (-N: signal N)
        self._ready = ready
        self._cwd = cwd
        self._env = scrubbed_environment() if env is None else dict(env)
        self._poll_s = poll_s
        self._own_session = own_session
        self._process: subprocess.Popen[bytes] | None = None
        self._output_dir: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise MockServerError(f"{self.name} is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> float:
        """Spawn the command and wait until it is ready; seconds from spawn to ready."""
        if self._process is not None:
            raise MockServerError(f"{self.name} is already started")
        self._output_dir = Path(tempfile.mkdtemp(prefix="asm-mock-server-"))
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.spawned_at = time.perf_counter()
            # The child holds its own descriptors of the files: ours may close at once.
            self._process = subprocess.Popen(
                self.command,
                cwd=self._cwd,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=self._own_session,
            )
        return self.wait_until(self._ready)

    def wait_until(self, check: Check) -> float:
        """Poll `check` until it holds; seconds since the spawn. The deadline counts from the
        spawn too, so a second probe after `start()` shares the same `timeout`."""
        last = "no answer"
        # connect: refused at once while nothing listens; read: an accepted request may wait
        # for a part of the server still loading
        timeout = httpx.Timeout(self.timeout, connect=1.0)
        with httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False) as client:
            while time.perf_counter() - self.spawned_at < self.timeout:
                try:
                    if check(client):
                        return time.perf_counter() - self.spawned_at
                    last = "the check did not hold"
                except httpx.TransportError as error:
                    last = f"last error {error!r}"
                if not self.running:
                    break
                time.sleep(self._poll_s)
        exited = None if self._process is None else self._process.poll()
        self.stop()
        state = f"exited with {exited}" if exited is not None else f"not ready ({last})"
        waited = time.perf_counter() - self.spawned_at
        raise MockServerError(f"{self.name} {state} after {waited:.1f} s{self._output_note()}")

    def ensure_running(self) -> None:
        """Raise `MockServerError` (with its output) if the server has died since it started."""
        if self._process is None:
            raise MockServerError(f"{self.name} is not started")
        returncode = self._process.poll()
        if returncode is not None:
            raise MockServerError(
                f"{self.name} exited on its own ({returncode}){self._output_note()}"
            )

    def stop(self, *, timeout: float = 10.0) -> None:
        """Terminate the server, wait up to `timeout` s, then kill it. Its output stays
        readable until `close()`."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        self.returncode = process.returncode

    def _signal(self, process: subprocess.Popen[bytes], signum: int) -> None:
        if self._own_session:
            try:
                os.killpg(process.pid, signum)  # its own session: the group is ours alone
            except ProcessLookupError:
                pass
        else:
            process.send_signal(signum)

    def close(self) -> None:
        """Stop the server and delete its captured output."""
        self.stop()
        if self._output_dir is not None:
            shutil.rmtree(self._output_dir, ignore_errors=True)
            self._output_dir = None

    @property
    def stdout_path(self) -> Path:
        return self._output_path("stdout.log")

    @property
    def stderr_path(self) -> Path:
        return self._output_path("stderr.log")

    def _output_path(self, name: str) -> Path:
        if self._output_dir is None:
            raise MockServerError(f"{self.name} has no output: not started, or closed")
        return self._output_dir / name

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def _output_note(self) -> str:
        if self._output_dir is None:
            return ""
        parts = []
        for label, text in (("stdout", self.stdout_text()), ("stderr", self.stderr_text())):
            if text.strip():
                parts.append(f"--- {label} ---\n{text[-_OUTPUT_TAIL:]}")
        return (":\n" + "\n".join(parts)) if parts else " (no output)"

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


REDIS_MISSING = (
    "redis-server is not installed: `apt-get install redis-server` (Debian/Ubuntu) runs them"
)


def running_in_ci() -> bool:
    """Whether CI runs this (``CI=true``, as GitHub, GitLab and `.ci/run` set it): there, what
    needs redis-server fails without it instead of being skipped."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def redis_server_path() -> str | None:
    """The ``redis-server`` on PATH, or None (Debian: ``apt-get install redis-server``)."""
    return shutil.which("redis-server")


def _redis_ping(port: int, password: str | None) -> Check:
    """Ready when Redis answers PING (after AUTH, with a password) on `port`: RESP by hand,
    because the launcher must not need redis-py to say whether a server is up."""

    def check(_client: httpx.Client) -> bool:
        auth = b"" if password is None else _resp("AUTH", password)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
                connection.sendall(auth + _resp("PING"))
                answer = b""
                while b"PONG" not in answer and not answer.startswith(b"-"):
                    chunk = connection.recv(256)
                    if not chunk:
                        break
                    answer += chunk
        except OSError:
            return False
        return b"+PONG" in answer

    return check


def _resp(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RedisServer(ServerProcess):
    """A throwaway ``redis-server`` on a free loopback port: nothing saved to disk, no
    replication, optionally with a password. `stop()` then `start()` restarts it on the same
    port (the store's fault tests), empty. `url` is the ``--store`` value that reaches it."""

    def __init__(
        self, *, port: int | None = None, password: str | None = None, timeout: float = 10.0
    ) -> None:
        executable = redis_server_path()
        if executable is None:
            raise MockServerError("redis-server is not installed (apt-get install redis-server)")
        port = free_port() if port is None else port
        command = [executable, "--port", str(port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--protected-mode", "no"]
        if password is not None:
            command += ["--requirepass", password]
        super().__init__(
            command,
            port=port,
            ready=_redis_ping(port, password),
            name="redis-server",
            timeout=timeout,
        )
        self.password = password

    @property
    def url(self) -> str:
        auth = "" if self.password is None else f":{self.password}@"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> float:
        if self._output_dir is not None:  # a restart: the new run's output replaces the old
            shutil.rmtree(self._output_dir, ignore_errors=True)
        return super().start()


def settings_options(settings: Settings) -> list[str]:
    """`asm-mock serve` options for the world and auth mode of `settings` (seed, customers,
    fixtures, auth, scenarios): the rest of a `Settings` is left to the command's defaults."""
    options = ["--seed", str(settings.seed), "--customers", str(settings.customers)]
    options += ["--auth", str(settings.auth)]
    if settings.fixtures is not None:
        options += ["--fixtures", str(settings.fixtures)]
    for scenario in settings.scenarios:
        options += ["--scenario", scenario]
    return options


class AsmMockServer(ServerProcess):
    """`asm-mock serve` on a free loopback port with these `options` (and `settings`' world).

    Ready when ``/assistedservicewebservices/openapi.json`` answers 200 with JSON: served by
    the Connexion stack, so every path answers by then. `python` is the interpreter that runs
    ``-m asm_mock`` (default: this one).
    """

    def __init__(
        self,
        *options: str,
        settings: Settings | None = None,
        port: int | None = None,
        ready: Check | None = None,
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        port = free_port() if port is None else port
        world = settings_options(settings) if settings is not None else []
        command = [python, "-m", "asm_mock", "serve", "--host", "127.0.0.1", "--port", str(port)]
        super().__init__(
            [*command, *world, *options],
            port=port,
            ready=ready or json_answer(API_PATH + "/openapi.json"),
            name="asm-mock",
            env=env,
            timeout=timeout,
        )
        self.settings = settings
        self._http: httpx.Client | None = None

    @property
    def api_url(self) -> str:
        return self.base_url + API_PATH

    @property
    def url(self) -> str:
        """The server's root URL (`base_url`)."""
        return self.base_url

    def _client(self) -> httpx.Client:
        # one kept-alive connection for the launcher's own requests: a reset between tests
        # then costs a request, not a TCP handshake too
        if self._http is None:
            self._http = httpx.Client(base_url=self.base_url, timeout=10, trust_env=False)
        return self._http

    def token(
        self,
        username: str = AGENT_CREDENTIALS["username"],
        password: str = AGENT_CREDENTIALS["password"],
        client_id: str = AGENT_CREDENTIALS["client_id"],
        client_secret: str = AGENT_CREDENTIALS["client_secret"],
    ) -> str:
        """An access token from the server's password grant (the flow Spartacus uses)."""
        form = password_form(username, password, client_id, client_secret)
        answer = self._client().post(TOKEN_PATH, data=form)
        if answer.status_code != 200:
            raise MockServerError(f"token request refused ({answer.status_code}): {answer.text}")
        return str(answer.json()["access_token"])

    def headers(self, **credentials: str) -> dict[str, str]:
        """`{"Authorization": "Bearer ..."}` for `token(**credentials)`, for any HTTP client."""
        return {"Authorization": f"Bearer {self.token(**credentials)}"}

    def reset(self, *, drop_tokens: bool = False) -> None:
        """`POST /__admin/reset`: back to the world the server started with (after its
        start-up scenarios); sessions, the journal and run-time settings go; tokens go too
        with `drop_tokens`."""
        answer = self._client().post("/__admin/reset", json={"dropTokens": drop_tokens})
        if answer.status_code != 200:
            raise MockServerError(f"reset refused ({answer.status_code}): {answer.text}")

    def stop(self, *, timeout: float = 10.0) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        super().stop(timeout=timeout)


class ThreadedASGITransport(httpx.BaseTransport):
    """A sync transport into an ASGI app, for suites without an event loop.

    `httpx.ASGITransport` is async-only, so the app runs on a private loop in a daemon thread;
    one loop per transport, closed with it, so nothing outlives the client.
    """

    def __init__(self, app: ASGIApp) -> None:
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


class ThreadedServer:
    """An ASGI app served by uvicorn on a thread of this process, on a free loopback port: an
    upstream a test writes itself (the proxy's tests). `certfile`/`keyfile` serve it over TLS.

        with ThreadedServer(app) as upstream:
            httpx.get(upstream.base_url + "/x")
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        port: int | None = None,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.port = free_port() if port is None else port
        self._app = app
        self._tls = (certfile, keyfile)
        self._timeout = timeout
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self._tls[0] else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        import uvicorn

        from asm_mock.http.server_protocol import HTTP_PROTOCOL

        certfile, keyfile = self._tls
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="auto",
            loop="asyncio",  # uvloop refuses to close a loop on a thread while sockets linger
            http=HTTP_PROTOCOL,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="asgi-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise MockServerError(f"the ASGI server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(self._timeout)
