"""Connexion's oauth2 security scheme, answered by the mock's own token store.

Plugged in through Connexion's `security_map`: Connexion calls `get_fn` once per operation at
start-up; the returned coroutine runs per request. Failures raise the domain's
UnauthorizedError / InvalidTokenError / ForbiddenError (401/401/403), which the error handlers
render as SAP's OCC bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import OAuthSecurityHandler

from asm_mock.domain.errors import InvalidTokenError
from asm_mock.domain.tokens import Principal, TokenService

__all__ = ["PRINCIPAL", "authorizer", "security_map", "token_info"]

PRINCIPAL = "principal"  # key of the caller in Connexion's token_info


def authorizer(
    tokens: Callable[[], TokenService], permissive: Callable[[], bool]
) -> Callable[[list[str]], Principal]:
    """The check of a request's Authorization header values; raises SAP's 401/403 errors."""

    def authorize(headers: list[str]) -> Principal:
        if len(headers) > 1:
            # RFC 6750: a client must not send the token more than once
            raise InvalidTokenError("more than one Authorization header")
        return tokens().principal(headers[0] if headers else None, permissive=permissive())

    return authorize


def token_info(principal: Principal) -> dict[str, Any]:
    """What Connexion hands a handler as `token_info`."""
    return {"sub": principal.uid, "scope": list(principal.scopes), PRINCIPAL: principal}


def security_map(
    tokens: Callable[[], TokenService], permissive: Callable[[], bool]
) -> dict[str, type[OAuthSecurityHandler]]:
    authorize = authorizer(tokens, permissive)

    class MockTokenHandler(OAuthSecurityHandler):  # type: ignore[misc]
        def get_fn(
            self, security_scheme: dict[str, Any], required_scopes: list[str]
        ) -> Callable[[ConnexionRequest], Awaitable[dict[str, Any]]]:
            async def verify(request: ConnexionRequest) -> dict[str, Any]:
                return token_info(authorize(request.headers.getlist("authorization")))

            return verify

    return {"oauth2": MockTokenHandler}
