"""A request's bearer-token check, settled before its answer leaves.

A shared store (Redis) may answer a bearer token from its replica's memory instead of asking
Redis first. What a token says never changes while it exists; only whether it still exists does
(a refresh, a reset or an expiry on any replica removes it). So the store hands the request the
token it remembers and leaves it *unconfirmed*: the request's first store step then runs only if
the token still exists, checked in the same atomic step (a guard), and a request that asks the
store nothing has its token confirmed before its answer leaves (`TokenCheck.settle`, called by
the HTTP layer). A revoked token is refused at once, exactly as when it was looked up first, and
its request changes nothing; what most requests save is one round trip to the store.

Only the task that entered `checking_tokens()` (the HTTP layer's API requests) gets unconfirmed
tokens: a store asked from anywhere else (the admin API, a background task, a test) looks the
token up first, as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from asm_mock.domain.errors import InvalidTokenError

__all__ = ["TokenCheck", "UnconfirmedToken", "checking_tokens", "current_token_check"]


class UnconfirmedToken(Protocol):
    """A token a store answered from memory, not yet confirmed by the store itself."""

    access_token: str

    async def exists(self) -> bool:
        """Whether the store still holds the token (one round trip)."""
        ...


class TokenCheck:
    """The token check of one request: at most one token awaits confirmation."""

    __slots__ = ("_task", "unconfirmed")

    def __init__(self) -> None:
        self._task = asyncio.current_task()
        self.unconfirmed: UnconfirmedToken | None = None

    def belongs_to_running_task(self) -> bool:
        return self._task is not None and self._task is asyncio.current_task()

    async def settle(self) -> None:
        """Confirm the token still awaiting it, if any: raises InvalidTokenError when the store
        no longer holds it (StoreUnavailableError when the store cannot say)."""
        unconfirmed = self.unconfirmed
        if unconfirmed is None:
            return
        self.unconfirmed = None
        if not await unconfirmed.exists():
            raise InvalidTokenError(unconfirmed.access_token)


_CURRENT: ContextVar[TokenCheck | None] = ContextVar("asm_mock_token_check", default=None)


@contextmanager
def checking_tokens() -> Iterator[TokenCheck]:
    """The running task's requests may get unconfirmed tokens until the block ends; settle the
    check before answering."""
    check = TokenCheck()
    entered = _CURRENT.set(check)
    try:
        yield check
    finally:
        _CURRENT.reset(entered)


def current_token_check() -> TokenCheck | None:
    """The running task's token check, or None where unconfirmed tokens are not allowed (a
    task created inside a check, e.g. a background one, inherits the variable, not the check)."""
    check = _CURRENT.get()
    if check is None or not check.belongs_to_running_task():
        return None
    return check
