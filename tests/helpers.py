"""What several test modules share: paths, the demo login, the OCC error check, the fast lane's
stand-ins. Test modules import from here (or from asm_mock.testing), never from each other."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.contract import load_compiled
from asm_mock.domain.controls import Controls, RuntimeSettings
from asm_mock.domain.errors import InvalidTokenError
from asm_mock.domain.tokens import Principal
from asm_mock.http.app import AsmMockApp
from asm_mock.http.fast_lane import FastLane
from asm_mock.resources import contract_path
from asm_mock.shared.connection import RedisConnection
from asm_mock.shared.store import RedisStore
from asm_mock.shared.url import parse_store_url

REPO = Path(__file__).resolve().parents[1]
BASE = "/assistedservicewebservices"
TOKEN_URL = "/authorizationserver/oauth/token"
SMALL_WORLD = 60


def store_of(url: str, namespace: str = "test", *, timeout: float = 5.0) -> RedisStore:
    """A RedisStore of `namespace` on its own connection to the Redis at `url`."""
    return RedisStore(RedisConnection(parse_store_url(url), timeout=timeout), namespace=namespace)


StoreOf = Callable[..., RedisStore]


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
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    Draft202012Validator(json.loads(text)).validate(body)
    error = body["errors"][0]
    assert error["type"] == error_type, body
    if subject is not None:
        assert error.get("subject") == subject, body
    assert isinstance(error, dict)
    return error


# --- the fast lane, driven directly with stand-ins ---------------------------------------------

AGENT = Principal("asagent", ("asagentgroup",), ("basic",))
VALID_AGENT = {"uid": "asagent", "name": "A", "email": "a@example.com", "groups": ["g"]}
SESSION = {
    "sessionId": "s1",
    "agentId": "asagent",
    "customerId": "c1",
    "baseSite": "electronics-spa",
    "cartId": "00001000",
    "createdAt": "2026-01-15T12:00:00+00:00",
    "status": "ACTIVE",
}
PAGE = {
    "entries": [],
    "pagination": {"currentPage": 0, "pageSize": 20, "totalPages": 0, "totalResults": 0},
}


class StandInConnexion:
    """Stands in for the full stack: records what reached it, answers 299."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.requests.append((scope["method"], scope["path"], body))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class Handlers:
    def __init__(self) -> None:
        # the signatures Connexion and the lane read the wanted arguments from
        self.signatures = {
            "searchCustomers": "query, baseSite, currentPage=0, pageSize=20",
            "getCustomer360": "customerId, baseSite",
            "getCustomerCarts": "customerId, baseSite",
            "createAssistedSession": "body, token_info",
            "getAssistedSession": "sessionId, token_info",
            "endAssistedSession": "sessionId, token_info",
            "getAgent": "agentId",
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Callable[[], Any]] = {
            "searchCustomers": lambda: (PAGE, 200),
            "getCustomer360": lambda: ({}, 200),
            "getCustomerCarts": lambda: ({"carts": []}, 200),
            "createAssistedSession": lambda: (SESSION, 201),
            "getAssistedSession": lambda: (SESSION, 200),
            "endAssistedSession": lambda: (SESSION, 200),
            "getAgent": lambda: (VALID_AGENT, 200),
        }

    def lookup(self, operation_id: str) -> Callable[..., Any]:
        namespace: dict[str, Any] = {"record": self._record, "op": operation_id}
        exec(  # noqa: S102 - a test double with the real handlers' parameter names
            f"async def handler({self.signatures[operation_id]}):\n"
            "    return record(op, dict(locals()))\n",
            namespace,
        )
        return namespace["handler"]  # type: ignore[no-any-return]

    def _record(self, operation_id: str, arguments: dict[str, Any]) -> Any:
        self.calls.append((operation_id, arguments))
        return self.answers[operation_id]()


async def authorize(headers: list[str]) -> Principal:
    if headers != ["Bearer good"]:
        raise InvalidTokenError("bad")
    return AGENT


def make_lane(
    handlers: Handlers, connexion: StandInConnexion | None = None, controls: Controls | None = None
) -> FastLane:
    chosen = controls or Controls(RuntimeSettings(), seed=1)
    return FastLane(
        connexion or StandInConnexion(),
        contract=load_compiled(contract_path()),
        handler=handlers.lookup,
        authorize=authorize,
        controls=lambda: chosen,
    )


# --- who answered: the fast lane, or Connexion's stack --------------------------------------


class HandOnCount:
    """Wraps an app's Connexion stack (through connexion_stack.connexion_apps, its public
    seam) and counts the requests that reach it."""

    def __init__(self) -> None:
        self.count = 0

    def around(self, build: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            apps = build(*args, **kwargs)
            return replace(apps, api=self.counting(apps.api))

        return counted

    def counting(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                self.count += 1
            await app(scope, receive, send)

        return counted


def load_counting_hand_ons(app: AsmMockApp) -> HandOnCount:
    """Loads `app`'s Connexion stack with its API wrapped in a `HandOnCount`."""
    # imported here, as the app loads it: collecting a test module does not import Connexion
    import asm_mock.http.connexion_stack as connexion_stack

    hand_ons = HandOnCount()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            connexion_stack, "connexion_apps", hand_ons.around(connexion_stack.connexion_apps)
        )
        app.load_fully()
    return hand_ons
