"""Hostile input against a live server: every answer is a documented status with SAP's error body,
promptly, and neither the server nor its state is hurt."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from asm_mock.testing import AsmMockServer
from tests.helpers import BASE, TOKEN_URL

# A hang fails the test through this timeout; it is not a performance assertion.
TIMEOUT = httpx.Timeout(5.0)
JSON = {"Content-Type": "application/json"}
SESSION_BODY = b'{"customerId": "james.weber@example.com", "baseSite": "electronics-spa"}'


@pytest.fixture(scope="module")
def server() -> Iterator[AsmMockServer]:
    with AsmMockServer("--customers", "20") as running:
        yield running


@pytest.fixture(scope="module")
def auth(server: AsmMockServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token()}"}


@pytest.fixture
def client(server: AsmMockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c:
        yield c


def occ_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    errors = response.json()["errors"]
    assert isinstance(errors, list) and errors and isinstance(errors[0]["type"], str)
    assert "Traceback" not in response.text
    error: dict[str, str] = errors[0]
    return error


@pytest.fixture(autouse=True)
def state_is_unchanged(client: httpx.Client, auth: dict[str, str]) -> Iterator[None]:
    """Each hostile request leaves the world and the agent's sessions as they were."""

    def snapshot() -> tuple[bytes, bytes]:
        search = client.get(
            f"{BASE}/customers/search",
            params={"query": "", "baseSite": "electronics-spa"},
            headers=auth,
        )
        view = client.get(
            f"{BASE}/customers/james.weber@example.com",
            params={"baseSite": "electronics-spa"},
            headers=auth,
        )
        return search.content, view.content

    before = snapshot()
    yield
    assert snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\x00",
        b"\xff\xfe\xfa",
        b"[]",
        b'"a string"',
        b"42",
        b"null",
        b"{" * 5000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"customerId": 1, "baseSite": []}',
    ],
    ids=[
        "text",
        "nul",
        "invalid-utf8",
        "array",
        "string",
        "number",
        "null",
        "unclosed",
        "deep",
        "types",
    ],
)
def test_bad_bodies_are_validation_errors(
    client: httpx.Client, auth: dict[str, str], body: bytes
) -> None:
    response = client.post(f"{BASE}/sessions", content=body, headers={**auth, **JSON})
    assert occ_error(response, 400)["type"] == "ValidationError"


def test_a_10_mb_body_is_refused_with_413(client: httpx.Client, auth: dict[str, str]) -> None:
    response = client.post(
        f"{BASE}/sessions", content=b"x" * (10 * 1024 * 1024), headers={**auth, **JSON}
    )
    assert occ_error(response, 413)["type"] == "PayloadTooLargeError"


def test_a_large_chunked_body_is_refused_with_413(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 65536

    response = client.post(f"{BASE}/sessions", content=chunks(), headers={**auth, **JSON})
    assert occ_error(response, 413)["type"] == "PayloadTooLargeError"


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "image/png"]
)
def test_wrong_or_missing_content_type_is_415(
    client: httpx.Client, auth: dict[str, str], content_type: str | None
) -> None:
    headers = dict(auth)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(f"{BASE}/sessions", content=SESSION_BODY, headers=headers)
    assert occ_error(response, 415)["type"] == "UnsupportedMediaTypeError"


