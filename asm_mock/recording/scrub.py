"""Secrets kept out of a recording: credentials a request carried and tokens an answer issued.

Whatever the recording writes (a body, a header value, a parameter) passes through `Secrets`:
a field named like a secret is replaced whole, and every secret value the exchange carried is
cut out of any text it reappears in (an error message that echoes the bearer token, say).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson

from asm_mock.domain.conformance import SECRET_NAMES
from asm_mock.proxy.exchange import Exchange

__all__ = ["SCRUBBED", "SECRET_FIELDS", "SECRET_HEADERS", "Secrets"]

SCRUBBED = "[scrubbed]"  # a recording's marker: a string its schema still takes, and says why
SECRET_FIELDS = SECRET_NAMES  # the journal's: one list of what names a secret
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SHORTEST = 4  # shorter values are not cut out of text: they would mangle ordinary words


def _secret(name: str) -> bool:
    return name.lower() in SECRET_FIELDS


def _credentials(name: str, value: str) -> Iterable[str]:
    """The secret parts of a credential header's value."""
    if name in ("authorization", "proxy-authorization"):
        scheme, _, credentials = value.partition(" ")
        yield credentials.strip()
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(credentials).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return
            yield password
    else:  # cookie: a=1; b=2 / set-cookie: a=1; Path=/
        for part in value.split(";"):
            yield part.partition("=")[2].strip()


def _fields(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if _secret(key) and isinstance(item, str):
                yield item
            else:
                yield from _fields(item)
    elif isinstance(value, list):
        for item in value:
            yield from _fields(item)


def _body_fields(body: bytes) -> Iterable[str]:
    try:
        yield from _fields(orjson.loads(body))
        return
    except orjson.JSONDecodeError:
        pass
    for name, value in parse_qsl(body.decode("latin-1")):  # a form (the token endpoint's)
        if _secret(name):
            yield value


class Secrets:
    """The secrets of one exchange, and the scrubbing of anything written from it."""

    def __init__(self, exchange: Exchange) -> None:
        found = [
            secret
            for name, value in (*exchange.request_headers, *exchange.response_headers)
            if name in SECRET_HEADERS
            for secret in _credentials(name, value)
        ]
        found += [v for k, v in parse_qsl(exchange.query) if _secret(k)]
        found += _body_fields(exchange.request_body)
        found += _body_fields(exchange.response_body)
        # longest first, so a secret that contains another is cut out whole
        self._values = sorted({s for s in found if len(s) >= _SHORTEST}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._values:
            value = value.replace(secret, SCRUBBED)
        return value

    def scrub(self, value: Any) -> Any:
        """`value` (JSON) with secret fields replaced and secret values cut out of its text."""
        if isinstance(value, dict):
            return {k: SCRUBBED if _secret(k) else self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value
