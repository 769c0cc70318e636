"""Tenants: isolated states of one running mock, for CI jobs that share it.

A tenant is a name and its own mutable state: a `MockService` (sessions, tokens, the world it
serves), a `Journal` and `Controls`. Every tenant shares the world the mock started with until a
scenario or a restored snapshot replaces its own (worlds are immutable, so sharing is free).
The default tenant (no name) is the mock as it always was; named tenants are made on first use
by one factory, bounded in number and dropped after an idle time. Nothing here knows how a
request names its tenant (see `asm_mock.http.tenancy`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from asm_mock.domain.errors import TenantLimitError, ValidationError
from asm_mock.domain.journal import Journal
from asm_mock.domain.service import MockService
from asm_mock.domain.store import InMemoryStore

if TYPE_CHECKING:
    from asm_mock.domain.controls import Controls
    from asm_mock.domain.journal import OperationOf
    from asm_mock.domain.service import StateStore
    from asm_mock.domain.world import World

__all__ = [
    "DEFAULT_MAX_TENANTS",
    "DEFAULT_TENANT_TTL_S",
    "SharedControls",
    "Tenant",
    "TenantFactory",
    "TenantInfo",
    "Tenants",
    "check_tenant_name",
    "in_memory_store",
]

DEFAULT_MAX_TENANTS = 100
DEFAULT_TENANT_TTL_S = 3600.0
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_tenant_name(name: str, subject: str) -> str:
    """`name` if it may name a tenant, else a ValidationError about `subject` (its source)."""
    if _NAME.fullmatch(name) is None:
        raise ValidationError(
            f"Tenant name {name[:80]!r} is invalid: 1 to 64 of A-Z a-z 0-9 . _ -",
            reason="invalid",
            subject=subject,
            subject_type="header" if subject.lower().startswith("x-") else "parameter",
        )
    return name


class SharedControls(Protocol):
    """A tenant's run-time controls as replicas sharing a store share them: told of each change
    this replica made, and caught up with the others' (`refresh`)."""

    async def refresh(self) -> None: ...

    async def reset(self) -> None: ...

    async def settings_changed(self) -> None: ...

    async def scenario_applied(self, name: str) -> None: ...

    async def state_restored(self, document: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, eq=False, slots=True)
class Tenant:
    """One tenant's state; `name` is None for the default tenant. `shared`: its controls as
    other replicas share them (None: this process alone)."""

    name: str | None
    service: MockService
    journal: Journal
    controls: Controls
    shared: SharedControls | None = None


@dataclass(frozen=True, slots=True)
class TenantInfo:
    """A live tenant as the admin API lists it."""

    name: str
    idle_s: float
    sessions: int
    tokens: int
    requests: int


def in_memory_store(_name: str) -> StateStore:
    """The default tenants' store: their own dictionaries in this process."""
    return InMemoryStore()


class TenantFactory:
    """Makes a tenant as the default one was when the mock started: the started world (after
    start-up scenarios), the started run-time settings and canned answers, an empty journal.

    `store` gives each tenant's store from its name (a shared store keys it by the name);
    `started` is read at each creation, so a tenant made after a --watch reload starts from
    the reloaded world.
    """

    def __init__(
        self,
        *,
        started: Callable[[], World],
        controls: Controls,
        journal_size: int,
        operation_of: OperationOf,
        store: Callable[[str], StateStore] = in_memory_store,
        journal: Callable[[str], Journal] | None = None,
        shared: Callable[[str, MockService, Controls], SharedControls] | None = None,
    ) -> None:
        """`journal` and `shared` make a tenant's journal and shared controls from its name
        (None: a journal of its own, controls this process alone)."""
        self._journal = journal
        self._shared = shared
        self._started = started
        self._controls = controls
        self._journal_size = journal_size
        self._operation_of = operation_of
        self._store = store

    def __call__(self, name: str) -> Tenant:
        service = MockService(self._started(), store=self._store(name))
        service.mark_start()
        controls = self._controls.as_started()
        return Tenant(
            name=name,
            service=service,
            journal=Journal(self._journal_size, operation_of=self._operation_of)
            if self._journal is None
            else self._journal(name),
            controls=controls,
            shared=None if self._shared is None else self._shared(name, service, controls),
        )


class Tenants:
    """The default tenant and up to `max_tenants` named ones, each dropped (its state gone) once
    idle for `ttl_s` seconds by `time_source` (monotonic seconds; tests move one by hand)."""

    def __init__(
        self,
        default: Tenant,
        *,
        factory: Callable[[str], Tenant],
        max_tenants: int = DEFAULT_MAX_TENANTS,
        ttl_s: float = DEFAULT_TENANT_TTL_S,
        time_source: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default = default
        self._factory = factory
        self._max = max_tenants
        self._ttl_s = ttl_s
        self._now = time_source
        self._lock = threading.Lock()
        self._named: dict[str, tuple[Tenant, float]] = {}  # name -> (tenant, last used)

    @property
    def max_tenants(self) -> int:
        return self._max

    def get(self, name: str) -> Tenant:
        """The tenant `name`, made now if it is new (or expired); marks it used.
        Raises TenantLimitError when `max_tenants` live tenants leave no room for a new one."""
        now = self._now()
        with self._lock:
            known = self._named.get(name)
            if known is not None and now - known[1] < self._ttl_s:
                self._named[name] = (known[0], now)
                return known[0]
            self._drop_expired(now)
            if len(self._named) >= self._max:
                raise TenantLimitError(
                    f"Tenant {name!r} refused: all {self._max} tenants (--max-tenants) are in "
                    "use; delete one (DELETE /__admin/tenants/NAME) or wait until one is idle "
                    "for --tenant-ttl"
                )
            tenant = self._factory(name)
            self._named[name] = (tenant, now)
            return tenant

    def _drop_expired(self, now: float) -> None:
        for name in [n for n, (_, used) in self._named.items() if now - used >= self._ttl_s]:
            del self._named[name]

    def remove(self, name: str) -> Tenant | None:
        """Drop tenant `name` from the live ones and return it (None if there was none); what
        a shared store keeps of it is the caller's to clear."""
        with self._lock:
            removed = self._named.pop(name, None)
        return None if removed is None else removed[0]

    def clear(self) -> None:
        """Drop every named tenant."""
        with self._lock:
            self._named.clear()

    def named(self) -> list[Tenant]:
        """The live named tenants (expired ones are dropped first), oldest first."""
        with self._lock:
            self._drop_expired(self._now())
            return [tenant for tenant, _ in self._named.values()]

    def __len__(self) -> int:
        return len(self.named())

    def every(self) -> list[Tenant]:
        """The default tenant, then the live named ones."""
        return [self.default, *self.named()]

    async def info(self, only: str | None = None) -> list[TenantInfo]:
        """The live named tenants (or only `only`), as the admin API lists them."""
        now = self._now()
        with self._lock:
            self._drop_expired(now)
            live = [(t, used) for n, (t, used) in self._named.items() if only in (None, n)]
        return [
            TenantInfo(
                name=tenant.name or "",
                idle_s=round(now - used, 3),
                sessions=await tenant.service.store.session_count(),
                tokens=await tenant.service.store.token_count(),
                requests=tenant.journal.total,
            )
            for tenant, used in live
        ]
