"""How tokens and sessions are written in Redis: JSON, read by Python and by the Lua scripts.

The field names are this store's own (short: every request reads a token), not the API's; a
session carries `order`, its place among the ACTIVE or the ENDED sessions (the Lua scripts
set it from one counter, so every replica sees one order).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import orjson

from asm_mock.domain.clock import iso_text
from asm_mock.domain.model import AssistedSession, SessionStatus
from asm_mock.domain.store import IssuedToken

__all__ = ["session_from", "session_json", "token_from", "token_json"]


def token_json(token: IssuedToken) -> bytes:
    return orjson.dumps(
        {
            "access": token.access_token,
            "refresh": token.refresh_token,
            "client": token.client_id,
            "user": token.username,
            "scopes": list(token.scopes),
            "expires": iso_text(token.expires_at),
        }
    )


# Every API request reads its token: the same JSON is decoded once per replica, and the same
# IssuedToken object found again keeps TokenService's principal memo hitting.
@functools.lru_cache(maxsize=4096)
def token_from(raw: bytes | str) -> IssuedToken:
    data = orjson.loads(raw)
    return IssuedToken(
        access_token=data["access"],
        refresh_token=data["refresh"],
        client_id=data["client"],
        username=data["user"],
        scopes=tuple(data["scopes"]),
        expires_at=datetime.fromisoformat(data["expires"]),
    )


def session_json(session: AssistedSession) -> bytes:
    return orjson.dumps(
        {
            "id": session.session_id,
            "agent": session.agent_uid,
            "customer": session.customer_id,
            "site": session.site,
            "cart": session.cart_id,
            "created": iso_text(session.created_at),
            "status": session.status.value,
            "ended": None if session.ended_at is None else iso_text(session.ended_at),
        }
    )


@functools.lru_cache(maxsize=4096)  # a session is read again by each request about it
def session_from(raw: bytes | str) -> tuple[AssistedSession, int]:
    """The session and its `order` (0 before a script has placed it)."""
    data: dict[str, Any] = orjson.loads(raw)
    ended = data.get("ended")
    session = AssistedSession(
        session_id=data["id"],
        agent_uid=data["agent"],
        customer_id=data["customer"],
        site=data["site"],
        cart_id=data.get("cart"),
        created_at=datetime.fromisoformat(data["created"]),
        status=SessionStatus(data["status"]),
        ended_at=datetime.fromisoformat(ended) if isinstance(ended, str) else None,
    )
    return session, int(data.get("order", 0))
