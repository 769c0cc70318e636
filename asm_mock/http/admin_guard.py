"""Who may use the admin API under /__admin: loopback clients, or the holder of --admin-token."""

from __future__ import annotations

import hmac
import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.domain.errors import ApiError, ForbiddenError, UnauthorizedError
from asm_mock.http.headers import first_header
from asm_mock.http.send import send_error

__all__ = ["ADMIN_PATH", "AdminGuard", "is_admin_path"]

ADMIN_PATH = "/__admin"


def is_admin_path(path: str) -> bool:
    return path == ADMIN_PATH or path.startswith(ADMIN_PATH + "/")


def _is_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class AdminGuard:
    """Loopback clients only, unless an admin token is set; then that token is required."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self._app = app
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = self._refusal(scope) if scope["type"] == "http" else None
        if error is not None:
            await send_error(send, error)
            return
        await self._app(scope, receive, send)

    def _refusal(self, scope: Scope) -> ApiError | None:
        if self._token is None:
            return None if _is_loopback(scope) else ForbiddenError()
        authorization = first_header(scope.get("headers", ()), b"authorization") or ""
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return UnauthorizedError()
        if not hmac.compare_digest(presented.strip().encode(), self._token.encode()):
            return ForbiddenError()
        return None
