"""OAuth2 as SAP does it: the token endpoint's grants and errors, and tokens on API calls."""

from __future__ import annotations

import base64

import httpx
import pytest

from asm_mock.http.app import create_app
from asm_mock.settings import AuthMode, Settings
from tests.helpers import BASE, TOKEN_URL, assert_occ_error, password_token

pytestmark = pytest.mark.anyio


async def token(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    return await client.post(TOKEN_URL, data=form)


async def test_password_grant_answers_like_spring_oauth(client: httpx.AsyncClient) -> None:
    response = await token(
        client,
        grant_type="password",
        client_id="mobile_android",
        client_secret="secret",
        username="asagent",
        password="pw4all",
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["scope"] == "basic assistedservicegroup"
    assert 43_000 < body["expires_in"] <= 43_200
    assert response.headers["cache-control"] == "no-store"


async def test_client_credentials_grant_of_the_asm_client_acts_as_asagent(
    client: httpx.AsyncClient,
) -> None:
    response = await token(
        client, grant_type="client_credentials", client_id="asm", client_secret="secret"
    )
    body = response.json()
    assert "refresh_token" not in body
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    session = await client.post(
        f"{BASE}/sessions",
        json={"customerId": "james.weber@example.com", "baseSite": "electronics-spa"},
        headers=headers,
    )
    assert session.json()["agentId"] == "asagent"


async def test_client_credentials_via_http_basic(client: httpx.AsyncClient) -> None:
    basic = base64.b64encode(b"mobile_android:secret").decode()
    response = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "basic"


async def test_refresh_token_grant_issues_a_new_access_token(client: httpx.AsyncClient) -> None:
    first = (
        await token(
            client,
            grant_type="password",
            client_id="mobile_android",
            client_secret="secret",
            username="asagent",
            password="pw4all",
        )
    ).json()
    refreshed = await token(
        client,
        grant_type="refresh_token",
        client_id="mobile_android",
        client_secret="secret",
        refresh_token=first["refresh_token"],
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != first["access_token"]
    old = await client.get(
        f"{BASE}/agents/asagent", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert_occ_error(old, 401, "InvalidTokenError")
    new = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await client.get(f"{BASE}/agents/asagent", headers=new)).status_code == 200


async def test_a_valid_token_is_handed_out_again_like_spring_does(
    client: httpx.AsyncClient,
) -> None:
    assert await password_token(client) == await password_token(client)


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_id": "mobile_android", "client_secret": "secret"}, 400, "invalid_request"),
        (
            {"grant_type": "implicit", "client_id": "mobile_android", "client_secret": "secret"},
            400,
            "unsupported_grant_type",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "mobile_android",
                "client_secret": "wrong",
            },
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "secret"},
            401,
            "invalid_client",
        ),
        (
            {
                "grant_type": "password",
                "client_id": "mobile_android",
                "client_secret": "secret",
                "username": "asagent",
                "password": "wrong",
            },
            400,
            "invalid_grant",
        ),
        (
            {"grant_type": "password", "client_id": "mobile_android", "client_secret": "secret"},
            400,
            "invalid_request",
        ),
        (
            {
                "grant_type": "refresh_token",
                "client_id": "mobile_android",
                "client_secret": "secret",
                "refresh_token": "nope",
            },
            400,
            "invalid_grant",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "mobile_android",
                "client_secret": "secret",
                "scope": "admin",
            },
            400,
            "invalid_scope",
        ),
    ],
)
async def test_token_errors_use_oauth2s_flat_form(
    client: httpx.AsyncClient, form: dict[str, str], status: int, error: str
) -> None:
    response = await token(client, **form)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]


async def test_token_endpoint_rejects_get_with_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.get(TOKEN_URL)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_token_endpoint_rejects_json_and_garbage(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, json={"grant_type": "password"})
    assert response.status_code == 415
    garbage = await client.post(
        TOKEN_URL,
        content=b"\xff\xfe\x00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code == 400
    assert garbage.json()["error"] == "invalid_request"


async def test_no_token_is_unauthorized_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/agents/asagent")
    error = assert_occ_error(response, 401, "UnauthorizedError")
    assert error["message"] == "Full authentication is required to access this resource"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer 0000", "Bearer", "Basic YXNhZ2VudDpwdzRhbGw=", "Bearer a b"]
)
async def test_unknown_or_malformed_token_is_rejected(
    client: httpx.AsyncClient, header: str
) -> None:
    response = await client.get(f"{BASE}/agents/asagent", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["errors"][0]["type"] in {"InvalidTokenError", "UnauthorizedError"}
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_invalid_token_message_names_the_token(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/agents/asagent", headers={"Authorization": "Bearer 0000"})
    error = assert_occ_error(response, 401, "InvalidTokenError")
    assert error["message"] == "Invalid access token: 0000"


async def test_a_customer_token_is_forbidden_on_asm_operations(client: httpx.AsyncClient) -> None:
    customer = await password_token(client, "keenreviewer1@hybris.com")
    response = await client.get(
        f"{BASE}/agents/asagent", headers={"Authorization": f"Bearer {customer}"}
    )
    error = assert_occ_error(response, 403, "ForbiddenError")
    assert error["message"] == "Access is denied"


async def test_client_credentials_without_an_agent_are_forbidden(client: httpx.AsyncClient) -> None:
    body = (
        await token(
            client,
            grant_type="client_credentials",
            client_id="mobile_android",
            client_secret="secret",
        )
    ).json()
    response = await client.get(
        f"{BASE}/agents/asagent", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert_occ_error(response, 403, "ForbiddenError")


async def test_permissive_mode_accepts_any_bearer_token_as_asagent() -> None:
    app = create_app(Settings(customers=5, auth=AuthMode.PERMISSIVE))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        headers = {"Authorization": "Bearer anything-at-all"}
        session = await client.post(
            f"{BASE}/sessions",
            json={"customerId": "james.weber@example.com", "baseSite": "electronics-spa"},
            headers=headers,
        )
        assert session.status_code == 201
        assert session.json()["agentId"] == "asagent"
        assert_occ_error(await client.get(f"{BASE}/agents/asagent"), 401, "UnauthorizedError")
