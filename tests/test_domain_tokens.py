"""TokenService without HTTP: grants, expiry, reuse, and who is behind a token."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from asm_mock.domain.errors import ForbiddenError, InvalidTokenError, OAuthError, UnauthorizedError
from asm_mock.domain.model import OAuthClient
from asm_mock.domain.store import InMemoryStore
from asm_mock.domain.tokens import TokenService
from asm_mock.domain.world import World


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def tokens(world: World, store: InMemoryStore, clock: Clock) -> TokenService:
    return TokenService(world=lambda: world, store=store, clock=clock)


def password(tokens: TokenService, username: str = "asagent") -> str:
    form = {
        "grant_type": "password",
        "client_id": "mobile_android",
        "client_secret": "secret",
        "username": username,
        "password": "pw4all",
    }
    return tokens.grant(form).token.access_token


def test_an_agent_token_names_the_agent_and_its_groups(tokens: TokenService) -> None:
    principal = tokens.principal(f"Bearer {password(tokens)}")
    assert principal.uid == "asagent"
    assert principal.is_agent and not principal.sees_all_sessions


def test_usernames_are_case_insensitive_like_sap_uids(tokens: TokenService) -> None:
    assert tokens.principal(f"bearer {password(tokens, 'ASAgent')}").uid == "asagent"


def test_an_expired_token_is_invalid_and_swept(
    tokens: TokenService, clock: Clock, store: InMemoryStore
) -> None:
    token = password(tokens)
    clock.now += timedelta(seconds=43_200)
    with pytest.raises(InvalidTokenError):
        tokens.principal(f"Bearer {token}")
    password(tokens, "asagentsalesmanager")  # issuing sweeps what has expired
    assert store.token(token) is None
    assert store.token_count() == 1


def test_expires_in_counts_down_for_a_reused_token(tokens: TokenService, clock: Clock) -> None:
    form = {"grant_type": "client_credentials", "client_id": "asm", "client_secret": "secret"}
    first = tokens.grant(form)
    clock.now += timedelta(seconds=100)
    again = tokens.grant(form)
    assert again.token == first.token
    assert again.expires_in == first.expires_in - 100


def test_thousands_of_logins_keep_the_store_bounded(
    tokens: TokenService, store: InMemoryStore
) -> None:
    for _ in range(2_000):
        password(tokens)
        password(tokens, "keenreviewer1@hybris.com")
    assert store.token_count() == 2


def test_no_header_or_another_scheme_is_unauthorized(tokens: TokenService) -> None:
    for header in (None, "", "Basic abc", "Bearer", "Bearer   "):
        with pytest.raises(UnauthorizedError):
            tokens.principal(header)


def test_a_customer_is_forbidden(tokens: TokenService) -> None:
    with pytest.raises(ForbiddenError):
        tokens.principal(f"Bearer {password(tokens, 'keenreviewer1@hybris.com')}")


def test_permissive_mode_takes_any_token_but_still_needs_one(tokens: TokenService) -> None:
    assert tokens.principal("Bearer whatever", permissive=True).uid == "asagent"
    with pytest.raises(UnauthorizedError):
        tokens.principal(None, permissive=True)


def test_a_client_may_only_use_its_grants(world: World, store: InMemoryStore, clock: Clock) -> None:
    kiosk = OAuthClient("kiosk", "secret", ("client_credentials",), ("basic",))
    restricted = dataclasses.replace(world, clients={**world.clients, "kiosk": kiosk})
    tokens = TokenService(world=lambda: restricted, store=store, clock=clock)
    with pytest.raises(OAuthError) as raised:
        tokens.grant(
            {
                "grant_type": "password",
                "client_id": "kiosk",
                "client_secret": "secret",
                "username": "asagent",
                "password": "pw4all",
            }
        )
    assert (raised.value.error, raised.value.status_code) == ("invalid_client", 401)
    assert tokens.grant(
        {"grant_type": "client_credentials", "client_id": "kiosk", "client_secret": "secret"}
    ).token.scopes == ("basic",)


def test_a_narrower_scope_can_be_asked_for(tokens: TokenService) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "asm",
        "client_secret": "secret",
        "scope": "basic",
    }
    grant = tokens.grant(form)
    assert grant.token.scopes == ("basic",)
    with pytest.raises(ForbiddenError):
        tokens.principal(f"Bearer {grant.token.access_token}")


def test_a_token_is_traced_to_its_principal_once_per_world(
    world: World, store: InMemoryStore, clock: Clock
) -> None:
    current = [world]
    tokens = TokenService(world=lambda: current[0], store=store, clock=clock)
    header = f"Bearer {password(tokens)}"
    first = tokens.principal(header)
    assert tokens.principal(header) is first
    agent = world.agents["asagent"]
    demoted = dataclasses.replace(agent, groups=("customergroup",))
    current[0] = dataclasses.replace(world, agents={**world.agents, "asagent": demoted})
    with pytest.raises(ForbiddenError):  # the new world's groups decide, not the kept principal
        tokens.principal(header)
    current[0] = world
    assert tokens.principal(header) == first


def test_a_kept_principal_never_outlives_its_token(
    tokens: TokenService, store: InMemoryStore, clock: Clock
) -> None:
    token = password(tokens)
    tokens.principal(f"Bearer {token}")
    store.remove_token(token)
    with pytest.raises(InvalidTokenError):
        tokens.principal(f"Bearer {token}")
    revived = password(tokens)
    clock.now += timedelta(days=365)
    with pytest.raises(InvalidTokenError):
        tokens.principal(f"Bearer {revived}")


def test_kept_principals_never_keep_a_replaced_world_alive(
    world: World, store: InMemoryStore, clock: Clock
) -> None:
    import gc
    import weakref

    current = [dataclasses.replace(world)]
    tokens = TokenService(world=lambda: current[0], store=store, clock=clock)
    tokens.principal(f"Bearer {password(tokens)}")
    replaced = weakref.ref(current[0])
    current[0] = world
    store.clear_tokens()
    tokens.principal(f"Bearer {password(tokens)}")
    gc.collect()
    assert replaced() is None
