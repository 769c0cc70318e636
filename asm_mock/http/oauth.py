"""SAP's token endpoint, `POST /authorizationserver/oauth/token` (form-encoded, RFC 6749).

It lives outside the contract's base path, so it is a small ASGI app of its own rather than a
Connexion operation. Errors use OAuth2's flat form, as SAP's Spring-based server answers them;
a store outage too (503, `temporarily_unavailable`, RFC 6749's code for a server that cannot
answer now), since OAuth clients read `error`, not an OCC body.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

import orjson
from starlette.types import Receive, Scope, Send

from asm_mock.domain.errors import OAuthError, PayloadTooLargeError, ServiceUnavailableError
from asm_mock.domain.tokens import TokenService
from asm_mock.http.headers import first_header
from asm_mock.http.limits import read_within
from asm_mock.http.send import send_json

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
        headers = scope["headers"]
        try:
            if scope["method"] != "POST":
                await _answer(
                    send,
                    405,
                    {
                        "error": "method_not_allowed",
                        "error_description": f"Request method '{scope['method']}' not supported",
                    },
                    ((b"allow", b"POST"),),
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
            content_type = first_header(headers, b"content-type") or ""
            media_type = content_type.split(";")[0].strip().lower()
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
            credentials = _basic_credentials(first_header(headers, b"authorization"))
            grant = await self._tokens().grant(form, credentials)
        except OAuthError as error:
            extra = (
                ((b"www-authenticate", b'Basic realm="oauth2/client"'),)
                if error.status_code == 401
                else ()
            )
            await _answer(send, error.status_code, error.to_dict(), extra)
            return
        except ServiceUnavailableError as error:  # the shared store is away: nothing was issued
            unavailable = OAuthError("temporarily_unavailable", error.message, 503)
            await _answer(send, 503, unavailable.to_dict())
            return
        await _answer(send, 200, grant.to_dict())


_OAUTH_JSON = b"application/json;charset=UTF-8"
_NOT_CACHED = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))  # RFC 6749, 5.1


async def _answer(
    send: Send,
    status: int,
    body: Mapping[str, object],
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    payload = orjson.dumps(body)
    await send_json(send, status, payload, (*_NOT_CACHED, *headers), content_type=_OAUTH_JSON)
