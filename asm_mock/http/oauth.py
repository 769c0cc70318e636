"""SAP's token endpoint, `POST /authorizationserver/oauth/token` (form-encoded, RFC 6749).

It lives outside the contract's base path, so it is a small ASGI app of its own rather than a
Connexion operation. Errors use OAuth2's flat form, as SAP's Spring-based server answers them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

import orjson
from starlette.types import Receive, Scope, Send

from asm_mock.domain.errors import OAuthError, PayloadTooLargeError
from asm_mock.domain.tokens import TokenService
from asm_mock.http.limits import read_within

__all__ = ["MAX_FORM_BYTES", "TOKEN_PATH", "TokenEndpoint"]

TOKEN_PATH = "/authorizationserver/oauth/token"
MAX_FORM_BYTES = 64 * 1024
_FORM_TYPE = "application/x-www-form-urlencoded"


def _parse_form(raw: bytes, what: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=50
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", f"Malformed {what}: {exc}") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError("invalid_request", f"Parameter {key} is repeated")
        if "\x00" in key or "\x00" in value:
            raise OAuthError("invalid_request", f"Parameter {key} contains a NUL character")
        form[key] = value
    return form


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if authorization is None:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, secret = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_client", "Malformed Basic client credentials", 401) from None
    if not sep:
        raise OAuthError("invalid_client", "Malformed Basic client credentials", 401)
    return client_id, secret


class TokenEndpoint:
    def __init__(self, tokens: Callable[[], TokenService]) -> None:
        self._tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            if scope["method"] != "POST":
                await _answer(
                    send,
                    405,
                    {
                        "error": "method_not_allowed",
                        "error_description": f"Request method '{scope['method']}' not supported",
                    },
                    {"allow": "POST"},
                )
                return
            try:
                raw = await read_within(receive, MAX_FORM_BYTES)
            except PayloadTooLargeError:
                await _answer(
                    send,
                    413,
                    {"error": "invalid_request", "error_description": "Request body too large"},
                )
                return
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if raw and media_type != _FORM_TYPE:
                await _answer(
                    send,
                    415,
                    {
                        "error": "invalid_request",
                        "error_description": f"Content-Type must be {_FORM_TYPE}",
                    },
                )
                return
            form = _parse_form(scope.get("query_string", b""), "query string")
            for key, value in _parse_form(raw, "form body").items():
                if key in form:
                    raise OAuthError("invalid_request", f"Parameter {key} is repeated")
                form[key] = value
            grant = self._tokens().grant(form, _basic_credentials(headers.get("authorization")))
        except OAuthError as error:
            extra = (
                {"www-authenticate": 'Basic realm="oauth2/client"'}
                if error.status_code == 401
                else {}
            )
            await _answer(send, error.status_code, error.to_dict(), extra)
            return
        await _answer(send, 200, grant.to_dict())


async def _answer(
    send: Send, status: int, body: Mapping[str, object], headers: dict[str, str] | None = None
) -> None:
    payload = orjson.dumps(body)
    raw_headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
        (b"pragma", b"no-cache"),
        *((k.encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
