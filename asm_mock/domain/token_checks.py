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
from contextvars import ContextVar, Token
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
    """The token check of one request: at most one token awaits confirmation. Entering it (a
    `with` block) lets the running task's store answer tokens unconfirmed until the block ends."""

    __slots__ = ("_entered", "_loop", "_task", "unconfirmed")

    def __init__(self) -> None:
        # the loop is kept so that each later look at the running task skips
        # get_running_loop(), which is a getpid() system call on Python 3.11
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task(self._loop)
        self.unconfirmed: UnconfirmedToken | None = None
        self._entered: Token[TokenCheck | None] | None = None

    def belongs_to_running_task(self) -> bool:
        # current_task(loop): the task `loop` runs now, whichever thread asks
        return self._task is not None and self._task is asyncio.current_task(self._loop)

    async def settle(self) -> None:
        """Confirm the token still awaiting it, if any: raises InvalidTokenError when the store
        no longer holds it (StoreUnavailableError when the store cannot say)."""
        unconfirmed = self.unconfirmed
        if unconfirmed is None:
            return
        self.unconfirmed = None
        if not await unconfirmed.exists():
            raise InvalidTokenError(unconfirmed.access_token)

    # a class, not @contextmanager: this wraps every API request of a shared store
    def __enter__(self) -> TokenCheck:
        self._entered = _CURRENT.set(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._entered is not None:
            _CURRENT.reset(self._entered)
            self._entered = None


_CURRENT: ContextVar[TokenCheck | None] = ContextVar("asm_mock_token_check", default=None)


def checking_tokens() -> TokenCheck:
    """A check for the running task's request: inside `with checking_tokens() as check:` the
    task's requests may get unconfirmed tokens; settle the check before answering."""
    return TokenCheck()


def current_token_check() -> TokenCheck | None:
    """The running task's token check, or None where unconfirmed tokens are not allowed (a
    task created inside a check, e.g. a background one, inherits the variable, not the check)."""
    check = _CURRENT.get()
    if check is None or not check.belongs_to_running_task():
        return None
    return check
