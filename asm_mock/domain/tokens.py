"""SAP's OAuth2 authorization server, as far as ASM clients use it.

Grants: client_credentials, password and refresh_token, with Spring Security OAuth's answers and
errors (SAP Commerce runs on it): a still-valid token for the same client, user and scope is
handed out again rather than a new one, as Spring's DefaultTokenServices does — which also keeps
the token store bounded by clients × users.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from asm_mock.domain.errors import ForbiddenError, InvalidTokenError, OAuthError, UnauthorizedError
from asm_mock.domain.model import OAuthClient, User
from asm_mock.domain.store import IssuedToken, TokenStore
from asm_mock.domain.world import World

__all__ = [
    "AGENT_GROUP",
    "AGENT_SCOPES",
    "DEFAULT_TOKEN_LIFETIME",
    "MANAGER_GROUP",
    "Principal",
    "TokenGrant",
    "TokenService",
]

DEFAULT_TOKEN_LIFETIME = timedelta(seconds=43_200)
AGENT_GROUP = "asagentgroup"
MANAGER_GROUP = "asagentsalesmanagergroup"
AGENT_SCOPES = ("basic", "assistedservicegroup")
PERMISSIVE_AGENT = "asagent"
SUPPORTED_GRANTS = ("client_credentials", "password", "refresh_token")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user behind a token (or the agent a trusted client acts as)."""

    uid: str
    groups: tuple[str, ...]
    scopes: tuple[str, ...]

    @property
    def is_agent(self) -> bool:
        return AGENT_GROUP in self.groups

    @property
    def sees_all_sessions(self) -> bool:
        return MANAGER_GROUP in self.groups


@dataclass(frozen=True, slots=True)
class TokenGrant:
    token: IssuedToken
    expires_in: int

    def to_dict(self) -> dict[str, str | int]:
        body: dict[str, str | int] = {
            "access_token": self.token.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(self.token.scopes),
        }
        if self.token.refresh_token is not None:
            body["refresh_token"] = self.token.refresh_token
        return body


