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

__all__ = ["PRINCIPAL", "security_map"]

PRINCIPAL = "principal"  # key of the caller in Connexion's token_info


def security_map(
    tokens: Callable[[], TokenService], permissive: Callable[[], bool]
) -> dict[str, type[OAuthSecurityHandler]]:
    class MockTokenHandler(OAuthSecurityHandler):  # type: ignore[misc]
        def get_fn(
            self, security_scheme: dict[str, Any], required_scopes: list[str]
        ) -> Callable[[ConnexionRequest], Awaitable[dict[str, Any]]]:
            async def verify(request: ConnexionRequest) -> dict[str, Any]:
                headers = request.headers.getlist("authorization")
                if len(headers) > 1:
                    # RFC 6750: a client must not send the token more than once
                    raise InvalidTokenError("more than one Authorization header")
                principal: Principal = tokens().principal(
                    headers[0] if headers else None, permissive=permissive()
                )
                return {"sub": principal.uid, "scope": list(principal.scopes), PRINCIPAL: principal}

            return verify

    return {"oauth2": MockTokenHandler}
