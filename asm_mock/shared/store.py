"""RedisStore: the token and session store protocols (`asm_mock.domain.store`) in Redis, so
replicas, workers and tenants share one state.

Every key is under `asm:{namespace}:`, so namespaces (tenants) never see each other's keys and
`clear()` empties one namespace only. Every operation is one store step (`scripts.py`), atomic
across replicas, and the steps of one event-loop turn share one round trip (`connection.py`).
Token expiry is a Redis TTL (PXAT); a refresh token outlives its access token by
REFRESH_LIFETIME, as Spring's refresh tokens do. A token this replica has looked up before is
answered from memory, unconfirmed, to an API request (`domain/token_checks.py`): that request's
first store step is guarded by the token's key, so a token revoked on any replica is still
refused at once.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from asm_mock.domain.clock import iso_text
from asm_mock.domain.errors import InvalidTokenError
from asm_mock.domain.model import AssistedSession, SessionStatus
from asm_mock.domain.store import IssuedToken, SessionIds
from asm_mock.domain.token_checks import current_token_check
from asm_mock.shared.connection import GuardRefused, RedisConnection
from asm_mock.shared.wire import session_from, session_json, token_from, token_json

__all__ = ["DEFAULT_NAMESPACE", "REFRESH_LIFETIME", "RedisStore", "key_prefix"]

DEFAULT_NAMESPACE = "default"
# Spring Security OAuth's default refresh token validity
REFRESH_LIFETIME = timedelta(days=30)
_SCAN_BATCH = 500
# tokens remembered per namespace and replica; beyond it, the memory starts afresh
_MAX_REMEMBERED_TOKENS = 4096


def key_prefix(namespace: str) -> str:
    return f"asm:{namespace}:"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _reuse_key(client_id: str, username: str | None, scopes: tuple[str, ...]) -> str:
    # as the steps' reuse_key builds it from a token's JSON (scripts.py)
    user = "-" if username is None else "+" + username
    return f"{client_id}\0{user}\0{' '.join(scopes)}"


def _token_key(access_token: str) -> str:
    """An access token's key under the namespace (as the steps' save_token writes it)."""
    return "t:" + access_token


async def _scan_page(client: Any, *, cursor: int, pattern: str) -> tuple[int, list[bytes]]:
    found: tuple[int, list[bytes]] = await client.scan(cursor, match=pattern, count=_SCAN_BATCH)
    return found


async def _unlink(client: Any, *, keys: list[bytes]) -> int:
    return int(await client.unlink(*keys))


def _sessions(raws: Iterable[bytes]) -> list[AssistedSession]:
    """Sessions in their order: ACTIVE ones, then ENDED ones, each oldest first."""
    placed = [session_from(raw) for raw in raws]
    placed.sort(key=lambda item: (item[0].status is not SessionStatus.ACTIVE, item[1]))
    return [session for session, _ in placed]


class _RememberedToken:
    """A token answered from this replica's memory: `UnconfirmedToken`."""

    __slots__ = ("access_token", "store")

    def __init__(self, store: RedisStore, access_token: str) -> None:
        self.store = store
        self.access_token = access_token

    @property
    def guard(self) -> str:
        return _token_key(self.access_token)

    async def exists(self) -> bool:
        return await self.store.stored_token(self.access_token) is not None


