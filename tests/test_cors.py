"""CORS for browser frontends: preflights and actual requests, through the whole app and a live
server, and (when Chromium is installed) a real browser on another origin."""

from __future__ import annotations

import functools
import http.server
import random
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from asm_mock.http.app import AsmMockApp, create_app
from asm_mock.http.cors import with_vary
from asm_mock.settings import DEFAULT_CORS_ORIGINS, Settings
from asm_mock.testing import AsmMockServer, free_port
from tests.helpers import BASE, SMALL_WORLD, TOKEN_URL, password_token

pytestmark = pytest.mark.anyio

AGENT = f"{BASE}/agents/asagent"
EXPOSED = (
    "WWW-Authenticate, Location, Preference-Applied, Retry-After, "
    "X-Asm-Mock-Fault, X-Asm-Mock-Injected, X-Asm-Mock-Request-Id"
)


def preflight_headers(
    origin: str, method: str = "GET", headers: str = "authorization"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def assert_allowed_preflight(response: httpx.Response, origin: str) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == origin
    assert "Origin" in response.headers["vary"]
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "600"
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"}


def assert_refused_preflight(response: httpx.Response, origin: str) -> None:
    assert response.status_code == 403
    assert response.json() == {
        "errors": [
            {
                "type": "ForbiddenError",
                "message": f"Origin {origin} is not allowed by --cors-origins",
            }
        ]
    }
    assert "access-control-allow-origin" not in response.headers


async def client_for(**settings: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(customers=SMALL_WORLD, **settings))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9002") as c:
        yield c


@pytest.fixture
async def any_origin_client() -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(cors_origins=("*",)):
        yield c


@pytest.fixture
async def listed_client() -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(cors_origins=("https://app.example.com", "http://localhost:4200")):
        yield c


def random_port() -> int:
    return random.randint(1024, 65535)


# -- the default: browser frontends on this machine, any port -----------------------------


def test_default_origins_are_loopback_on_any_port() -> None:
    assert Settings().cors_origins == DEFAULT_CORS_ORIGINS
    assert DEFAULT_CORS_ORIGINS == ("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*")


@pytest.mark.parametrize(
    "origin",
    [
        f"http://localhost:{random_port()}",
        f"http://127.0.0.1:{random_port()}",
        f"http://[::1]:{random_port()}",
        "http://localhost",
        "http://LOCALHOST:4200",
    ],
)
async def test_default_allows_loopback_frontends(client: httpx.AsyncClient, origin: str) -> None:
    response = await client.options(AGENT, headers=preflight_headers(origin))
    assert_allowed_preflight(response, origin)
    assert response.headers["access-control-allow-headers"] == "authorization"


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://localhost:3000",  # another scheme is another origin
        "http://localhost.evil.example:3000",
        "http://127.0.0.1.evil.example",
        "http://localhost:3000.evil.example",
        "null",
    ],
)
async def test_default_refuses_other_origins_with_an_occ_error(
    client: httpx.AsyncClient, origin: str
) -> None:
    response = await client.options(AGENT, headers=preflight_headers(origin))
    assert_refused_preflight(response, origin)


async def test_a_refused_preflight_is_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="asm_mock.cors"):
        await client.options(AGENT, headers=preflight_headers("http://evil.example"))
    assert "origin http://evil.example" in caplog.text and "--cors-origins" in caplog.text


# -- preflights ----------------------------------------------------------------------------


async def test_requested_headers_are_echoed_when_allowed_and_omitted_otherwise(
    client: httpx.AsyncClient,
) -> None:
    origin = "http://localhost:5173"
    asked = "accept, accept-language, authorization, content-type, prefer, x-request-id, cookie2"
    response = await client.options(
        f"{BASE}/sessions", headers=preflight_headers(origin, "POST", asked)
    )
    assert_allowed_preflight(response, origin)
    allowed = response.headers["access-control-allow-headers"]
    assert allowed == "accept, accept-language, authorization, content-type, prefer, x-request-id"

    only_refused = await client.options(
        f"{BASE}/sessions", headers=preflight_headers(origin, "POST", "cookie2, dnt")
    )
    assert_allowed_preflight(only_refused, origin)
    assert "access-control-allow-headers" not in only_refused.headers