def test_huge_and_repeated_and_unknown_query_parameters(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    huge = client.get(
        f"{BASE}/customers/search",
        params={"query": "a" * 6000, "baseSite": "electronics-spa"},
        headers=auth,
    )
    assert huge.status_code == 200 and huge.json()["entries"] == []
    repeated = client.get(
        f"{BASE}/customers/search?query=a&query=b&baseSite=electronics-spa&baseSite=x&pageSize=1&pageSize=2",
        headers=auth,
    )
    assert repeated.status_code in (200, 400)
    if repeated.status_code == 400:
        occ_error(repeated, 400)
    unknown = client.get(
        f"{BASE}/customers/search",
        params={"query": "a", "baseSite": "electronics-spa", "zzz": "1"},
        headers=auth,
    )
    assert unknown.status_code == 200
    big_int = client.get(
        f"{BASE}/customers/search",
        params={"query": "", "baseSite": "electronics-spa", "pageSize": "9" * 400},
        headers=auth,
    )
    assert occ_error(big_int, 400)["subject"] == "pageSize"


@pytest.mark.parametrize(
    "path",
    [
        "/sessions/..%2F..%2Fetc%2Fpasswd",
        "/sessions/%00",
        "/sessions/" + "a" * 8000,
        "/sessions/%ff%fe",
        "/agents/%2e%2e",
        "/customers/%00/carts?baseSite=electronics-spa",
        "/../../etc/passwd",
    ],
)
def test_odd_path_segments_are_not_found(
    client: httpx.Client, auth: dict[str, str], path: str
) -> None:
    response = client.get(BASE + path, headers=auth)
    assert occ_error(response, 404)["type"] == "NotFoundError"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "TRACE", "OPTIONS", "POST"])
def test_unknown_methods_are_405_with_the_documented_allow_header(
    client: httpx.Client, auth: dict[str, str], method: str
) -> None:
    response = client.request(method, f"{BASE}/sessions/abc", headers=auth)
    occ_error(response, 405)
    assert response.headers["allow"] == "DELETE, GET, HEAD"


def test_head_answers_like_get_without_a_body(client: httpx.Client, auth: dict[str, str]) -> None:
    response = client.head(f"{BASE}/agents/asagent", headers=auth)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Basic YXNhZ2VudDpwdzRhbGw=",
        "Bearer a b",
        "Bearer x, Bearer y",
        "Token abc",
        "B" * 9000,
    ],
)
def test_bad_authorization_headers_are_401(client: httpx.Client, header: str) -> None:
    response = client.get(f"{BASE}/agents/asagent", headers={"Authorization": header})
    error = occ_error(response, 401)
    assert error["type"] in {"UnauthorizedError", "InvalidTokenError"}
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_two_authorization_headers_are_refused(server: AsmMockServer, auth: dict[str, str]) -> None:
    token = auth["Authorization"]
    raw = (
        f"GET {BASE}/agents/asagent HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n"
        "Authorization: Bearer other\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"InvalidTokenError" in answer or b"UnauthorizedError" in answer


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"grant_type=password&username=%ff", "application/x-www-form-urlencoded"),
        (b"\x00\x01\x02", "application/x-www-form-urlencoded"),
        (b"grant_type=password&grant_type=client_credentials", "application/x-www-form-urlencoded"),
        (b'{"grant_type": "password"}', "application/json"),
        (b"a" * (70 * 1024), "application/x-www-form-urlencoded"),
    ],
)
def test_broken_token_requests_get_oauth_errors(
    client: httpx.Client, body: bytes, content_type: str
) -> None:
    response = client.post(TOKEN_URL, content=body, headers={"Content-Type": content_type})
    assert response.status_code in (400, 401, 413, 415)
    assert set(response.json()) == {"error", "error_description"}


def test_a_garbage_request_line_does_not_hurt_the_server(
    server: AsmMockServer, client: httpx.Client
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n")
        sock.recv(1024)
    assert client.get(f"{BASE}/openapi.json").status_code == 200


def test_a_chunked_json_body_is_read_like_any_other(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield SESSION_BODY[:10]
        yield SESSION_BODY[10:]

    response = client.post(f"{BASE}/sessions", content=chunks(), headers={**auth, **JSON})
    assert response.status_code == 201, response.text
    assert (
        client.delete(f"{BASE}/sessions/{response.json()['sessionId']}", headers=auth).status_code
        == 200
    )


def test_fault_reset_drops_the_connection_mid_answer(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{BASE}/agents/asagent", headers={**auth, "Prefer": "fault=reset"})
    assert client.get(f"{BASE}/agents/asagent", headers=auth).status_code == 200


def test_a_post_without_any_body_headers_is_a_post_without_a_body(server: AsmMockServer) -> None:
    """curl -X POST sends neither Content-Length nor Content-Type: no body, so no 415."""
    raw = b"POST /__admin/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
