"""Shared fixtures: a small seeded world served in-process, and an agent token for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from asm_mock.domain.fixtures import Fixtures, load_fixtures
from asm_mock.domain.generate import DEFAULT_SEED, build_world
from asm_mock.domain.world import World
from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.settings import Settings

REPO = Path(__file__).resolve().parents[1]
BASE = "/assistedservicewebservices"
TOKEN_URL = "/authorizationserver/oauth/token"
SMALL_WORLD = 60


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


async def password_token(
    client: httpx.AsyncClient,
    username: str = "asagent",
    password: str = "pw4all",
    client_id: str = "mobile_android",
) -> str:
    response = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": "secret",
            "username": username,
            "password": password,
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


@pytest.fixture
async def agent(client: httpx.AsyncClient) -> dict[str, str]:
    """Authorization headers of `asagent`."""
    return {"Authorization": f"Bearer {await password_token(client)}"}


def contract_schema(name: str) -> dict[str, object]:
    import yaml

    document = yaml.safe_load((REPO / "openapi.yaml").read_text())
    schema = dict(document["components"]["schemas"][name])
    schema["$defs"] = document["components"]["schemas"]
    return schema


def assert_occ_error(
    response: httpx.Response, status: int, error_type: str, *, subject: str | None = None
) -> dict[str, str]:
    """The response is SAP's OCC error body with this status and type (and subject)."""
    from jsonschema import Draft202012Validator

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    schema = contract_schema("ErrorList")
    # the contract's $refs point at #/components/schemas/...; re-root them for a standalone check
    text = __import__("json").dumps(schema).replace("#/components/schemas/", "#/$defs/")
    Draft202012Validator(__import__("json").loads(text)).validate(body)
    error = body["errors"][0]
    assert error["type"] == error_type, body
    if subject is not None:
        assert error.get("subject") == subject, body
    assert isinstance(error, dict)
    return error