class TokenService:
    def __init__(
        self,
        *,
        world: Callable[[], World],
        store: TokenStore,
        clock: Callable[[], datetime],
        lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        self._world = world
        self._store = store
        self._clock = clock
        self._lifetime = lifetime
        self._principals: tuple[World | None, dict[str, tuple[IssuedToken, Principal]]] = (
            None,
            {},
        )

    # -- the token endpoint -----------------------------------------------------------------

    async def grant(
        self, form: Mapping[str, str], basic_credentials: tuple[str, str] | None = None
    ) -> TokenGrant:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "Missing grant type")
        client = self._authenticate_client(form, basic_credentials)
        if grant_type not in SUPPORTED_GRANTS:
            raise OAuthError("unsupported_grant_type", f"Unsupported grant type: {grant_type}")
        if grant_type not in client.grants:
            raise OAuthError("invalid_client", f"Unauthorized grant type: {grant_type}", 401)
        if grant_type == "refresh_token":
            return await self._refresh(client, form)
        if grant_type == "password":
            user = self._authenticate_user(form)
            scopes = AGENT_SCOPES if AGENT_GROUP in user.groups else ("basic",)
            return await self._issue(client, user.uid, self._narrow(scopes, form), refreshable=True)
        return await self._issue(client, None, self._narrow(client.scopes, form), refreshable=False)

    def _authenticate_client(
        self, form: Mapping[str, str], basic_credentials: tuple[str, str] | None
    ) -> OAuthClient:
        client_id, secret = basic_credentials or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        client = self._world().clients.get(client_id)
        if client is None or client.secret != secret:
            raise OAuthError("invalid_client", "Bad client credentials", 401)
        return client

    def _authenticate_user(self, form: Mapping[str, str]) -> User:
        username, password = form.get("username"), form.get("password")
        if not username or password is None:
            raise OAuthError("invalid_request", "Missing username or password")
        user = self._world().users().get(username.lower())
        if user is None or user.password != password:
            raise OAuthError("invalid_grant", "Bad credentials")
        return user

    @staticmethod
    def _narrow(allowed: tuple[str, ...], form: Mapping[str, str]) -> tuple[str, ...]:
        requested = form.get("scope")
        if requested is None or not requested.strip():
            return allowed
        asked = tuple(dict.fromkeys(requested.split()))
        unknown = [s for s in asked if s not in allowed]
        if unknown:
            raise OAuthError("invalid_scope", f"Invalid scope: {' '.join(unknown)}")
        return tuple(s for s in allowed if s in asked)

    async def _refresh(self, client: OAuthClient, form: Mapping[str, str]) -> TokenGrant:
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            raise OAuthError("invalid_request", "Missing refresh token")
        previous = await self._store.token_for_refresh(refresh_token)
        if previous is None or previous.client_id != client.client_id:
            raise OAuthError("invalid_grant", f"Invalid refresh token: {refresh_token}")
        await self._store.remove_token(previous.access_token)
        return await self._issue(
            client, previous.username, previous.scopes, refreshable=True, refresh=refresh_token
        )

    async def _issue(
        self,
        client: OAuthClient,
        username: str | None,
        scopes: tuple[str, ...],
        *,
        refreshable: bool,
        refresh: str | None = None,
    ) -> TokenGrant:
        now = self._clock()
        token = (
            None
            if refresh
            else await self._store.reusable_token(client.client_id, username, scopes, now)
        )
        if token is None:
            await self._store.sweep_tokens(now)
            token = IssuedToken(
                access_token=str(uuid.uuid4()),
                refresh_token=(refresh or str(uuid.uuid4())) if refreshable else None,
                client_id=client.client_id,
                username=username,
                scopes=scopes,
                expires_at=now + self._lifetime,
            )
            await self._store.save_token(token)
        return TokenGrant(token, max(int((token.expires_at - now).total_seconds()), 0))

    # -- API calls --------------------------------------------------------------------------

    async def principal(self, authorization: str | None, *, permissive: bool = False) -> Principal:
        """The caller behind an `Authorization` header, or SAP's 401/403 error."""
        token = _bearer_token(authorization)
        if permissive:
            agent = self._world().agents.get(PERMISSIVE_AGENT)
            groups = agent.groups if agent else (AGENT_GROUP,)
            return Principal(PERMISSIVE_AGENT, groups, AGENT_SCOPES)
        issued = await self._store.token(token)
        if issued is None or issued.expires_at <= self._clock():
            raise InvalidTokenError(token)
        principal = self._principal_of(issued)
        if not principal.is_agent:
            raise ForbiddenError()
        return principal

    def _principal_of(self, issued: IssuedToken) -> Principal:
        """Who a live token speaks for: worked out once per token and world (every API request
        asks), and again once the world, and so the user's groups, may have changed."""
        world = self._world()
        cached_world, known = self._principals
        if cached_world is not world:  # one world's principals only: none keeps an old world alive
            known = {}
            self._principals = (world, known)
        entry = known.get(issued.access_token)
        if entry is not None and entry[0] is issued:
            return entry[1]
        principal = _principal_in(world, issued)
        if len(known) >= _MAX_KNOWN_PRINCIPALS:
            known.clear()
        known[issued.access_token] = (issued, principal)
        return principal


# tokens whose principal is kept; beyond it, the cache starts afresh (tokens are swept anyway)
_MAX_KNOWN_PRINCIPALS = 4096


def _principal_in(world: World, issued: IssuedToken) -> Principal:
    if issued.username is not None:
        user = world.users().get(issued.username)
        return Principal(issued.username, user.groups if user else (), issued.scopes)
    client = world.clients.get(issued.client_id)
    agent = world.agents.get(client.acts_as) if client and client.acts_as else None
    if agent is None or "assistedservicegroup" not in issued.scopes:
        return Principal(issued.client_id, (), issued.scopes)
    return Principal(agent.uid, agent.groups, issued.scopes)


def _bearer_token(authorization: str | None) -> str:
    if authorization is None or not authorization.strip():
        raise UnauthorizedError()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError()
    if " " in token or "," in token:
        raise InvalidTokenError(token)
    return token
