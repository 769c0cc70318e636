"""The HTTP layer's plumbing: one header rule, one way to send an answer, one error tree."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from asm_mock.domain.errors import (
    ERROR_TYPES,
    ApiError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from asm_mock.http.errors import error_for_status
from asm_mock.http.headers import first_header, has_header, header_values
from asm_mock.http.send import editing_headers, send_answer, send_error, send_json

HEADERS = [
    (b"prefer", b"code=404"),
    (b"authorization", b"Bearer first"),
    (b"prefer", b"dynamic=true"),
    (b"authorization", b"Bearer second"),
]


def test_every_value_of_a_repeated_header_in_the_order_sent() -> None:
    assert header_values(HEADERS, b"prefer") == ["code=404", "dynamic=true"]
    assert header_values(HEADERS, b"cookie") == []


def test_a_repeated_header_reads_its_first_value_as_starlette_does() -> None:
    from starlette.datastructures import Headers

    assert first_header(HEADERS, b"authorization") == "Bearer first"
    assert first_header(HEADERS, b"authorization") == Headers(raw=HEADERS)["authorization"]
    assert first_header(HEADERS, b"cookie") is None


def test_values_are_latin_1_and_names_are_matched_as_asgi_lowercases_them() -> None:
    headers = [(b"x-name", "Jürgen".encode("latin-1"))]
    assert first_header(headers, b"x-name") == "Jürgen"
    assert has_header(headers, b"x-name") and not has_header(headers, b"X-Name")


class Channel:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)


@pytest.mark.anyio
async def test_an_error_is_sent_as_an_occ_body_with_its_challenge() -> None:
    channel = Channel()
    await send_error(channel, UnauthorizedError(), [(b"x-extra", b"1")], close=True)
    start, body = channel.messages
    assert start["type"] == "http.response.start" and start["status"] == 401
    assert start["headers"] == [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body["body"])).encode()),
        (b"www-authenticate", b'Bearer realm="assistedservicewebservices"'),
        (b"x-extra", b"1"),
        (b"connection", b"close"),
    ]
    assert orjson.loads(body["body"])["errors"][0]["type"] == "UnauthorizedError"
    assert "more_body" not in body


@pytest.mark.anyio
async def test_json_and_plain_answers() -> None:
    channel = Channel()
    await send_json(channel, 200, b"{}", content_type=b"application/json;charset=UTF-8")
    await send_answer(channel, 200, [(b"content-length", b"9")], b"{", more_body=True)
    assert channel.messages[0]["headers"][:2] == [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", b"2"),
    ]
    assert channel.messages[1] == {"type": "http.response.body", "body": b"{}"}
    assert channel.messages[3] == {"type": "http.response.body", "body": b"{", "more_body": True}


@pytest.mark.anyio
async def test_editing_headers_touches_the_start_of_an_answer_only() -> None:
    channel = Channel()
    sending = editing_headers(channel, lambda headers: [*headers, (b"x-added", b"yes")])
    await sending({"type": "http.response.start", "status": 204, "headers": [(b"a", b"1")]})
    await sending({"type": "http.response.body", "body": b""})
    assert channel.messages[0]["headers"] == [(b"a", b"1"), (b"x-added", b"yes")]
    assert channel.messages[1] == {"type": "http.response.body", "body": b""}


def test_one_map_from_a_status_to_sap_s_error_class() -> None:
    assert all(kind.status_code == status for status, kind in ERROR_TYPES.items())
    assert all(issubclass(kind, ApiError) for kind in ERROR_TYPES.values())
    assert ERROR_TYPES[503] is ServiceUnavailableError
    error, _ = error_for_status(405, "", {"Allow": "GET, POST"})
    assert error.error_type == "HttpRequestMethodNotSupportedError"
    assert error.message == "Request method is not supported; allowed: GET, POST"
    error, kept = error_for_status(418, "", {})
    assert (error.status_code, error.error_type, kept) == (400, "ValidationError", {})
    error, _ = error_for_status(502, "", {})
    assert (error.status_code, error.error_type) == (500, "InternalServerError")


def test_every_api_error_lives_in_the_one_tree() -> None:
    import importlib
    import pkgutil

    import asm_mock.http as http_package

    for module in pkgutil.iter_modules(http_package.__path__, "asm_mock.http."):
        if module.name.startswith("asm_mock.http.connexion_stack"):
            continue  # loading Connexion here would slow the suite for nothing it defines
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if isinstance(value, type) and issubclass(value, ApiError):
                assert value.__module__ == "asm_mock.domain.errors", value
