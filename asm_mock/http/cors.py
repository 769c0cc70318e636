"""CORS for browser frontends, around the whole mock (token endpoint, API, Swagger UI, /__admin).

Allowed origins come from `--cors-origins` (`asm_mock.settings.parse_cors_origins`): `*`, exact
origins, or `scheme://host:*` for any port of a host (a dev server's port changes). Credentials
are allowed (the `asm-mock-prefer` cookie), so the origin is always echoed, never `*`. A refused
preflight is answered 403 with an OCC body that says why; other requests from a refused origin
pass without CORS headers (the browser then blocks them). Starlette's CORSMiddleware has neither
port wildcards nor those error bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.domain.errors import OriginNotAllowedError
from asm_mock.http.headers import RawHeaders, first_header
from asm_mock.http.send import ResponseHeaders, editing_headers, send_answer, send_error

__all__ = [
    "ALLOWED_METHODS",
    "EXPOSED_HEADERS",
    "CorsMiddleware",
    "OriginPolicy",
    "with_vary",
]

logger = logging.getLogger("asm_mock.cors")

ALLOWED_METHODS = "GET, POST, DELETE, PUT, PATCH, OPTIONS"
EXPOSED_HEADERS = (
    "WWW-Authenticate, Location, Preference-Applied, Retry-After, "
    "X-Asm-Mock-Fault, X-Asm-Mock-Injected, X-Asm-Mock-Request-Id"
)
MAX_AGE_SECONDS = 600
_REQUEST_HEADERS = frozenset(
    {"authorization", "content-type", "prefer", "accept", "accept-language"}
)


class OriginPolicy:
    def __init__(self, origins: Iterable[str]) -> None:
        patterns = [o.lower() for o in origins]
        self._any = "*" in patterns
        self._exact = frozenset(p for p in patterns if not p.endswith(":*"))
        self._any_port = frozenset(p[:-2] for p in patterns if p.endswith(":*"))

    def allows(self, origin: str) -> bool:
        origin = origin.lower()
        if self._any or origin in self._exact or origin in self._any_port:
            return True
        host, _, port = origin.rpartition(":")
        return port.isdigit() and host in self._any_port


def _allowed_request_headers(requested: str) -> str:
    names = (name.strip() for name in requested.split(","))
    return ", ".join(
        n for n in names if n and (n.lower() in _REQUEST_HEADERS or n.lower().startswith("x-"))
    )


def with_vary(headers: ResponseHeaders, names: bytes) -> ResponseHeaders:
    """An answer's `headers` with `names` in its one Vary header, merged with what it had
    (an answer's own header names may be in any case)."""
    existing = [v for k, v in headers if k.lower() == b"vary"]
    if not existing:
        return [*headers, (b"vary", names)]
    merged = b", ".join(existing)
    have = {part.strip().lower() for part in merged.split(b",")}
    missing = [n for n in names.split(b", ") if n.lower() not in have]
    value = b", ".join([merged, *missing])
    return [(k, v) for k, v in headers if k.lower() != b"vary"] + [(b"vary", value)]


class CorsMiddleware:
    def __init__(self, app: ASGIApp, *, origins: Iterable[str]) -> None:
        self._app = app
        self._policy = OriginPolicy(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = scope["headers"]
        origin = first_header(headers, b"origin")
        if origin is None:  # not a CORS request
            await self._app(scope, receive, send)
            return
        allowed = self._policy.allows(origin)
        requested_method = first_header(headers, b"access-control-request-method")
        if scope["method"] == "OPTIONS" and requested_method is not None:
            if allowed:
                await self._preflight(origin, headers, send)
            else:
                logger.warning(
                    "CORS: refused the preflight of %s %s from origin %s (not in --cors-origins)",
                    requested_method,
                    scope["path"],
                    origin,
                )
                await send_error(send, OriginNotAllowedError(origin))
            return
        if not allowed:
            await self._app(scope, receive, send)
            return
        cors = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
        ]

        def with_cors(answer: ResponseHeaders) -> ResponseHeaders:
            return with_vary([(k, v) for k, v in answer if not _is_cors(k)], b"Origin") + cors

        await self._app(scope, receive, editing_headers(send, with_cors))

    async def _preflight(self, origin: str, headers: RawHeaders, send: Send) -> None:
        answer = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            (b"content-length", b"0"),
        ]
        allowed_headers = _allowed_request_headers(
            first_header(headers, b"access-control-request-headers") or ""
        )
        if allowed_headers:
            answer.append((b"access-control-allow-headers", allowed_headers.encode("latin-1")))
        private_network = first_header(headers, b"access-control-request-private-network")
        if (private_network or "").lower() == "true":
            answer.append((b"access-control-allow-private-network", b"true"))
        await send_answer(send, 204, answer)


def _is_cors(name: bytes) -> bool:
    return name.lower().startswith(b"access-control-")
