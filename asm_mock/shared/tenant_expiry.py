"""Named tenants expire from the shared store too, not only from each replica's memory.

Every request to a named tenant marks it served in one registry (`REGISTRY`: a sorted set
scored by Redis's clock, written by the same step that reads the tenant's control generation,
so it costs no round trip). Each replica's `TenantSweeper` looks every quarter of `--tenant-ttl`
(at most every minute) for tenants that no replica has served for `--tenant-ttl`, drops its own
copy of each, deletes every key of the tenant's namespace (sessions, tokens, journal stream,
control state), and only then takes the tenant off the registry, unless it was served meanwhile
(one atomic step). A replica that fails half-way leaves the tenant for the next sweep; two that
sweep one tenant at once delete the same keys. Without it, every CI job's tenant would stay in
Redis for good.

A tenant that comes back is made anew, as one expired in memory is. A request to it that
arrives on another replica while its keys are being deleted (a few milliseconds, after a whole
`--tenant-ttl` without one) may lose what it writes meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from asm_mock.domain.errors import StoreUnavailableError
from asm_mock.shared.connection import RedisConnection
from asm_mock.shared.store import RedisStore

__all__ = ["REGISTRY", "TenantSweeper", "tenant_namespace"]

REGISTRY = "asm:tenants"
_AT_MOST = 100  # idle tenants taken per sweep step; the next sweep takes more
_MAX_INTERVAL_S = 60.0
_log = logging.getLogger("asm_mock.shared")


def tenant_namespace(name: str) -> str:
    """The store namespace of the named tenant `name` (the default tenant's is `default`)."""
    return f"tenant:{name}"


class TenantSweeper:
    """Deletes from the shared store the named tenants idle for `ttl_s` on every replica;
    `forget(name)` drops this replica's copy of each."""

    def __init__(
        self, connection: RedisConnection, *, ttl_s: float, forget: Callable[[str], object]
    ) -> None:
        self._connection = connection
        self._ttl_ms = max(int(ttl_s * 1000), 1)
        self._forget = forget
        self.interval_s = max(min(ttl_s / 4, _MAX_INTERVAL_S), 0.05)
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> list[str]:
        """Delete the tenants idle for the TTL now; return their names."""
        deleted: list[str] = []
        while True:
            idle = await self._connection.step("idle_tenants", "", REGISTRY, self._ttl_ms, _AT_MOST)
            for raw in idle:
                name = raw.decode()
                self._forget(name)
                await RedisStore(self._connection, namespace=tenant_namespace(name)).clear()
                step = ("forget_idle_tenant", "", REGISTRY, self._ttl_ms, name)
                if await self._connection.step(*step):
                    deleted.append(name)
            if len(idle) < _AT_MOST:
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
