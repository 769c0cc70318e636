"""`asm-mock serve --store redis://...` as a user runs it: the full session flow in Redis, Redis
stopped under the live server (503 OCC bodies within the timeout, health DEGRADED) and back
(full service, no restart of asm-mock), the password nowhere, and the CLI's refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import redis
from click.testing import CliRunner

from asm_mock.cli import command
from asm_mock.settings import Settings
from asm_mock.testing import AsmMockServer, RedisServer, free_port
from tests.helpers import BASE, SMALL_WORLD, TOKEN_URL, assert_occ_error

PASSWORD = "Sup3r-secret-pw"
CUSTOMER = "james.weber@example.com"
SITE = "electronics-spa"
LOGIN = {
    "grant_type": "password",
    "client_id": "mobile_android",
    "client_secret": "secret",
    "username": "asagent",
    "password": "pw4all",
}


@pytest.fixture
def redis_with_password(redis_server: RedisServer) -> Iterator[RedisServer]:
    """This test's own redis-server (stopped and restarted by it), with a password."""
    with RedisServer(password=PASSWORD) as server:
        yield server


@pytest.fixture
def mock(redis_with_password: RedisServer) -> Iterator[AsmMockServer]:
    options = ("--store", redis_with_password.url, "--store-timeout", "0.5")
    with AsmMockServer(*options, settings=Settings(customers=SMALL_WORLD)) as server:
        yield server


def login(http: httpx.Client) -> dict[str, str]:
    answer = http.post(TOKEN_URL, data=LOGIN)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def start_session(http: httpx.Client, auth: dict[str, str]) -> httpx.Response:
    body = {"customerId": CUSTOMER, "baseSite": SITE}
    return http.post(BASE + "/sessions", json=body, headers=auth)


def test_the_session_flow_lives_in_redis_and_survives_an_outage(
    mock: AsmMockServer, redis_with_password: RedisServer
) -> None:
    with httpx.Client(base_url=mock.base_url, timeout=10, trust_env=False) as http:
        auth = login(http)
        started = start_session(http, auth)
        assert started.status_code == 201, started.text
        session_id = started.json()["sessionId"]
        with redis.Redis.from_url(redis_with_password.url) as raw:
            assert raw.exists(f"asm:default:s:{session_id}")
        assert http.get(f"{BASE}/sessions/{session_id}", headers=auth).status_code == 200
        health = http.get("/__admin/health").json()
        assert health["status"] == "UP"
        assert health["store"]["status"] == "UP"
        assert health["sessions"] == 1

        redis_with_password.stop()
        # every kind of request that needs the store: the fast lane, Connexion's (a HEAD and
        # a request the lane cannot prove valid go there), the token endpoint, the admin API
        for answer in (
            http.get(f"{BASE}/sessions/{session_id}", headers=auth),
            http.get(f"{BASE}/customers/search?baseSite={SITE}&pageSize=abc", headers=auth),
            http.head(f"{BASE}/sessions/{session_id}", headers=auth),
            start_session(http, auth),
            http.get(f"{BASE}/customers/{CUSTOMER}?baseSite={SITE}", headers=auth),
        ):
            if answer.request.method == "HEAD":
                assert answer.status_code == 503
                continue
            error = assert_occ_error(answer, 503, "ServiceUnavailableError")
            assert "redis://***@127.0.0.1:" in error["message"]
        token = http.post(TOKEN_URL, data=LOGIN)
        assert token.status_code == 503
        assert token.json()["error"] == "temporarily_unavailable"
        reset = http.post("/__admin/reset")
        assert_occ_error(reset, 503, "ServiceUnavailableError")
        down = http.get("/__admin/health")
        assert down.status_code == 200
        assert down.json()["status"] == "DEGRADED"
        assert down.json()["store"]["status"] == "DOWN"
        assert "sessions" not in down.json()
        outage = http.get("/__admin/requests?status=503").json()

        redis_with_password.start()  # back, empty: log in again, and everything works
        auth = login(http)
        again = start_session(http, auth)
        assert again.status_code == 201, again.text
        ended = http.delete(f"{BASE}/sessions/{again.json()['sessionId']}", headers=auth)
        assert ended.status_code == 200, ended.text
        assert http.get("/__admin/health").json()["status"] == "UP"

        with redis.Redis.from_url(redis_with_password.url) as raw:  # slow: paused 5 s
            raw.client_pause(5_000, all=True)
            try:
                slow = http.get(f"{BASE}/sessions/{again.json()['sessionId']}", headers=auth)
                slow_health = http.get("/__admin/health").json()
            finally:
                raw.client_unpause()
        error = assert_occ_error(slow, 503, "ServiceUnavailableError")
        assert "did not answer within 0.5 s" in error["message"]
        assert slow_health["store"]["status"] == "DOWN"
        assert http.get(f"{BASE}/agents/asagent", headers=auth).status_code == 200
        admin_answers = [
            http.get(path).text
            for path in ("/__admin/health", "/__admin/settings", "/__admin/requests")
        ]
    assert outage["requests"]
    everything = [
        mock.stdout_text(),
        mock.stderr_text(),
        json.dumps(outage),
        down.text,
        token.text,
        reset.text,
        *admin_answers,
    ]
    assert all(PASSWORD not in text for text in everything)
    assert "redis://***@127.0.0.1:" in mock.stdout_text()  # the start-up line names the store


