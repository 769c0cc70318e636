"""Where the mutable state lives: issued tokens and assisted sessions.

Handlers and services talk to the two small protocols below, never to a concrete store, so a
shared store (Redis, for several replicas) can replace `InMemoryStore` without touching them.
Every protocol method is a coroutine (a shared store's client does I/O) and one atomic step.
The in-memory store never suspends; it still guards each step with one lock, because
synchronous callers (the pytest plugin, start-up scenarios) may drive it from other threads.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from asm_mock.domain.model import AssistedSession, SessionStatus

__all__ = ["InMemoryStore", "IssuedToken", "SessionIds", "SessionStore", "TokenStore"]


class SessionIds:
    """The id of the store's n-th session, derived from the world's seed: a replayed test sees
    the same ids, and replicas sharing a store (which numbers the sessions) never draw the same.
    SHA-1, because Redis's Lua derives the same ids in the step that starts a session
    (`redis.sha1hex`); a name, not a secret."""

    def __init__(self, seed: int) -> None:
        self.prefix = f"sessions:{seed}:"

    def __call__(self, number: int) -> str:
        digest = hashlib.sha1(f"{self.prefix}{number}".encode()).digest()  # noqa: S324
        return str(uuid.UUID(bytes=digest[:16], version=4))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    refresh_token: str | None
    client_id: str
    # the user the token was issued for (password grant), or None for client_credentials
    username: str | None
    scopes: tuple[str, ...]
    expires_at: datetime


class TokenStore(Protocol):
    async def save_token(self, token: IssuedToken) -> None: ...

    async def token(self, access_token: str) -> IssuedToken | None: ...

    async def token_for_refresh(self, refresh_token: str) -> IssuedToken | None: ...

    async def reusable_token(
        self, client_id: str, username: str | None, scopes: tuple[str, ...], now: datetime
    ) -> IssuedToken | None: ...

    async def remove_token(self, access_token: str) -> None: ...

    async def sweep_tokens(self, now: datetime) -> int: ...

    async def token_count(self) -> int: ...

    async def clear_tokens(self) -> None: ...

    async def expire_tokens(self, now: datetime) -> int:
        """Make every stored token expire at `now` (refresh tokens stay usable); return how many."""
        ...


class SessionStore(Protocol):
    async def start_session(
        self, session: AssistedSession, now: datetime
    ) -> AssistedSession | None:
        """Store `session`; end the same agent's ACTIVE one, if any, and return it ended."""
        ...

    async def start_new_session(
        self, draft: AssistedSession, now: datetime, *, ids: SessionIds, skip_stored_ids: bool
    ) -> tuple[AssistedSession, AssistedSession | None]:
        """Number the next session, give `draft` that number's id (`ids`; with
        `skip_stored_ids`, passing over an id a stored session has) and start it as
        `start_session` does, in one step: the session and the one it ended, if any."""
        ...

    async def session(self, session_id: str) -> AssistedSession | None: ...

    async def end_session(
        self, session_id: str, now: datetime, *, by_agent: str | None = None
    ) -> AssistedSession | None:
        """Remove the session and return it as it ended (None if there was none). With
        `by_agent`, another agent's session is left as it is and returned unchanged: one step
        checks and ends, so the caller needs no look-up first."""
        ...

    async def sessions_of_customer(self, customer_id: str) -> list[AssistedSession]: ...

    async def session_count(self) -> int: ...

    async def clear_sessions(self) -> None: ...

    async def all_sessions(self) -> list[AssistedSession]:
        """Every stored session: the ACTIVE ones, then the ENDED ones, each oldest first."""
        ...

    async def replace_sessions(self, sessions: Iterable[AssistedSession]) -> None:
        """Replace every stored session in one step (at most one ACTIVE session per agent)."""
        ...


