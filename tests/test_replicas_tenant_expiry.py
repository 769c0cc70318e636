"""Named tenants expire from the shared store too (`asm_mock.shared.tenant_expiry`): a tenant no
replica served for --tenant-ttl leaves no key in Redis, while one that any replica keeps serving
stays whole, and a tenant that comes back is made anew."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis

from asm_mock.domain.store import IssuedToken
from asm_mock.shared.journal_stream import SharedJournal
from asm_mock.shared.store import key_prefix
from asm_mock.shared.tenant_expiry import REGISTRY, TenantSweeper, tenant_namespace
from asm_mock.testing import TOKEN_PATH, AsmMockServer, password_form
from tests.helpers import StoreOf, assert_occ_error

SITE = "electronics-spa"
JAMES = "james.weber@example.com"
WORLD = ("--customers", "20", "--seed", "7")
TTL_S = 1.0
DEADLINE_S = 15.0  # generous: a sweep every quarter of the TTL


def _keys(url: str, tenant: str) -> list[bytes]:
    with redis.Redis.from_url(url) as client:
        return list(client.scan_iter(match=f"asm:tenant:{tenant}:*"))


def _login(tenant_url: str) -> dict[str, str]:
    form = password_form("asagent", "pw4all", "mobile_android", "secret")
    token = httpx.post(tenant_url + TOKEN_PATH, data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _start_session(tenant_url: str, headers: dict[str, str]) -> str:
    started = httpx.post(
        f"{tenant_url}/assistedservicewebservices/sessions",
        json={"customerId": JAMES, "baseSite": SITE},
        headers=headers,
    )
    assert started.status_code == 201, started.text
    return str(started.json()["sessionId"])


def test_a_tenant_no_replica_serves_for_its_ttl_leaves_no_key_in_redis(redis_url: str) -> None:
    options = ("--store", redis_url, "--tenant-ttl", str(int(TTL_S)), *WORLD)
    with AsmMockServer(*options) as a, AsmMockServer(*options) as b:
        idle, busy = f"{a.url}/t/job-idle", f"{b.url}/t/job-busy"
        idle_headers, busy_headers = _login(idle), _login(busy)
        _start_session(idle, idle_headers)
        busy_session = _start_session(busy, busy_headers)
        httpx.patch(idle + "/__admin/settings", json={"latency": "3"})
        assert _keys(redis_url, "job-idle") and _keys(redis_url, "job-busy")
        read = f"{b.url}/t/job-busy/assistedservicewebservices/sessions/{busy_session}"
        started = time.monotonic()
        while _keys(redis_url, "job-idle"):  # B keeps the other tenant busy meanwhile
            assert time.monotonic() - started < DEADLINE_S, "the idle tenant never expired"
            assert httpx.get(read, headers=busy_headers).json()["status"] == "ACTIVE"
            time.sleep(TTL_S / 5)
        assert time.monotonic() - started >= TTL_S * 0.9  # not before its TTL
        with redis.Redis.from_url(redis_url) as client:
            assert client.zscore("asm:tenants", "job-idle") is None
            assert client.zscore("asm:tenants", "job-busy") is not None
        # the busy tenant is whole, on either replica
        on_a = f"{a.url}/t/job-busy/assistedservicewebservices/sessions/{busy_session}"
        assert httpx.get(on_a, headers=busy_headers).json()["status"] == "ACTIVE"
        # the idle one comes back anew on either replica: no token, setting or session of old
        agent = f"{b.url}/t/job-idle/assistedservicewebservices/agents/asagent"
        assert_occ_error(httpx.get(agent, headers=idle_headers), 401, "InvalidTokenError")
        assert httpx.get(f"{b.url}/t/job-idle/__admin/settings").json()["latency"] == "0"
        assert httpx.get(f"{a.url}/t/job-idle/__admin/state").json()["sessions"] == []


SHORT_TTL_S = 0.2


async def _served(open_store: StoreOf, url: str, name: str) -> None:
    """What a named tenant's request does to the registry (its control generation's step)."""
    store = open_store(url, tenant_namespace(name))
    prefix = key_prefix(tenant_namespace(name))
    await store.connection.step("tenant_generation", prefix, "control:generation", REGISTRY, name)


@pytest.mark.anyio
async def test_a_sweep_deletes_the_idle_tenants_keys_and_forgets_them_here(
    redis_url: str, open_store: StoreOf
) -> None:
    old = open_store(redis_url, tenant_namespace("old"))
    expires = datetime.now(UTC) + timedelta(hours=1)
    await old.save_token(IssuedToken("a", "r", "mobile_android", "asagent", ("basic",), expires))
    await _served(open_store, redis_url, "old")
    await asyncio.sleep(SHORT_TTL_S * 1.5)
    await _served(open_store, redis_url, "recent")
    forgotten: list[str] = []
    sweeper = TenantSweeper(old.connection, ttl_s=SHORT_TTL_S, forget=forgotten.append)
    assert await sweeper.sweep() == ["old"]
    assert forgotten == ["old"]
    assert _keys(redis_url, "old") == []
    with redis.Redis.from_url(redis_url) as client:
        assert client.zrange(REGISTRY, 0, -1) == [b"recent"]


@pytest.mark.anyio
async def test_a_tenant_served_between_the_look_and_the_claim_stays_whole(
    redis_url: str, open_store: StoreOf
) -> None:
    await _served(open_store, redis_url, "back")
    await asyncio.sleep(SHORT_TTL_S * 1.5)
    connection = open_store(redis_url).connection
    ttl_ms, stale_ms = int(SHORT_TTL_S * 1000), 60_000
    assert await connection.step("idle_tenants", "", REGISTRY, ttl_ms, stale_ms, 10) == [b"back"]
    await _served(open_store, redis_url, "back")  # a request between the look and the claim
    assert await connection.step("claim_idle_tenant", "", REGISTRY, ttl_ms, stale_ms, "back") == 0
    with redis.Redis.from_url(redis_url) as client:
        assert client.zscore(REGISTRY, "back") is not None


@pytest.mark.anyio
async def test_a_tenant_another_replica_is_deleting_is_left_to_it_until_its_claim_is_stale(
    redis_url: str, open_store: StoreOf
) -> None:
    store = open_store(redis_url, tenant_namespace("claimed"))
    await _served(open_store, redis_url, "claimed")
    await store.connection.run(lambda client: client.set(key_prefix("tenant:claimed") + "x", 1))
    await asyncio.sleep(SHORT_TTL_S * 1.5)
    ttl_ms, stale_ms = int(SHORT_TTL_S * 1000), int(SHORT_TTL_S * 1000)
    # another replica claims it, then dies before deleting anything
    claim = ("claim_idle_tenant", "", REGISTRY, ttl_ms, stale_ms, "claimed")
    assert await store.connection.step(*claim) == 1
    forgotten: list[str] = []
    sweeper = TenantSweeper(
        store.connection, ttl_s=SHORT_TTL_S, stale_s=SHORT_TTL_S, forget=forgotten.append
    )
    assert await sweeper.sweep() == []  # the claim is fresh: its replica may be at work
    assert _keys(redis_url, "claimed")
    await asyncio.sleep(SHORT_TTL_S * 1.5)
    assert await sweeper.sweep() == ["claimed"]  # a stale claim is taken over
    assert forgotten == ["claimed"]
    assert _keys(redis_url, "claimed") == []
    with redis.Redis.from_url(redis_url) as client:
        assert client.zcard(REGISTRY) == client.zcard(REGISTRY + ":sweeping") == 0


@pytest.mark.anyio
async def test_a_named_tenants_journal_marks_it_served_as_it_ships(
    redis_url: str, open_store: StoreOf
) -> None:
    """So a request that outlives its tenant's sweep (longer than the TTL) and is journaled
    after it marks the tenant served again: the keys it writes are swept in their turn."""
    connection = open_store(redis_url).connection
    named, default = (
        SharedJournal(
            connection,
            capacity=10,
            operation_of=lambda method, path: None,
            namespace=tenant_namespace("late") if tenant else "default",
            tenant=tenant,
        )
        for tenant in ("late", None)
    )
    for journal in (named, default):
        journal.note((time.time(), "GET", "/x", b"", 200, 1.0, (), (), ()))
        await journal.flush()
    with redis.Redis.from_url(redis_url) as client:
        assert client.zrange(REGISTRY, 0, -1) == [b"late"]
        assert client.xlen(key_prefix(tenant_namespace("late")) + "journal") == 1