def test_serve_refuses_a_redis_that_does_not_answer_in_one_line() -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    result = CliRunner().invoke(command, ["serve", "--port", str(free_port()), "--store", url])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("asm-mock: error: option --store: ")
    assert "redis://***@127.0.0.1:" in lines[0]
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"redis://:{PASSWORD}@host:port/0", "the port is not a number"),
        (f"http://:{PASSWORD}@host/0", "is not a store"),
        (f"redis://:{PASSWORD}@host/zero", "database number"),
        (f"redis://:{PASSWORD}@host/0?timeout=1", "no query"),
    ],
)
def test_a_bad_store_url_is_refused_in_one_line_without_its_password(
    value: str, problem: str
) -> None:
    result = CliRunner().invoke(command, ["serve", "--store", value])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert problem in result.output
    assert PASSWORD not in result.output
    assert "***@" in result.output


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "601"])
def test_a_bad_store_timeout_is_refused(value: str) -> None:
    result = CliRunner(env={"ASM_MOCK_STORE_TIMEOUT": value}).invoke(command, ["serve"])
    assert result.exit_code == 2
    assert result.output.startswith("asm-mock: error: ASM_MOCK_STORE_TIMEOUT")


def test_the_settings_keep_the_password_and_never_show_it() -> None:
    from asm_mock.cli import parse_settings

    url = f"rediss://ci:{PASSWORD}@redis.example.com:6380/3"
    _, settings = parse_settings(["serve", "--store", url, "--store-timeout", "0.25"])
    assert settings.store.password == PASSWORD
    assert (settings.store.host, settings.store.port, settings.store.db) == (
        "redis.example.com",
        6380,
        3,
    )
    assert settings.store.tls
    assert settings.store_timeout == 0.25
    assert str(settings.store) == "rediss://ci:***@redis.example.com:6380/3"
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in f"{settings.store!s} {settings.store!r}"


@pytest.mark.anyio
async def test_an_app_with_a_redis_store_keeps_its_state_there(redis_url: str) -> None:
    """In-process, with a start-up scenario (applied on a loop of its own before serving)."""
    from asm_mock.http.app import create_app
    from asm_mock.shared.url import parse_store_url

    settings = Settings(
        customers=SMALL_WORLD, store=parse_store_url(redis_url), scenarios=("vip-customer",)
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
            token = (await http.post(TOKEN_URL, data=LOGIN)).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            body = {"customerId": CUSTOMER, "baseSite": SITE}
            started = await http.post(BASE + "/sessions", json=body, headers=auth)
            assert started.status_code == 201, started.text
            health = (await http.get("/__admin/health")).json()
            # a named tenant: a namespace of its own, whose tokens the default tenant refuses
            login = await http.post("/t/ci-1" + TOKEN_URL, data=LOGIN)
            tenant_token = login.json()["access_token"]
            tenant_auth = {"Authorization": f"Bearer {tenant_token}"}
            agent = await http.get("/t/ci-1" + BASE + "/agents/asagent", headers=tenant_auth)
            elsewhere = await http.get(BASE + "/agents/asagent", headers=tenant_auth)
        assert health["store"] == {"kind": "redis", "url": redis_url, "status": "UP"}
        assert health["sessions"] == 1
        assert agent.status_code == 200
        assert_occ_error(elsewhere, 401, "InvalidTokenError")
        with redis.Redis.from_url(redis_url) as raw:
            assert raw.exists(f"asm:default:t:{token}")
            assert raw.exists(f"asm:default:s:{started.json()['sessionId']}")
            assert raw.exists(f"asm:tenant:ci-1:t:{tenant_token}")
            assert not raw.exists(f"asm:default:t:{tenant_token}")
    finally:
        assert app.store_connection is not None
        await app.store_connection.aclose()