class RedisStore:
    """The whole state store (`StateStore`) of one namespace, in the Redis of `connection`."""

    def __init__(
        self,
        connection: RedisConnection,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        max_ended_sessions: int = 10_000,
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        self._prefix = key_prefix(namespace)
        self._max_ended = max_ended_sessions
        self._remembered: dict[str, IssuedToken] = {}

    async def _step(self, name: str, *args: str | bytes | int) -> Any:
        check = current_token_check()
        unconfirmed = None if check is None else check.unconfirmed
        if not isinstance(unconfirmed, _RememberedToken) or unconfirmed.store is not self:
            return await self.connection.step(name, self._prefix, *args)
        assert check is not None
        try:
            answer = await self.connection.step(name, self._prefix, *args, guard=unconfirmed.guard)
        except GuardRefused:
            check.unconfirmed = None  # the request is answered 401: nothing left to confirm
            self._remembered.pop(unconfirmed.access_token, None)
            raise InvalidTokenError(unconfirmed.access_token) from None
        if check.unconfirmed is unconfirmed:
            check.unconfirmed = None  # the store held it when this step ran
        return answer

    # -- tokens -----------------------------------------------------------------------------

    async def save_token(self, token: IssuedToken) -> None:
        await self._step(
            "save_token",
            token.access_token,
            token_json(token),
            max(_ms(token.expires_at), 1),
            _reuse_key(token.client_id, token.username, token.scopes),
            token.refresh_token or "",
            _ms(token.expires_at + REFRESH_LIFETIME),
        )

    async def token(self, access_token: str) -> IssuedToken | None:
        check = current_token_check()
        if check is not None and check.unconfirmed is None:
            remembered = self._remembered.get(access_token)
            if remembered is not None:
                check.unconfirmed = _RememberedToken(self, access_token)
                return remembered
        return await self.stored_token(access_token)

    async def stored_token(self, access_token: str) -> IssuedToken | None:
        """The token as Redis holds it now (`token()` may answer from memory)."""
        raw = await self._step("get", _token_key(access_token))
        if raw is None:
            self._remembered.pop(access_token, None)
            return None
        token = token_from(raw)
        if len(self._remembered) >= _MAX_REMEMBERED_TOKENS:
            self._remembered.clear()
        self._remembered[access_token] = token
        return token

    async def token_for_refresh(self, refresh_token: str) -> IssuedToken | None:
        raw = await self._step("get", "r:" + refresh_token)
        return None if raw is None else token_from(raw)

    async def reusable_token(
        self, client_id: str, username: str | None, scopes: tuple[str, ...], now: datetime
    ) -> IssuedToken | None:
        raw = await self._step("reusable_token", _reuse_key(client_id, username, scopes))
        if raw is None:
            return None
        token = token_from(raw)
        return token if token.expires_at > now else None

    async def remove_token(self, access_token: str) -> None:
        self._remembered.pop(access_token, None)
        await self._step("remove_token", access_token)

    async def sweep_tokens(self, now: datetime) -> int:
        return int(await self._step("sweep_tokens", _ms(now)))

    async def token_count(self) -> int:
        return int(await self._step("token_count"))

    async def clear_tokens(self) -> None:
        self._remembered.clear()
        await self._step("clear_tokens")

    async def expire_tokens(self, now: datetime) -> int:
        self._remembered.clear()
        return int(await self._step("expire_tokens", _ms(now), iso_text(now)))

    # -- sessions ---------------------------------------------------------------------------

    async def start_session(
        self, session: AssistedSession, now: datetime
    ) -> AssistedSession | None:
        ended = await self._step(
            "start_session",
            session.session_id,
            session.agent_uid,
            session.customer_id,
            session_json(session),
            iso_text(now),
            self._max_ended,
        )
        return None if ended is None else session_from(ended)[0]

    async def start_new_session(
        self, draft: AssistedSession, now: datetime, *, ids: SessionIds, skip_stored_ids: bool
    ) -> tuple[AssistedSession, AssistedSession | None]:
        session_id, ended = await self._step(
            "start_new_session",
            ids.prefix,
            "1" if skip_stored_ids else "0",
            draft.agent_uid,
            draft.customer_id,
            session_json(replace(draft, session_id="") if draft.session_id else draft),
            iso_text(now),
            self._max_ended,
        )
        session = replace(draft, session_id=session_id.decode())
        return session, None if ended is None else session_from(ended)[0]

    async def session(self, session_id: str) -> AssistedSession | None:
        raw = await self._step("get", "s:" + session_id)
        return None if raw is None else session_from(raw)[0]

    async def end_session(
        self, session_id: str, now: datetime, *, by_agent: str | None = None
    ) -> AssistedSession | None:
        answer = await self._step("end_session", session_id, by_agent or "")
        if answer is None:
            return None
        raw, outcome = answer
        session = session_from(raw)[0]
        if outcome == b"ended" and session.status is SessionStatus.ACTIVE:
            return replace(session, status=SessionStatus.ENDED, ended_at=now)
        return session

    async def sessions_of_customer(self, customer_id: str) -> list[AssistedSession]:
        return _sessions(await self._step("customer_sessions", customer_id))

    async def session_count(self) -> int:
        return int(await self._step("session_count"))

    async def clear_sessions(self) -> None:
        await self._step("clear_sessions")

    async def all_sessions(self) -> list[AssistedSession]:
        active, ended = await self._step("all_sessions")
        return _sessions(active) + _sessions(ended)

    async def replace_sessions(self, sessions: Iterable[AssistedSession]) -> None:
        fields: list[Any] = []
        for session in sessions:
            fields += [session.session_id, session.agent_uid, session.customer_id]
            fields += [session.status.value, session_json(session)]
        await self._step("replace_sessions", self._max_ended, *fields)

    # -- the namespace as a whole -----------------------------------------------------------

    async def clear(self) -> int:
        """Delete every key of this namespace (and of no other); return how many. A page of
        the keyspace at a time, each page bounded by the store timeout (a SCAN walks every
        key of the database, not only this namespace's)."""
        pattern = glob.escape(self._prefix) + "*"
        deleted, cursor = 0, 0
        while True:
            cursor, keys = await self.connection.run(
                partial(_scan_page, cursor=cursor, pattern=pattern)
            )
            if keys:
                deleted += int(await self.connection.run(partial(_unlink, keys=keys)))
            if cursor == 0:
                return deleted
