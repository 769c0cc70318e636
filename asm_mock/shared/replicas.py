"""What one replica shares with the others through the store, besides sessions and tokens:
the journal stream, the control state, and the expiry of named tenants. `create_app` builds one
`Replica` for a Redis store; the app's lifespan starts it (flusher, subscriber, tenant sweeper)
and stops it (flushed, unsubscribed, sweeper stopped) before the store's connection closes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from asm_mock.domain.controls import Controls
from asm_mock.domain.scenarios import CannedCheck
from asm_mock.domain.service import MockService
from asm_mock.shared.connection import RedisConnection
from asm_mock.shared.control_sync import ControlSync
from asm_mock.shared.journal_stream import SharedJournal
from asm_mock.shared.store import DEFAULT_NAMESPACE
from asm_mock.shared.tenant_expiry import TenantSweeper

__all__ = ["Replica"]


class Replica:
    """This process's part in the replicas sharing `connection`'s store under `namespace`."""

    def __init__(
        self,
        connection: RedisConnection,
        *,
        journal: SharedJournal,
        service: MockService,
        controls: Controls,
        scenarios: Path,
        canned: Callable[[], CannedCheck],
        tenant_ttl_s: float,
        forget_tenant: Callable[[str], object],
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        """`forget_tenant(name)` drops this replica's copy of a named tenant that expired."""
        self.journal = journal
        self.tenant_sweeper = TenantSweeper(connection, ttl_s=tenant_ttl_s, forget=forget_tenant)
        self.sync = ControlSync(
            connection,
            service=service,
            controls=controls,
            scenarios=scenarios,
            canned=canned,
            on_reset=journal.clear,
            namespace=namespace,
        )

    async def start(self) -> None:
        await self.sync.start()  # the journal's flusher starts with the first request
        self.tenant_sweeper.start()

    async def stop(self) -> None:
        """Graceful: the sweeper stopped, the subscription closed, the journal's queue shipped."""
        await self.tenant_sweeper.stop()
        await self.sync.stop()
        await self.journal.stop()