async def test_the_token_endpoint_answers_preflights(client: httpx.AsyncClient) -> None:
    origin = "http://localhost:4200"
    response = await client.options(
        TOKEN_URL, headers=preflight_headers(origin, "POST", "authorization, content-type")
    )
    assert_allowed_preflight(response, origin)
    assert response.headers["access-control-allow-headers"] == "authorization, content-type"

    token = await client.post(
        TOKEN_URL,
        headers={"Origin": origin},
        data={
            "grant_type": "password",
            "client_id": "mobile_android",
            "client_secret": "secret",
            "username": "asagent",
            "password": "pw4all",
        },
    )
    assert token.status_code == 200
    assert token.headers["access-control-allow-origin"] == origin
    assert token.headers["access-control-allow-credentials"] == "true"


async def test_admin_and_swagger_ui_get_cors_too(client: httpx.AsyncClient) -> None:
    origin = "http://127.0.0.1:8080"
    preflight = await client.options("/__admin/health", headers=preflight_headers(origin))
    assert_allowed_preflight(preflight, origin)
    for path in ("/__admin/health", f"{BASE}/openapi.json", f"{BASE}/ui/"):
        response = await client.get(path, headers={"Origin": origin})
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] == origin, path


async def test_private_network_access_is_granted_to_allowed_origins(
    any_origin_client: httpx.AsyncClient,
) -> None:
    headers = {
        **preflight_headers("https://staging.example.com"),
        "Access-Control-Request-Private-Network": "true",
    }
    response = await any_origin_client.options(AGENT, headers=headers)
    assert response.headers["access-control-allow-private-network"] == "true"


