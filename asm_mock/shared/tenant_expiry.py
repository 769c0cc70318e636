"""Named tenants expire from the shared store too, not only from each replica's memory.

Every request to a named tenant marks it served in one registry (`REGISTRY`: a sorted set
scored by Redis's clock, written by the same step that reads the tenant's control generation,
so it costs no round trip). Each replica's `TenantSweeper` looks every quarter of `--tenant-ttl`
(at most every minute) for tenants that no replica has served for `--tenant-ttl`. A replica
first claims one (one atomic step: still idle, it leaves the registry for `REGISTRY:sweeping`,
so no other replica deletes it too), drops its own copy, deletes every key of the tenant's
namespace (sessions, tokens, journal stream, control state), a page at a time, and then
clears its claim. A claim left `stale_s` (a replica that died or lost Redis half-way) is taken
over by the next sweep. Without it, every CI job's tenant would stay in Redis for good.

A tenant that comes back is made anew, as one expired in memory is. A request to it that
arrives while its keys are being deleted (after a whole `--tenant-ttl` without one) may lose
what it writes meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from asm_mock.domain.errors import StoreUnavailableError
from asm_mock.shared.connection import RedisConnection
from asm_mock.shared.store import RedisStore

__all__ = ["REGISTRY", "TenantSweeper", "tenant_namespace"]

REGISTRY = "asm:tenants"
_AT_MOST = 100  # idle tenants taken per sweep; the next sweep takes more
_MAX_INTERVAL_S = 60.0
_STALE_CLAIM_S = 60.0  # a claim this old was abandoned (its replica died or lost Redis)
_log = logging.getLogger("asm_mock.shared")


def tenant_namespace(name: str) -> str:
    """The store namespace of the named tenant `name` (the default tenant's is `default`)."""
    return f"tenant:{name}"


class TenantSweeper:
    """Deletes from the shared store the named tenants idle for `ttl_s` on every replica;
    `forget(name)` drops this replica's copy of each."""

    def __init__(
        self,
        connection: RedisConnection,
        *,
        ttl_s: float,
        forget: Callable[[str], object],
        stale_s: float = _STALE_CLAIM_S,
    ) -> None:
        self._connection = connection
        self._ttl_ms = max(int(ttl_s * 1000), 1)
        self._stale_ms = max(int(stale_s * 1000), 1)
        self._forget = forget
        self.interval_s = max(min(ttl_s / 4, _MAX_INTERVAL_S), 0.05)
        self._task: asyncio.Task[None] | None = None

    async def _step(self, name: str, *args: str | int) -> Any:
        return await self._connection.step(name, "", REGISTRY, *args)

    async def sweep(self) -> list[str]:
        """Delete (up to `_AT_MOST` of) the tenants idle for the TTL now; return their names."""
        deleted: list[str] = []
        idle = await self._step("idle_tenants", self._ttl_ms, self._stale_ms, _AT_MOST)
        for raw in idle:
            name = raw.decode()
            if not await self._step("claim_idle_tenant", self._ttl_ms, self._stale_ms, name):
                continue  # served meanwhile, or another replica deletes it
            self._forget(name)
            # a failure here leaves the claim to go stale: a later sweep deletes the rest
            await RedisStore(self._connection, namespace=tenant_namespace(name)).clear()
            await self._step("tenant_deleted", name)
            deleted.append(name)
        return deleted

    async def _sweep_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except StoreUnavailableError as error:  # the next sweep finds them still idle
                _log.warning("tenant expiry: %s", error)
            except Exception:  # the sweeper lives on; what it missed, the next sweep takes
                _log.exception("tenant expiry failed")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._sweep_every_interval(), name="tenant expiry")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
