"""The contract's oauth2 scheme as Connexion's `security_map` handler.

Connexion calls `get_fn` once per operation at start-up; the returned coroutine runs per
request and makes the same check as the fast lane (`asm_mock.http.security.authorizer`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import OAuthSecurityHandler

from asm_mock.domain.tokens import TokenService
from asm_mock.http.headers import header_values
from asm_mock.http.security import authorizer, token_info

__all__ = ["AdminTokenChecked", "security_map"]


def security_map(
    tokens: Callable[[], TokenService], permissive: Callable[[], bool]
) -> dict[str, type[OAuthSecurityHandler]]:
    authorize = authorizer(tokens, permissive)

    class MockTokenHandler(OAuthSecurityHandler):  # type: ignore[misc]
        def get_fn(
            self, security_scheme: dict[str, Any], required_scopes: list[str]
        ) -> Callable[[ConnexionRequest], Awaitable[dict[str, Any]]]:
            async def verify(request: ConnexionRequest) -> dict[str, Any]:
                caller = await authorize(header_values(request.scope["headers"], b"authorization"))
                return token_info(caller)

            return verify

    return {"oauth2": MockTokenHandler}


class AdminTokenChecked(OAuthSecurityHandler):  # type: ignore[misc]
    """admin.yaml documents its bearer scheme; AdminGuard has checked it before Connexion runs."""

    def get_fn(self, security_scheme: dict[str, Any], required_scopes: list[str]) -> Any:
        async def verified(_request: Any) -> dict[str, Any]:
            return {"sub": "admin"}

        return verified
