"""Reading a request's headers from its ASGI scope: one rule for every piece of the mock.

Names are lowercase bytes, compared as they are: ASGI servers must lowercase header names (the
ASGI spec; uvicorn, httpx's ASGITransport and Starlette's TestClient do), so nothing lowercases
them again on every request. Values are decoded as latin-1, as ASGI and Starlette decode them.

A header sent more than once: `first_header` reads the first value. That is how Starlette's
`Headers.get` reads it, and so how Connexion does, which judges every request the fast lane and
the guards hand on: reading a repeated header the same way in front of Connexion keeps the
mock's answers alike whichever piece makes them. Where a repeat itself means something, the
caller asks `header_values` for every value, in order: a second Authorization is refused
(RFC 6750), and every Prefer header counts (RFC 7240).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["RawHeaders", "first_header", "has_header", "header_values"]

RawHeaders = Iterable[tuple[bytes, bytes]]  # an ASGI scope's "headers"


def header_values(headers: RawHeaders, name: bytes) -> list[str]:
    """Every value of header `name` (lowercase), in the order the client sent them."""
    return [value.decode("latin-1") for key, value in headers if key == name]


def first_header(headers: RawHeaders, name: bytes) -> str | None:
    """The first value of header `name` (lowercase), or None when the request has none."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def has_header(headers: RawHeaders, name: bytes) -> bool:
    return any(key == name for key, _ in headers)
