"""The token endpoint and the contract's happy path answer before Connexion has loaded.

Importing and building Connexion's stack is most of a cold start, so it loads in the background
(asm_mock.http.deferred); these tests hold that load back and prove what answers meanwhile,
and that a request that needs Connexion waits for it instead of failing.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.http.app import AsmMockApp
from asm_mock.http.deferred import Background, DeferredApp
from tests.helpers import assert_occ_error

pytestmark = pytest.mark.anyio

SERVE_WITHOUT_CONNEXION = """
import asyncio, json, sys
import httpx
from asm_mock.http import deferred
from asm_mock.http.app import create_app

deferred.Background.start = lambda self: None  # hold the stack back: the happy path only
app = create_app(customers=10)
BASE = "/assistedservicewebservices"

async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        token = await client.post(
            "/authorizationserver/oauth/token",
            data={"grant_type": "password", "client_id": "mobile_android",
                  "client_secret": "secret", "username": "asagent", "password": "pw4all"},
        )
        bearer = {"Authorization": "Bearer " + token.json()["access_token"]}
        search = await client.get(
            BASE + "/customers/search",
            params={"baseSite": "electronics-spa", "query": "a"}, headers=bearer,
        )
        agent = await client.get(BASE + "/agents/asagent", headers=bearer)
    loaded = sorted(m for m in ("connexion", "jsonschema") if m in sys.modules)
    print(json.dumps([token.status_code, search.status_code, agent.status_code, loaded,
                      app.fully_loaded]))

asyncio.run(main())
"""


def test_the_happy_path_is_served_without_importing_connexion_or_jsonschema() -> None:
    run = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_CONNEXION],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    token, search, agent, loaded, fully_loaded = json.loads(run.stdout)
    assert (token, search, agent) == (200, 200, 200)
    assert loaded == []
    assert fully_loaded is False  # nothing asked for Connexion: it never loaded


def held_stack() -> tuple[threading.Event, Background[ASGIApp], DeferredApp]:
    """A stack (answering 204) whose build waits until the returned event is set."""
    release = threading.Event()

    async def stack(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def build() -> ASGIApp:
        release.wait(10)
        return stack

    background = Background(build, name="test stack")
    return release, background, DeferredApp(background, lambda value: value)


async def until_fully_loaded(app: AsmMockApp) -> None:
    for _ in range(6000):
        if app.fully_loaded:
            return
        await asyncio.sleep(0.01)


async def test_a_request_that_needs_the_stack_waits_for_it() -> None:
    release, background, app = held_stack()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        pending = asyncio.ensure_future(client.get("/"))
        await asyncio.sleep(0.2)
        assert not pending.done() and not background.ready  # held, not failed
        release.set()
        answer = await asyncio.wait_for(pending, 10)
    assert answer.status_code == 204
    assert background.ready


async def test_a_stack_that_fails_to_load_answers_the_occ_500() -> None:
    def build() -> ASGIApp:
        raise RuntimeError("broken installation")

    app = DeferredApp(Background(build, name="test stack"), lambda value: value)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/")
    assert_occ_error(answer, 500, "InternalServerError")


def test_the_build_runs_once_however_often_it_is_started() -> None:
    calls: list[int] = []
    background = Background(lambda: calls.append(1) or len(calls), name="count")
    for _ in range(5):
        background.start()
    assert background.result(10) == 1
    assert calls == [1]


async def test_lifespan_startup_completes_at_once_and_the_stack_loads_soon_after() -> None:
    from asm_mock.http.app import create_app

    app = create_app(customers=5)
    assert not app.fully_loaded
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return await inbox.get()

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    lifespan = asyncio.ensure_future(app({"type": "lifespan"}, receive, send))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    while not sent:
        await asyncio.sleep(0.001)
    assert sent == ["lifespan.startup.complete"]
    await until_fully_loaded(app)  # nothing else asks for the stack: only startup can start it
    assert app.fully_loaded
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan, 10)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_the_first_answer_starts_loading_the_stack_without_waiting_for_it() -> None:
    from asm_mock.http.app import create_app

    app = create_app(customers=5)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answer = await client.post(
            "/authorizationserver/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("mobile_android", "secret"),
        )
    assert answer.status_code == 200
    await until_fully_loaded(app)  # no lifespan, nothing needed the stack: the answer started it
    assert app.fully_loaded


async def test_a_cancelled_waiter_does_not_break_the_stack_for_later_requests() -> None:
    release, background, app = held_stack()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.get("/"), 0.05)  # gives up while the stack loads
        release.set()
        answer = await asyncio.wait_for(client.get("/"), 10)
    assert answer.status_code == 204
    assert background.ready


def test_a_failed_build_is_not_ready() -> None:
    def build() -> ASGIApp:
        raise RuntimeError("broken installation")

    background = Background(build, name="test stack")
    with pytest.raises(RuntimeError):
        background.result(10)
    assert not background.ready


async def test_a_quick_shutdown_cancels_the_pending_load() -> None:
    from asm_mock.http.app import LOAD_AFTER_START_S, create_app

    app = create_app(customers=5)
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def send(message: dict[str, str]) -> None:
        pass

    lifespan = asyncio.ensure_future(app({"type": "lifespan"}, inbox.get, send))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan, 10)
    await asyncio.sleep(LOAD_AFTER_START_S * 2)
    assert not app.version.connexion.started  # no import started while the process exits
