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

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.domain.errors import ApiError
from asm_mock.http.errors import send_error

__all__ = [
    "ALLOWED_METHODS",
    "EXPOSED_HEADERS",
    "CorsMiddleware",
    "OriginNotAllowedError",
    "OriginPolicy",
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


class OriginNotAllowedError(ApiError):
    status_code = 403
    error_type = "ForbiddenError"

    def __init__(self, origin: str) -> None:
        super().__init__(f"Origin {origin} is not allowed by --cors-origins")


def _allowed_request_headers(requested: str) -> str:
    names = (name.strip() for name in requested.split(","))
    return ", ".join(
        n for n in names if n and (n.lower() in _REQUEST_HEADERS or n.lower().startswith("x-"))
    )


def _vary(headers: list[tuple[bytes, bytes]], names: bytes) -> list[tuple[bytes, bytes]]:
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
        if not _has_origin(scope["headers"]):  # not a CORS request
            await self._app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            headers.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
        origin = headers["origin"]
        allowed = self._policy.allows(origin)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            if allowed:
                await self._preflight(origin, headers, send)
            else:
                logger.warning(
                    "CORS: refused the preflight of %s %s from origin %s (not in --cors-origins)",
                    headers["access-control-request-method"],
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

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = [(k, v) for k, v in message.get("headers", []) if not _is_cors(k)]
                message = {**message, "headers": _vary(own, b"Origin") + cors}
            await send(message)

        await self._app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, headers: dict[str, str], send: Send) -> None:
        answer = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            (b"content-length", b"0"),
        ]
        allowed_headers = _allowed_request_headers(
            headers.get("access-control-request-headers", "")
        )
        if allowed_headers:
            answer.append((b"access-control-allow-headers", allowed_headers.encode("latin-1")))
        if headers.get("access-control-request-private-network", "").lower() == "true":
            answer.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": answer})
        await send({"type": "http.response.body", "body": b""})


def _has_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, _ in headers:
        if name.lower() == b"origin":
            return True
    return False


def _is_cors(name: bytes) -> bool:
    return name.lower().startswith(b"access-control-")
