"""What one replica shares with the others through the store, besides sessions and tokens:
the journal stream and the control state. `create_app` builds one `Replica` for a Redis store;
the app's lifespan starts it (flusher, subscriber) and stops it (flushed, unsubscribed)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import redis.asyncio as aioredis

from asm_mock.domain.controls import Controls
from asm_mock.domain.journal import OperationOf
from asm_mock.domain.scenarios import CannedCheck
from asm_mock.domain.service import MockService
from asm_mock.shared.connection import unavailable
from asm_mock.shared.control_sync import ControlSync
from asm_mock.shared.journal_stream import SharedJournal

__all__ = ["DEFAULT_NAMESPACE", "Replica", "shared_journal"]

DEFAULT_NAMESPACE = "asm-mock"


def shared_journal(
    client: aioredis.Redis, *, url: str, capacity: int, operation_of: OperationOf, namespace: str
) -> SharedJournal:
    return SharedJournal(
        client,
        namespace=namespace,
        capacity=capacity,
        operation_of=operation_of,
        unavailable=partial(unavailable, url),
    )


class Replica:
    """This process's part in the replicas sharing `client`'s store under `namespace`."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        url: str,
        namespace: str,
        journal: SharedJournal,
        service: MockService,
        controls: Controls,
        scenarios: Path,
        canned: Callable[[], CannedCheck],
    ) -> None:
        self.client = client
        self.journal = journal
        self.sync = ControlSync(
            client,
            namespace=namespace,
            service=service,
            controls=controls,
            scenarios=scenarios,
            canned=canned,
            unavailable=partial(unavailable, url),
            on_reset=journal.clear,
        )

    async def start(self) -> None:
        self.journal.start()
        await self.sync.start()

    async def stop(self) -> None:
        """Graceful: the journal's queue shipped, the subscription closed, the pool closed."""
        await self.sync.stop()
        await self.journal.stop()
        with contextlib.suppress(Exception):
            await self.client.aclose()
