"""The admin API under /__admin: its handlers and its own OpenAPI document (admin.yaml)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from asm_mock import __version__
from asm_mock.contract import Contract, load_contract
from asm_mock.domain.conformance import DocumentedOperation, conformance_report
from asm_mock.domain.controls import Controls
from asm_mock.domain.errors import (
    FixtureError,
    NotFoundError,
    ScenarioError,
    StoreUnavailableError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from asm_mock.domain.journal import Journal, JournalEntry
from asm_mock.domain.scenarios import (
    CannedCheck,
    Scenario,
    apply,
    load_scenarios,
    scenario_named,
    settings_changes,
)
from asm_mock.domain.service import MockService
from asm_mock.domain.tenants import SharedControls, Tenant, Tenants, check_tenant_name
from asm_mock.http.admin_document import ADMIN_DOCUMENT
from asm_mock.http.readiness import Readiness
from asm_mock.http.report_format import report_document
from asm_mock.http.serialize import timestamp
from asm_mock.http.settings_format import settings_view
from asm_mock.http.state_format import dump_state, load_state
from asm_mock.resources import default_fixtures_dir
from asm_mock.shared.url import MEMORY, StoreUrl

__all__ = ["AdminHandlers", "admin_contract"]

Answer = tuple[dict[str, Any], int]
_NO_DRIFT = (
    "The drift report is the validating proxy's: asm-mock proxy --upstream URL serves it; "
    "the mock has no upstream"
)


def admin_contract() -> Contract:
    return load_contract(ADMIN_DOCUMENT)


def _entry(entry: JournalEntry) -> dict[str, Any]:
    return {
        "time": timestamp(entry.time),
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "operationId": entry.operation_id,
        "status": entry.status,
        "durationMs": round(entry.duration_ms, 3),
        "problems": list(entry.problems),
    }


def _store_description(store: StoreUrl) -> dict[str, str]:
    if store.is_memory:
        return {"kind": "memory"}
    return {"kind": "redis", "url": str(store)}  # str(): the password shows as ***


async def _reset(tenant: Tenant, *, drop_tokens: bool) -> None:
    """`tenant` back to its start: world, sessions, settings, journal (and tokens if asked),
    in this process and, through its shared controls, on every replica."""
    await tenant.service.reset(drop_tokens=drop_tokens)
    tenant.controls.reset()
    await tenant.journal.clear_all()
    if tenant.shared is not None:
        await tenant.shared.reset()


def _json_object(body: Any) -> dict[str, Any]:
    """The parsed JSON body. BodyGuard refuses untyped bodies of POSTs only; without a JSON
    Content-Type Connexion hands PUT and PATCH handlers the raw bytes, unvalidated."""
    if not isinstance(body, dict):
        raise UnsupportedMediaTypeError(
            "Content-Type header is missing or not JSON; this operation consumes application/json"
        )
    return body


class AdminHandlers:
    """Each handler acts on the tenant of the request (`tenant()`), and on no other."""

    def __init__(
        self,
        tenant: Callable[[], Tenant],
        tenants: Tenants,
        *,
        canned: CannedCheck,
        scenarios: Path | None = None,
        operations: Sequence[DocumentedOperation] = (),
        reload: Callable[[], dict[str, Any]] | None = None,
        store: StoreUrl = MEMORY,
    ) -> None:
        """`canned` checks scenarios' canned answers against the served contract; `operations`
        are the served contract's, which the conformance report covers; `reload` says how
        --watch's last reload went (None: the mock does not watch); `store` is where sessions
        and tokens live, as health reports it."""
        self._operations = tuple(operations)
        self._tenant = tenant
        self._tenants = tenants
        self._canned = canned
        self._scenario_dir = scenarios  # None: the packaged fixtures/scenarios
        self._reload = reload
        self._store = _store_description(store)

    @property
    def _service(self) -> MockService:
        return self._tenant().service

    @property
    def _journal(self) -> Journal:
        return self._tenant().journal

    @property
    def _published(self) -> SharedControls | None:
        """Where this tenant's run-time changes go, to reach the other replicas (None: none)."""
        return self._tenant().shared

    @property
    def _controls(self) -> Controls:
        return self._tenant().controls

    async def _health(self) -> dict[str, Any]:
        health: dict[str, Any] = {
            "status": "UP",
            "version": __version__,
            "seed": self._service.world().seed,
            "customers": len(self._service.world().customers),
        }
        try:
            health["sessions"] = await self._service.store.session_count()
            health["tokens"] = await self._service.store.token_count()
            requests = await self._journal.count()
            store = {**self._store, "status": "UP"}
        except StoreUnavailableError as error:
            # 200 still: this is the liveness probe, and restarting the mock brings no Redis
            # back; it serves again by itself once the store answers
            health["status"] = "DEGRADED"
            store = {**self._store, "status": "DOWN", "error": error.message}
            requests = self._journal.total  # what this replica holds: the stream is away
        health.update(
            requests=requests,
            authMode="permissive" if self._controls.settings.permissive_auth else "strict",
            reload=self._reload() if self._reload is not None else {"status": "off"},
            store=store,
        )
        tenant = self._tenant()
        if tenant is self._tenants.default:  # a named tenant does not learn of the others
            health["tenants"] = len(self._tenants)
        else:
            health["tenant"] = tenant.name
        return health

    async def health(self) -> Answer:
        return await self._health(), 200

    async def ready(self) -> Answer:
        # Connexion serves this only once its stack has loaded; ReadinessProbe answers before.
        return Readiness.everything_loaded().body(), 200

    async def reset(self, body: dict[str, Any] | None = None) -> Answer:
        await _reset(self._tenant(), drop_tokens=bool((body or {}).get("dropTokens", False)))
        return await self._health(), 200

    async def _journal_body(self, entries: list[JournalEntry]) -> dict[str, Any]:
        return {
            "total": await self._journal.count(),
            "capacity": self._journal.capacity,
            "requests": [_entry(e) for e in entries],
        }

    async def listRequests(  # noqa: N802 - named by admin.yaml's operationId
        self,
        path: str | None = None,
        operationId: str | None = None,  # noqa: N803
        status: int | None = None,
        limit: int = 100,
    ) -> Answer:
        entries = await self._journal.read(
            path=path, operation_id=operationId, status=status, limit=limit
        )
        return await self._journal_body(entries), 200

    async def clearRequests(self) -> Answer:  # noqa: N802
        await self._journal.clear_all()
        return await self._journal_body([]), 200

    # -- the client conformance report: a function of the journal, so both clear it ----------

    async def _report(self) -> dict[str, Any]:
        report = conformance_report(await self._journal.read(), self._operations)
        # a request answered between the two reads is in `total` at worst, never missing from it
        total = max(await self._journal.count(), report.requests)
        return report_document(report, total=total, capacity=self._journal.capacity)

    async def getReport(self) -> Answer:  # noqa: N802
        return await self._report(), 200

    async def clearReport(self) -> Answer:  # noqa: N802
        await self._journal.clear_all()
        return await self._report(), 200

    # -- state ------------------------------------------------------------------------------

    async def getState(self) -> Answer:  # noqa: N802
        sessions = await self._service.store.all_sessions()
        return dump_state(self._service.world(), sessions), 200

    async def putState(self, body: Any) -> Answer:  # noqa: N802
        restored = load_state(_json_object(body))  # checked in full before anything changes
        await self._service.restore(restored.world, restored.sessions)
        if self._published is not None:
            await self._published.state_restored(_json_object(body))
        return await self._health(), 200

    # -- settings ---------------------------------------------------------------------------

    async def getSettings(self) -> Answer:  # noqa: N802
        return settings_view(self._controls.settings), 200

    async def updateSettings(self, body: Any) -> Answer:  # noqa: N802
        changes = settings_changes(_json_object(body))
        try:
            settings = self._controls.update(**changes)
        except ValueError as error:  # a rule of RuntimeSettings as a whole
            raise ValidationError(str(error), reason="invalid", subject_type="body") from None
        if self._published is not None:
            await self._published.settings_changed()
        return settings_view(settings), 200

    # -- scenarios --------------------------------------------------------------------------

    def _scenarios(self) -> dict[str, Scenario]:
        directory = self._scenario_dir or default_fixtures_dir() / "scenarios"
        if not directory.is_dir():
            return {}  # none to list; applying one answers 404
        try:
            return load_scenarios(directory, canned=self._canned)
        except FixtureError as error:
            raise ScenarioError(error) from None

    async def listScenarios(self) -> Answer:  # noqa: N802
        scenarios = [
            {"name": s.name, "description": s.description} for s in self._scenarios().values()
        ]
        return {"scenarios": scenarios}, 200

    async def applyScenario(self, name: str) -> Answer:  # noqa: N802
        scenario = scenario_named(self._scenarios(), name)
        try:
            await apply(scenario, service=self._service, controls=self._controls)
        except FixtureError as error:
            raise ScenarioError(error) from None
        if self._published is not None:
            await self._published.scenario_applied(scenario.name)
        return {
            "name": scenario.name,
            "description": scenario.description,
            "settings": settings_view(self._controls.settings),
            "customers": len(self._service.world().customers),
            "sessions": await self._service.store.session_count(),
        }, 200

    # -- tenants ----------------------------------------------------------------------------

    async def listTenants(self) -> Answer:  # noqa: N802
        # a named tenant sees itself only: no tenant learns of another
        tenants = await self._tenants.info(only=self._tenant().name)
        return {
            "maxTenants": self._tenants.max_tenants,
            "tenants": [
                {
                    "name": t.name,
                    "idleSeconds": t.idle_s,
                    "sessions": t.sessions,
                    "tokens": t.tokens,
                    "requests": t.requests,
                }
                for t in tenants
            ],
        }, 200

    async def deleteTenant(self, tenant: str) -> Answer:  # noqa: N802
        name = check_tenant_name(tenant, "tenant")
        own = self._tenant().name
        removed = self._tenants.remove(name) if own in (None, name) else None
        if removed is None:  # none, or another's: not seen
            raise NotFoundError(
                f"No tenant {tenant!r}",
                reason="notFound",
                subject="tenant",
                subject_type="parameter",
            )
        # what a shared store keeps of it goes too: replicas that still hold the tenant see a
        # reset, and its next request anywhere finds no session, token or journal entry
        await _reset(removed, drop_tokens=True)
        return {"name": name, "deleted": True}, 200

    # -- the drift report is the validating proxy's (asm-mock proxy) ---------------------------

    async def getDrift(self) -> Answer:  # noqa: N802
        raise NotFoundError(_NO_DRIFT)

    async def clearDrift(self) -> Answer:  # noqa: N802
        raise NotFoundError(_NO_DRIFT)

    def lookup(self, operation_id: str) -> Callable[..., Any]:
        handler = getattr(self, operation_id, None)
        if handler is None or operation_id.startswith("_") or operation_id == "lookup":
            raise LookupError(f"no admin handler for operationId {operation_id!r}")
        return handler  # type: ignore[no-any-return]
