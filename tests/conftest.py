"""Shared fixtures: a small seeded world served in-process, an agent token for it, and a real
redis-server for the shared store's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpcore  # noqa: F401  (see below)
import httpx
import pytest

from asm_mock.domain.fixtures import Fixtures, load_fixtures
from asm_mock.domain.generate import DEFAULT_SEED, build_world
from asm_mock.domain.world import World
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.settings import Settings
from asm_mock.shared.store import RedisStore
from asm_mock.testing import REDIS_MISSING, RedisServer, redis_server_path, running_in_ci
from tests.helpers import REPO, SMALL_WORLD, StoreOf, password_token, store_of

# httpcore is imported here, before any pytester run, on purpose: httpx imports it lazily and
# maps its exceptions through a table filled at first use. Filled inside an in-process pytester
# run, the table would hold the classes of an httpcore that pytester then drops from
# sys.modules, and every later connection error would escape as an unmapped httpcore error
# (the launcher waits for httpx.TransportError): test_pytest_plugin before test_launcher failed.


@pytest.fixture(scope="session")
def shipped_fixtures() -> Fixtures:
    return load_fixtures(REPO / "fixtures")


@pytest.fixture(scope="session")
def world(shipped_fixtures: Fixtures) -> World:
    return build_world(seed=DEFAULT_SEED, customers=SMALL_WORLD, fixtures=shipped_fixtures)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app() -> AsmMockApp:
    return create_app(Settings(customers=SMALL_WORLD))


@pytest.fixture
async def client(app: AsmMockApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as c:
        yield c


@pytest.fixture
async def agent(client: httpx.AsyncClient) -> dict[str, str]:
    """Authorization headers of `asagent`."""
    return {"Authorization": f"Bearer {await password_token(client)}"}


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the session's store tests (each test gets it flushed, `redis_url`).

    Without ``redis-server`` the tests that need it are skipped (one summary line says so),
    except in CI (``CI=true``), where a missing server fails them: CI never skips Redis."""
    if redis_server_path() is None:
        if running_in_ci():
            pytest.fail(f"CI=true and {REDIS_MISSING}", pytrace=False)
        pytest.skip(REDIS_MISSING)
    with RedisServer() as server:
        yield server


@pytest.fixture
async def open_store() -> AsyncIterator[StoreOf]:
    """`store_of`, each store's connection closed after the test."""
    opened: list[RedisStore] = []

    def open_one(url: str, namespace: str = "test", *, timeout: float = 5.0) -> RedisStore:
        opened.append(store_of(url, namespace, timeout=timeout))
        return opened[-1]

    yield open_one
    for store in opened:
        await store.connection.aclose()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's redis-server, emptied: a `--store` URL no earlier test has written to."""
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if REDIS_MISSING in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        terminalreporter.write_sep(
            "!", f"{len(skipped)} Redis tests SKIPPED: {REDIS_MISSING}", red=True, bold=True
        )