class InMemoryStore:
    """The default store: dictionaries behind one lock, bounded so a long run cannot grow it."""

    def __init__(self, *, max_ended_sessions: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> access token
        self._active: dict[str, AssistedSession] = {}  # session id -> session
        self._active_of_agent: dict[str, str] = {}  # agent uid -> session id
        self._ended: OrderedDict[str, AssistedSession] = OrderedDict()
        self._max_ended = max_ended_sessions
        self._session_number = 0

    # -- tokens -----------------------------------------------------------------------------

    async def save_token(self, token: IssuedToken) -> None:
        with self._lock:
            self._tokens[token.access_token] = token
            if token.refresh_token is not None:
                self._refresh[token.refresh_token] = token.access_token

    async def token(self, access_token: str) -> IssuedToken | None:
        return self._tokens.get(access_token)

    async def token_for_refresh(self, refresh_token: str) -> IssuedToken | None:
        with self._lock:
            access = self._refresh.get(refresh_token)
            return None if access is None else self._tokens.get(access)

    async def reusable_token(
        self, client_id: str, username: str | None, scopes: tuple[str, ...], now: datetime
    ) -> IssuedToken | None:
        with self._lock:
            for token in self._tokens.values():
                if (
                    token.client_id == client_id
                    and token.username == username
                    and token.scopes == scopes
                    and token.expires_at > now
                ):
                    return token
            return None

    async def remove_token(self, access_token: str) -> None:
        with self._lock:
            self._remove_token_locked(access_token)

    def _remove_token_locked(self, access_token: str) -> None:
        token = self._tokens.pop(access_token, None)
        if token is not None and token.refresh_token is not None:
            self._refresh.pop(token.refresh_token, None)

    async def sweep_tokens(self, now: datetime) -> int:
        with self._lock:
            expired = [t.access_token for t in self._tokens.values() if t.expires_at <= now]
            for access_token in expired:
                self._remove_token_locked(access_token)
            return len(expired)

    async def token_count(self) -> int:
        return len(self._tokens)

    async def clear_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._refresh.clear()

    async def expire_tokens(self, now: datetime) -> int:
        with self._lock:
            self._tokens = {
                key: replace(token, expires_at=min(token.expires_at, now))
                for key, token in self._tokens.items()
            }
            return len(self._tokens)

    # -- sessions ---------------------------------------------------------------------------

    async def start_session(
        self, session: AssistedSession, now: datetime
    ) -> AssistedSession | None:
        with self._lock:
            return self._start_locked(session, now)

    def _start_locked(self, session: AssistedSession, now: datetime) -> AssistedSession | None:
        previous_id = self._active_of_agent.get(session.agent_uid)
        ended = None
        if previous_id is not None:
            previous = self._active.pop(previous_id)
            ended = replace(previous, status=SessionStatus.ENDED, ended_at=now)
            self._remember_ended(ended)
        self._active[session.session_id] = session
        self._active_of_agent[session.agent_uid] = session.session_id
        return ended

    async def start_new_session(
        self, draft: AssistedSession, now: datetime, *, ids: SessionIds, skip_stored_ids: bool
    ) -> tuple[AssistedSession, AssistedSession | None]:
        with self._lock:
            while True:
                session_id = ids(self._session_number)
                self._session_number += 1
                stored = session_id in self._active or session_id in self._ended
                if not (skip_stored_ids and stored):
                    break
            session = replace(draft, session_id=session_id)
            return session, self._start_locked(session, now)

    def _remember_ended(self, session: AssistedSession) -> None:
        self._ended[session.session_id] = session
        while len(self._ended) > self._max_ended:
            self._ended.popitem(last=False)

    async def session(self, session_id: str) -> AssistedSession | None:
        with self._lock:
            return self._active.get(session_id) or self._ended.get(session_id)

    async def end_session(
        self, session_id: str, now: datetime, *, by_agent: str | None = None
    ) -> AssistedSession | None:
        with self._lock:
            if by_agent is not None:
                found = self._active.get(session_id) or self._ended.get(session_id)
                if found is not None and found.agent_uid != by_agent:
                    return found
            active = self._active.pop(session_id, None)
            if active is not None:
                self._active_of_agent.pop(active.agent_uid, None)
                return replace(active, status=SessionStatus.ENDED, ended_at=now)
            return self._ended.pop(session_id, None)

    async def sessions_of_customer(self, customer_id: str) -> list[AssistedSession]:
        with self._lock:
            return [
                s
                for s in (*self._active.values(), *self._ended.values())
                if s.customer_id == customer_id
            ]

    async def session_count(self) -> int:
        with self._lock:
            return len(self._active) + len(self._ended)

    async def clear_sessions(self) -> None:
        with self._lock:
            self._clear_sessions_locked()

    def _clear_sessions_locked(self) -> None:
        self._active.clear()
        self._active_of_agent.clear()
        self._ended.clear()
        self._session_number = 0

    async def all_sessions(self) -> list[AssistedSession]:
        with self._lock:
            return [*self._active.values(), *self._ended.values()]

    async def replace_sessions(self, sessions: Iterable[AssistedSession]) -> None:
        with self._lock:
            self._clear_sessions_locked()
            for session in sessions:
                if session.status is SessionStatus.ACTIVE:
                    self._active[session.session_id] = session
                    self._active_of_agent[session.agent_uid] = session.session_id
                else:
                    self._remember_ended(session)
