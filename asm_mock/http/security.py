"""The contract's oauth2 scheme, answered by the mock's own token store.

`authorizer()` is the one check of a request's bearer token, made by the fast lane and, through
Connexion's `security_map` (`asm_mock.http.connexion_stack.security`), by Connexion. Failures
raise the domain's UnauthorizedError / InvalidTokenError / ForbiddenError (401/401/403), which
render as SAP's OCC bodies.

`SettlingTokenChecks` serves an API request whose token a shared store may answer from
memory (`asm_mock.domain.token_checks`): the answer leaves only once the token is confirmed, and
becomes SAP's 401 (or the store's 503) when it cannot be.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.domain.errors import ApiError, InvalidTokenError
from asm_mock.domain.token_checks import TokenCheck, checking_tokens
from asm_mock.domain.tokens import Principal, TokenService
from asm_mock.http.send import send_error

__all__ = ["PRINCIPAL", "SettlingTokenChecks", "authorizer", "token_info"]

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


class SettlingTokenChecks:
    """`app`'s answers to API requests whose bearer token a shared store may answer from memory
    (`asm_mock.domain.token_checks`), each sent once its request's token check is settled: a
    token the store no longer holds turns the answer into SAP's 401 (a store that cannot say:
    its 503). It sits inside CompletedErrors, so that 401 fits a served revision too."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with checking_tokens() as check:
            await self._app(scope, receive, _SettledSend(send, check))


class _SettledSend:
    """`send`, which lets an answer's start leave only once `check` is settled, and replaces
    the answer with the error when it cannot be. A class, not a closure: every message of an
    API request passes through it."""

    __slots__ = ("_check", "_refused", "_send")

    def __init__(self, send: Send, check: TokenCheck) -> None:
        self._send = send
        self._check = check
        self._refused = False

    async def __call__(self, message: Message) -> None:
        if self._refused:
            return  # the rest of an answer that was replaced
        if message["type"] == "http.response.start" and self._check.unconfirmed is not None:
            try:
                await self._check.settle()
            except ApiError as error:
                self._refused = True
                await send_error(self._send, error)
                return
        await self._send(message)
