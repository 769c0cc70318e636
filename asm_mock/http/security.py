"""The contract's oauth2 scheme, answered by the mock's own token store.

`authorizer()` is the one check of a request's bearer token, made by the fast lane and, through
Connexion's `security_map` (`asm_mock.http.connexion_stack.security`), by Connexion. Failures
raise the domain's UnauthorizedError / InvalidTokenError / ForbiddenError (401/401/403), which
render as SAP's OCC bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asm_mock.domain.errors import InvalidTokenError
from asm_mock.domain.tokens import Principal, TokenService

__all__ = ["PRINCIPAL", "authorizer", "token_info"]

PRINCIPAL = "principal"  # key of the caller in Connexion's token_info


def authorizer(
    tokens: Callable[[], TokenService], permissive: Callable[[], bool]
) -> Callable[[list[str]], Awaitable[Principal]]:
    """The check of a request's Authorization header values; raises SAP's 401/403 errors."""

    async def authorize(headers: list[str]) -> Principal:
        if len(headers) > 1:
            # RFC 6750: a client must not send the token more than once
            raise InvalidTokenError("more than one Authorization header")
        return await tokens().principal(headers[0] if headers else None, permissive=permissive())

    return authorize


def token_info(principal: Principal) -> dict[str, Any]:
    """What Connexion hands a handler as `token_info`."""
    return {"sub": principal.uid, "scope": list(principal.scopes), PRINCIPAL: principal}