async def test_options_without_request_method_is_not_a_preflight(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(AGENT, headers={"Origin": "http://evil.example"})
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert "access-control-allow-origin" not in response.headers


# -- actual requests -----------------------------------------------------------------------


async def test_actual_requests_expose_what_clients_need(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    origin = "http://localhost:4200"
    response = await client.get(AGENT, headers={**agent, "Origin": origin})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in response.headers["vary"]
    assert response.headers["access-control-expose-headers"] == EXPOSED

    challenged = await client.get(AGENT, headers={"Origin": origin})
    assert challenged.status_code == 401
    assert challenged.headers["access-control-allow-origin"] == origin
    assert "WWW-Authenticate" in challenged.headers["access-control-expose-headers"]
    assert challenged.headers["www-authenticate"].startswith("Bearer")


async def test_credentials_cookies_work_and_the_origin_is_echoed_never_star(
    any_origin_client: httpx.AsyncClient,
) -> None:
    origin = "https://frontend.example.org"
    token = await password_token(any_origin_client)
    response = await any_origin_client.get(
        AGENT,
        headers={
            "Origin": origin,
            "Authorization": f"Bearer {token}",
            "Cookie": "asm-mock-prefer=code%3D404",
        },
    )
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["preference-applied"] == "code=404"


async def test_requests_from_refused_origins_pass_without_cors_headers(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(AGENT, headers={**agent, "Origin": "http://evil.example"})
    assert response.status_code == 200  # the browser, not the mock, withholds it from the page
    assert not any(k.startswith("access-control-") for k in response.headers)


async def test_requests_without_origin_are_untouched(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    response = await client.get(AGENT, headers=agent)
    assert not any(k.startswith("access-control-") for k in response.headers)
    assert "vary" not in response.headers


# -- --cors-origins ------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://anything.example", "http://localhost:1", "null"])
async def test_star_allows_every_origin(any_origin_client: httpx.AsyncClient, origin: str) -> None:
    response = await any_origin_client.options(AGENT, headers=preflight_headers(origin))
    assert_allowed_preflight(response, origin)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", True),
        ("https://APP.example.com", True),
        ("http://app.example.com", False),
        ("https://app.example.com:8443", False),
        ("http://localhost:4200", True),
        ("http://localhost:4201", False),
        ("http://127.0.0.1:4200", False),  # the defaults are replaced, not extended
    ],
)
async def test_an_explicit_list_allows_exactly_those(
    listed_client: httpx.AsyncClient, origin: str, allowed: bool
) -> None:
    response = await listed_client.options(AGENT, headers=preflight_headers(origin))
    if allowed:
        assert_allowed_preflight(response, origin)
    else:
        assert_refused_preflight(response, origin)


async def test_no_origins_refuses_every_preflight() -> None:
    async for c in client_for(cors_origins=()):
        origin = "http://localhost:3000"
        assert_refused_preflight(await c.options(AGENT, headers=preflight_headers(origin)), origin)


def test_vary_is_merged_with_the_answers_own() -> None:
    assert with_vary([], b"Origin") == [(b"vary", b"Origin")]
    merged = with_vary([(b"Vary", b"Accept-Encoding"), (b"x", b"1")], b"Origin")
    assert merged == [(b"x", b"1"), (b"vary", b"Accept-Encoding, Origin")]
    assert with_vary([(b"vary", b"origin")], b"Origin") == [(b"vary", b"origin")]


def test_the_app_is_wrapped_outermost(app: AsmMockApp) -> None:
    from asm_mock.http.cors import CorsMiddleware

    assert isinstance(app._app, CorsMiddleware)


# -- a real server, raw HTTP ---------------------------------------------------------------


def test_preflights_and_exposed_headers_on_a_live_server() -> None:
    origin = f"http://localhost:{random_port()}"
    with AsmMockServer("--customers", "20") as server, httpx.Client(base_url=server.url) as http:
        allowed = http.options(TOKEN_URL, headers=preflight_headers(origin, "POST", "content-type"))
        assert_allowed_preflight(allowed, origin)
        assert allowed.headers["access-control-allow-headers"] == "content-type"

        refused = http.options(AGENT, headers=preflight_headers("http://evil.example"))
        assert_refused_preflight(refused, "http://evil.example")

        response = http.get(
            AGENT,
            headers={
                "Origin": origin,
                "Authorization": f"Bearer {server.token()}",
                "Prefer": "code=404",
            },
        )
        assert response.status_code == 404
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-expose-headers"] == EXPOSED
        assert response.headers["preference-applied"] == "code=404"


# -- a real browser on another origin ------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

FRONTEND = """<!doctype html><html><body><pre id="out">running</pre><script>
(async () => {
  const mock = new URLSearchParams(location.search).get("mock"), out = [];
  try {
    const form = "grant_type=password&client_id=mobile_android&client_secret=secret"
      + "&username=asagent&password=pw4all";
    const t = await fetch(mock + "/authorizationserver/oauth/token", {method: "POST",
      credentials: "include", body: form,
      headers: {"Content-Type": "application/x-www-form-urlencoded"}});
    const token = (await t.json()).access_token;
    out.push("token " + t.status);
    const r = await fetch(mock + "/assistedservicewebservices/agents/asagent", {
      credentials: "include",
      headers: {"Authorization": "Bearer " + token, "Prefer": "code=404", "X-Trace": "1"}});
    out.push("agent " + r.status + " " + r.headers.get("Preference-Applied"));
  } catch (e) { out.push("blocked " + e.name); }
  document.getElementById("out").textContent = out.join(" | ");
})();
</script></body></html>"""


@pytest.fixture
def frontend(tmp_path: Path) -> Iterator[int]:
    """A static page on another origin (http://localhost:PORT), like a storefront's dev server."""
    (tmp_path / "index.html").write_text(FRONTEND)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def browser_result(page: str) -> str:
    assert CHROMIUM is not None
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]
        + ["--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    ).stdout
    return dom.split('<pre id="out">', 1)[1].split("</pre>", 1)[0]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), "token 200 | agent 404 code=404"),
        (("--cors-origins", "https://app.example.com"), "blocked TypeError"),
    ],
)
def test_a_browser_frontend_on_another_origin(
    frontend: int, options: tuple[str, ...], expected: str
) -> None:
    with AsmMockServer("--customers", "20", *options) as server:
        assert browser_result(f"http://localhost:{frontend}/index.html?mock={server.url}") == (
            expected
        )
