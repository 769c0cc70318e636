"""Shared fixtures: a small seeded world served in-process, and an agent token for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from asm_mock.domain.fixtures import Fixtures, load_fixtures
from asm_mock.domain.generate import DEFAULT_SEED, build_world
from asm_mock.domain.world import World
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.settings import Settings
from tests.helpers import REPO, SMALL_WORLD, password_token


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
