"""Swagger UI at /assistedservicewebservices/ui/: Swagger UI 5 (the contract is OpenAPI 3.1),
"Authorize" with the password flow against the mock's own token endpoint, as the UI sends it."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from urllib.parse import quote, urljoin

import httpx
import pytest

from asm_mock.testing import AsmMockServer
from tests.helpers import BASE, TOKEN_URL

pytestmark = pytest.mark.anyio

ORIGIN = "http://127.0.0.1:9002"  # the in-process client's base URL: the page's own origin
UI = f"{BASE}/ui/"

# What Swagger UI 5's authorizeRequest sends with every token request (besides the body).
SWAGGER_UI_HEADERS = {
    "Accept": "application/json, text/plain, */*",
    "Content-Type": "application/x-www-form-urlencoded",
    "X-Requested-With": "XMLHttpRequest",
}


def init_oauth(page: str) -> dict[str, str]:
    match = re.search(r"ui\.initOAuth\(\s*(\{.*?\})\s*\)", page, re.DOTALL)
    assert match, page
    parsed: dict[str, str] = json.loads(match.group(1))
    return parsed


async def test_the_ui_page_loads_swagger_ui_5_pointed_at_the_spec(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(UI)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'url: "{BASE}/openapi.json"' in page.text
    assert '<script src="./swagger-ui-bundle.js"' in page.text

    bundle = await client.get(urljoin(ORIGIN + UI, "./swagger-ui-bundle.js"))
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    # Swagger UI 4 answers a 3.1 document with "Unable to render this definition"
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle.text)
    assert version is not None and int(version.group(1)) >= 5
    for asset in ("swagger-ui.css", "favicon-32x32.png", "oauth2-redirect.html"):
        assert (await client.get(UI + asset)).status_code == 200, asset

    redirect = await client.get(BASE + "/ui")
    assert redirect.status_code in (302, 307)
    assert redirect.headers["location"].endswith(UI)


async def test_authorize_is_prefilled_with_the_labelled_demo_client(
    client: httpx.AsyncClient,
) -> None:
    oauth = init_oauth((await client.get(UI)).text)
    assert (oauth["clientId"], oauth["clientSecret"]) == ("mobile_android", "secret")
    assert "demo" in oauth["appName"].lower()


async def test_the_admin_ui_is_swagger_ui_5_without_an_oauth_client(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/__admin/ui/")
    assert page.status_code == 200
    assert 'url: "/__admin/openapi.json"' in page.text
    assert "initOAuth" not in page.text


async def token_url_as_swagger_ui_resolves_it(client: httpx.AsyncClient) -> str:
    """Swagger UI resolves tokenUrl against the selected server URL, then the page's URL."""
    spec = (await client.get(f"{BASE}/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    password = spec["components"]["securitySchemes"]["oauth2"]["flows"]["password"]
    server = urljoin(ORIGIN + UI, spec["servers"][0]["url"])
    assert urljoin(server, password["refreshUrl"]) == ORIGIN + TOKEN_URL
    return urljoin(server, password["tokenUrl"])


async def test_the_password_flow_token_url_is_the_mocks_own(client: httpx.AsyncClient) -> None:
    assert await token_url_as_swagger_ui_resolves_it(client) == ORIGIN + TOKEN_URL


async def test_authorize_with_client_credentials_in_the_authorization_header(
    client: httpx.AsyncClient,
) -> None:
    """Swagger UI's default "Client credentials location": Authorization header (Basic)."""
    token_url = await token_url_as_swagger_ui_resolves_it(client)
    basic = base64.b64encode(b"mobile_android:secret").decode()
    response = await client.post(
        token_url,
        headers={
            **SWAGGER_UI_HEADERS,
            "Authorization": f"Basic {basic}",
            "Origin": ORIGIN,  # Chromium sends Origin on a same-origin POST too
            "Referer": ORIGIN + UI,
        },
        content="grant_type=password&username=asagent&password=pw4all",  # no scope ticked
    )
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["token_type"] == "bearer"
    assert grant["scope"] == "basic assistedservicegroup"

    tried = await client.get(
        f"{BASE}/agents/asagent",
        headers={"Authorization": f"Bearer {grant['access_token']}", "Referer": ORIGIN + UI},
    )
    assert tried.status_code == 200
    assert tried.json()["uid"] == "asagent"


async def test_authorize_with_client_credentials_in_the_request_body(
    client: httpx.AsyncClient,
) -> None:
    """ "Client credentials location: Request body", with both scopes ticked."""
    token_url = await token_url_as_swagger_ui_resolves_it(client)
    form = {
        "grant_type": "password",
        "scope": "basic assistedservicegroup",
        "username": "asagent",
        "password": "pw4all",
        "client_id": "mobile_android",
        "client_secret": "secret",
    }
    # Swagger UI's buildFormData: encodeURIComponent, so a space is %20
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in form.items())
    response = await client.post(token_url, headers=SWAGGER_UI_HEADERS, content=body)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "basic assistedservicegroup"


async def test_the_ui_on_another_host_name_needs_no_cors(client: httpx.AsyncClient) -> None:
    """Served from the mock itself, the UI is same-origin wherever the mock runs (e.g. bound
    to 0.0.0.0 and opened by its LAN address): no preflight, and the Origin its browser still
    sends on a POST is no reason to refuse."""
    lan = "http://192.0.2.10:9002"
    basic = base64.b64encode(b"mobile_android:secret").decode()
    response = await client.post(
        TOKEN_URL,
        headers={**SWAGGER_UI_HEADERS, "Authorization": f"Basic {basic}", "Origin": lan},
        content="grant_type=password&username=asagent&password=pw4all",
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_a_browser_renders_the_contract() -> None:
    assert CHROMIUM is not None
    with AsmMockServer("--customers", "5") as server:
        dom = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu"]
            + ["--virtual-time-budget=10000", "--dump-dom", server.url + UI],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        ).stdout
    assert "Unable to render this definition" not in dom
    assert "OAS 3.1" in dom
    assert "/customers/search" in dom and "Authorize" in dom
