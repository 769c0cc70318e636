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

pytestmark = pytest.mark.anyio


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


async def password(tokens: TokenService, username: str = "asagent") -> str:
    form = {
        "grant_type": "password",
        "client_id": "mobile_android",
        "client_secret": "secret",
        "username": username,
        "password": "pw4all",
    }
    return (await tokens.grant(form)).token.access_token


async def test_an_agent_token_names_the_agent_and_its_groups(tokens: TokenService) -> None:
    principal = await tokens.principal(f"Bearer {await password(tokens)}")
    assert principal.uid == "asagent"
    assert principal.is_agent and not principal.sees_all_sessions


async def test_usernames_are_case_insensitive_like_sap_uids(tokens: TokenService) -> None:
    principal = await tokens.principal(f"bearer {await password(tokens, 'ASAgent')}")
    assert principal.uid == "asagent"


async def test_an_expired_token_is_invalid_and_swept(
    tokens: TokenService, clock: Clock, store: InMemoryStore
) -> None:
    token = await password(tokens)
    clock.now += timedelta(seconds=43_200)
    with pytest.raises(InvalidTokenError):
        await tokens.principal(f"Bearer {token}")
    await password(tokens, "asagentsalesmanager")  # issuing sweeps what has expired
    assert await store.token(token) is None
    assert await store.token_count() == 1


async def test_expires_in_counts_down_for_a_reused_token(
    tokens: TokenService, clock: Clock
) -> None:
    form = {"grant_type": "client_credentials", "client_id": "asm", "client_secret": "secret"}
    first = await tokens.grant(form)
    clock.now += timedelta(seconds=100)
    again = await tokens.grant(form)
    assert again.token == first.token
    assert again.expires_in == first.expires_in - 100


async def test_thousands_of_logins_keep_the_store_bounded(
    tokens: TokenService, store: InMemoryStore
) -> None:
    for _ in range(2_000):
        await password(tokens)
        await password(tokens, "keenreviewer1@hybris.com")
    assert await store.token_count() == 2


async def test_no_header_or_another_scheme_is_unauthorized(tokens: TokenService) -> None:
    for header in (None, "", "Basic abc", "Bearer", "Bearer   "):
        with pytest.raises(UnauthorizedError):
            await tokens.principal(header)


async def test_a_customer_is_forbidden(tokens: TokenService) -> None:
    with pytest.raises(ForbiddenError):
        await tokens.principal(f"Bearer {await password(tokens, 'keenreviewer1@hybris.com')}")


async def test_permissive_mode_takes_any_token_but_still_needs_one(tokens: TokenService) -> None:
    assert (await tokens.principal("Bearer whatever", permissive=True)).uid == "asagent"
    with pytest.raises(UnauthorizedError):
        await tokens.principal(None, permissive=True)


async def test_a_client_may_only_use_its_grants(
    world: World, store: InMemoryStore, clock: Clock
) -> None:
    kiosk = OAuthClient("kiosk", "secret", ("client_credentials",), ("basic",))
    restricted = dataclasses.replace(world, clients={**world.clients, "kiosk": kiosk})
    tokens = TokenService(world=lambda: restricted, store=store, clock=clock)
    with pytest.raises(OAuthError) as raised:
        await tokens.grant(
            {
                "grant_type": "password",
                "client_id": "kiosk",
                "client_secret": "secret",
                "username": "asagent",
                "password": "pw4all",
            }
        )
    assert (raised.value.error, raised.value.status_code) == ("invalid_client", 401)
    kiosk = await tokens.grant(
        {"grant_type": "client_credentials", "client_id": "kiosk", "client_secret": "secret"}
    )
    assert kiosk.token.scopes == ("basic",)


async def test_a_narrower_scope_can_be_asked_for(tokens: TokenService) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "asm",
        "client_secret": "secret",
        "scope": "basic",
    }
    grant = await tokens.grant(form)
    assert grant.token.scopes == ("basic",)
    with pytest.raises(ForbiddenError):
        await tokens.principal(f"Bearer {grant.token.access_token}")


async def test_a_token_is_traced_to_its_principal_once_per_world(
    world: World, store: InMemoryStore, clock: Clock
) -> None:
    current = [world]
    tokens = TokenService(world=lambda: current[0], store=store, clock=clock)
    header = f"Bearer {await password(tokens)}"
    first = await tokens.principal(header)
    assert await tokens.principal(header) is first
    agent = world.agents["asagent"]
    demoted = dataclasses.replace(agent, groups=("customergroup",))
    current[0] = dataclasses.replace(world, agents={**world.agents, "asagent": demoted})
    with pytest.raises(ForbiddenError):  # the new world's groups decide, not the kept principal
        await tokens.principal(header)
    current[0] = world
    assert await tokens.principal(header) == first


async def test_a_kept_principal_never_outlives_its_token(
    tokens: TokenService, store: InMemoryStore, clock: Clock
) -> None:
    token = await password(tokens)
    await tokens.principal(f"Bearer {token}")
    await store.remove_token(token)
    with pytest.raises(InvalidTokenError):
        await tokens.principal(f"Bearer {token}")
    revived = await password(tokens)
    clock.now += timedelta(days=365)
    with pytest.raises(InvalidTokenError):
        await tokens.principal(f"Bearer {revived}")


async def test_kept_principals_never_keep_a_replaced_world_alive(
    world: World, store: InMemoryStore, clock: Clock
) -> None:
    import gc
    import weakref

    current = [dataclasses.replace(world)]
    tokens = TokenService(world=lambda: current[0], store=store, clock=clock)
    await tokens.principal(f"Bearer {await password(tokens)}")
    replaced = weakref.ref(current[0])
    current[0] = world
    await store.clear_tokens()
    await tokens.principal(f"Bearer {await password(tokens)}")
    gc.collect()
    assert replaced() is None
