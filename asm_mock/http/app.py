"""Assembles the ASGI application: token endpoint, fast lane and guards at once; Connexion's
stack (`asm_mock.http.connexion_stack`) in the background.

Serving starts before Connexion is imported: the token endpoint and the fast lane need none of
it, and importing and building it is most of a cold start. It starts loading once the first
answer has left, or LOAD_AFTER_START_S after lifespan startup, or at the first request that
needs it, whichever comes first: loading on a thread while the first answer is made slows that
answer by ~60 ms (the GIL). Requests that need the stack meanwhile (a
validation error, a 404, the admin API, Swagger UI) wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.blocking import run_blocking
from asm_mock.contract import CompiledContract, Router, load_compiled
from asm_mock.contract.complete import completions
from asm_mock.domain.controls import Controls, Latency, RuntimeSettings
from asm_mock.domain.fixtures import load_fixtures
from asm_mock.domain.generate import Progress, build_world
from asm_mock.domain.journal import Journal, JournalReader
from asm_mock.domain.service import MockService, StateStore
from asm_mock.domain.tenants import Tenant, TenantFactory, Tenants, in_memory_store
from asm_mock.http.admin_guard import AdminGuard, is_admin_path
from asm_mock.http.completing import CompletedAnswers, CompletedErrors
from asm_mock.http.cors import CorsMiddleware
from asm_mock.http.deferred import Background, DeferredApp
from asm_mock.http.fast_lane import FastLane
from asm_mock.http.handlers import OperationHandlers
from asm_mock.http.limits import MAX_ADMIN_BODY_BYTES, BodyGuard
from asm_mock.http.oauth import TOKEN_PATH, TokenEndpoint
from asm_mock.http.prefer import PreferenceGate
from asm_mock.http.preferred import EXAMPLE, GENERATED, ContractAnswers
from asm_mock.http.readiness import ReadinessProbe
from asm_mock.http.recorder import RequestRecorder
from asm_mock.http.reload import ReloadStatus, ServedVersion, Watcher
from asm_mock.http.security import SettlingTokenChecks, authorizer
from asm_mock.http.tenancy import FullPath, TenantRouting, current_tenant
from asm_mock.resources import contract_path, default_fixtures_dir
from asm_mock.settings import AuthMode, Settings

if TYPE_CHECKING:
    from pathlib import Path

    from asm_mock.domain.scenarios import CannedCheck
    from asm_mock.domain.world import World
    from asm_mock.http.connexion_stack.apps import ConnexionApps
    from asm_mock.shared.connection import RedisConnection
    from asm_mock.shared.journal_stream import SharedJournal
    from asm_mock.shared.replicas import Replica

__all__ = [
    "LOAD_AFTER_START_S",
    "WORLD",
    "AsmMockApp",
    "OperationSources",
    "create_app",
    "request_operation_id",
]

LOAD_AFTER_START_S = 0.2
WORLD = "world"  # an operation answered by the mock's own handler, from the world


class OperationSources:
    """Each operation's handler: the mock's own (answered from the world) where it implements
    the operationId, else one answering from the contract (`ContractAnswers`), so a revision's
    new operations are served too."""

    def __init__(
        self,
        contract: CompiledContract,
        handlers: OperationHandlers,
        *,
        native: CompiledContract,
        completed: CompletedAnswers,
        seed: int,
    ):
        self._contract = contract
        self._native = native
        self._handlers = handlers
        self._completed = completed
        self._answers = ContractAnswers(contract, seed=seed)

    def lookup(self, operation_id: str) -> Callable[..., Any]:
        own = self._own(operation_id)
        if own is not None:
            return self._completed.wrap(operation_id, own)
        operation = self._contract.operation(operation_id)
        if operation is None:
            raise LookupError(f"no operation {operation_id!r} in the contract")
        return self._answers.handler(operation)

    def _own(self, operation_id: str) -> Callable[..., Any] | None:
        """The mock's handler, where it exists and the served operation still declares every
        argument it requires (a revision may rename a parameter the handler needs)."""
        try:
            function = self._handlers.lookup(operation_id)
        except LookupError:
            return None
        operation = self._contract.operation(operation_id)
        if operation is None:
            return function  # not in the served contract: nothing routes to it
        given = {p.name for p in operation.parameters} | {"token_info"}
        if operation.body is not None:
            given.add("body")
        required = (
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )
        return function if all(name in given for name in required) else None

    @property
    def generates(self) -> bool:
        """Whether answers are generated from schemas: completed ones, or operations the mock
        lacks and the contract gives no example for."""
        return self._completed.changes_answers or GENERATED in self.sources().values()

    def sources(self) -> dict[str, str]:
        """operationId -> WORLD, or where ContractAnswers takes its answer from."""
        return {
            op.operation_id: WORLD
            if self._own(op.operation_id) is not None
            else ContractAnswers.source(op)
            for op in self._contract.operations
        }

    def report(self) -> list[str]:
        """`asm-mock check`'s lines: each operation's source, and the mock's operations the
        served contract dropped."""
        by_source: dict[str, list[str]] = {}
        for operation_id, source in self.sources().items():
            by_source.setdefault(source, []).append(operation_id)
        titles = {WORLD: "from the world", EXAMPLE: "from examples", GENERATED: "generated"}
        lines = [
            f"{titles[source]} ({len(ids)}): {', '.join(ids)}"
            for source, ids in sorted(
                by_source.items(), key=lambda item: list(titles).index(item[0])
            )
        ]
        dropped = self.dropped()
        lines.append(f"dropped by the contract ({len(dropped)}): {', '.join(dropped) or 'none'}")
        return [f"operations {line}" for line in lines]

    def dropped(self) -> list[str]:
        """The operations of the packaged contract (all the mock's own) the served one lacks."""
        return [
            op.operation_id
            for op in self._native.operations
            if op.operation_id not in self._contract.by_id
        ]


class AsmMockApp:
    """The whole mock as one ASGI app; `service` is its (default tenant's) state, `journal`
    what it answered; `tenants` the named tenants beside it (see `asm_mock.domain.tenants`).

    What the contract, fixtures and scenarios determine is one `ServedVersion`; with --watch a
    `Watcher` swaps in a rebuilt one after an edit. Each request is handled by the version
    current when it arrives; the service's store, the journal and the controls outlive versions.
    """

    def __init__(
        self,
        service: MockService,
        settings: Settings,
        *,
        version: ServedVersion,
        journal: Journal,
        controls: Controls,
        reload_status: ReloadStatus,
        tenants: Tenants,
        rebuild: Callable[[], ServedVersion] | None = None,
        replica: Replica | None = None,
        store_connection: RedisConnection | None = None,
    ) -> None:
        """`replica`: what this process shares with other replicas (None: the memory store)."""
        self.service = service
        self.replica = replica
        # the Redis behind the store (None: the memory store); its pool closes at shutdown
        self.store_connection = store_connection
        self.tenants = tenants
        self.settings = settings
        self.journal = journal
        self.controls = controls
        self.reload_status = reload_status
        self._version = version
        self._watcher = (
            None
            if rebuild is None
            else Watcher(
                current=lambda: self._version,
                build=rebuild,
                swap=self._swap,
                status=reload_status,
            )
        )
        current = current_tenant(tenants.default)
        self._token_endpoint = TokenEndpoint(lambda: current().service.tokens)
        # CORS outermost: its headers (and refused preflights) reach every answer, admin's too;
        # the tenant chosen before the recorder, so each tenant's requests land in its journal.
        self._app = CorsMiddleware(
            TenantRouting(
                RequestRecorder(
                    self._dispatch,
                    journal=lambda: current().journal,
                    journaled=lambda path: not is_admin_path(path),
                    operation_id=self.operation_id,
                ),
                tenants=tenants,
            ),
            origins=settings.cors_origins,
        )

    @property
    def version(self) -> ServedVersion:
        """The version serving now."""
        return self._version

    @property
    def contract(self) -> CompiledContract:
        return self._version.contract

    @property
    def operations(self) -> OperationSources:
        return self._version.operations

    @property
    def watcher(self) -> Watcher | None:
        """The --watch watcher (None without it); `reload()` also runs one rebuild on demand."""
        return self._watcher

    async def _swap(self, version: ServedVersion) -> None:
        """Make `version` current, on the event loop: in every tenant, its world replaces the
        old one with every session and token kept (a session whose customer is gone stays
        readable), and `/__admin/reset` returns to it from now on."""
        swapped: set[Tenant] = set()
        # a tenant made while another's store is awaited starts from the old world: it is
        # swapped too, on the next pass; the last pass awaits nothing before the version changes
        while pending := [t for t in self.tenants.every() if t not in swapped]:
            for tenant in pending:
                sessions = await tenant.service.store.all_sessions()
                await tenant.service.restore(version.world, sessions)
                tenant.service.mark_start()
                swapped.add(tenant)
        self._version = version

    def operation_id(self, method: str, path: str) -> str | None:
        """What a request is journaled and logged as: the contract's operationId, or ours."""
        return request_operation_id(self._version.contract.router, method, path)

    @property
    def fully_loaded(self) -> bool:
        """Whether Connexion's stack has loaded (until then, only the fast lane answers)."""
        return self._version.connexion.ready

    def load_fully(self, timeout: float | None = None) -> None:
        """Load Connexion's stack now, and wait for it (blocks the calling thread)."""
        self._version.connexion.result(timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        connexion = self._version.connexion
        await self._app(scope, receive, send)
        if not connexion.started:
            connexion.start()  # the first answer has left: load the rest now

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        timer: asyncio.TimerHandle | None = None
        watching: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                timer = loop.call_later(LOAD_AFTER_START_S, self._version.connexion.start)
                if self._watcher is not None:
                    watching = asyncio.create_task(self._watcher.run(), name="asm-mock watch")
                if self.replica is not None:
                    await self.replica.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if timer is not None:
                    timer.cancel()  # a quick shutdown must not start an import while exiting
                if watching is not None:
                    watching.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watching
                if self.replica is not None:  # after the last answer: its entry is shipped
                    await self.replica.stop()
                if self.store_connection is not None:
                    await self.store_connection.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        version = self._version  # the whole request is served by one version
        path = scope.get("path", "")
        if is_admin_path(path):
            await version.admin(scope, receive, send)
        elif path == TOKEN_PATH and scope["type"] == "http":
            await self._token_endpoint(scope, receive, send)
        else:
            await version.api(scope, receive, send)


def request_operation_id(routes: Router, method: str, path: str) -> str | None:
    """The contract's operationId of a request, or asm-mock's own name for it."""
    if is_admin_path(path):
        return "admin"
    return "oauthToken" if path == TOKEN_PATH else routes.operation_id(method, path)


@dataclass(frozen=True)
class _Live:
    """What outlives served versions: the state, what was answered, the run-time settings,
    each the default tenant's; `tenant` is the current request's tenant (see tenancy.py)."""

    settings: Settings
    service: MockService
    journal: JournalReader
    controls: Controls
    tenant: Callable[[], Tenant]
    tenants: Tenants
    reload_status: ReloadStatus
    fast_lane: bool
    # the packaged contract, which shapes the world's answers, where a revision is served:
    # loaded once, as no reload changes it (None: the served contract is the packaged one)
    native: CompiledContract | None


def _connexion_loader(
    contract: CompiledContract, handlers: OperationSources, live: _Live, *, scenarios: Path
) -> Callable[[], ConnexionApps]:
    tenant = live.tenant

    def load() -> ConnexionApps:
        from asm_mock.contract.canned import canned_answers  # jsonschema: on this thread
        from asm_mock.http.admin import AdminHandlers
        from asm_mock.http.connexion_stack import admin_app, api_app, connexion_apps
        from asm_mock.http.report_format import documented_operations

        if handlers.generates:  # Faker's import (~0.3 s) here, not in the first such answer
            from asm_mock.contract.generate import warm_up

            warm_up()
        return connexion_apps(
            api=lambda: api_app(
                contract,
                handlers=handlers.lookup,
                tokens=lambda: tenant().service.tokens,
                permissive=lambda: tenant().controls.settings.permissive_auth,
                controls=lambda: tenant().controls,
            ),
            admin=lambda: admin_app(
                AdminHandlers(
                    tenant,
                    live.tenants,
                    scenarios=scenarios,
                    canned=canned_answers(contract),
                    operations=documented_operations(contract),
                    reload=live.reload_status.body,
                    store=live.settings.store,
                ),
                schemas=contract.schemas,
            ),
        )

    return load


def _served_version(contract: CompiledContract, world: World, live: _Live) -> ServedVersion:
    """The ASGI apps serving `contract` and `world`; Connexion's stack still to load."""
    settings, tenant = live.settings, live.tenant
    fixtures = settings.fixtures or default_fixtures_dir()
    # the packaged contract shapes the world's answers; a revision's are completed to fit it
    native = live.native or contract
    completed = CompletedAnswers(
        completions(contract, native), seed=lambda: tenant().service.world().seed
    )
    handlers = OperationSources(
        contract,
        OperationHandlers(lambda: tenant().service),
        native=native,
        completed=completed,
        seed=settings.seed,
    )
    connexion = Background(
        _connexion_loader(contract, handlers, live, scenarios=_scenarios_dir(settings)),
        name="Connexion stack",
    )
    full_stack = FullPath(DeferredApp(connexion, lambda apps: apps.api))
    lane = FastLane(
        full_stack,
        contract=contract,
        handler=handlers.lookup,
        authorize=authorizer(
            lambda: tenant().service.tokens, lambda: tenant().controls.settings.permissive_auth
        ),
        controls=lambda: tenant().controls,
    )
    routes = contract.router
    api = PreferenceGate(
        lane if live.fast_lane else full_stack,
        controls=lambda: tenant().controls,
        is_operation=lambda method, path: routes.operation_id(method, path) is not None,
    )
    admin = AdminGuard(
        BodyGuard(
            ReadinessProbe(
                FullPath(DeferredApp(connexion, lambda apps: apps.admin)), stack=connexion
            ),
            limit=MAX_ADMIN_BODY_BYTES,
            methods=frozenset({"POST", "PUT", "PATCH"}),
        ),
        token=settings.admin_token,
    )
    guarded: ASGIApp = BodyGuard(api)
    if not live.settings.store.is_memory:  # a token may be answered from a replica's memory
        guarded = SettlingTokenChecks(guarded)
    return ServedVersion(
        contract=contract,
        world=world,
        operations=handlers,
        api=CompletedErrors(guarded, completed=completed, operation_of=routes.operation_id)
        if completed.changes_errors()
        else guarded,
        admin=admin,
        connexion=connexion,
        fixtures=fixtures,
    )


def _native(settings: Settings) -> CompiledContract | None:
    """The packaged contract where `settings` serve another one, else None."""
    packaged = contract_path()
    if settings.contract is None or settings.contract.resolve() == packaged.resolve():
        return None
    return load_compiled(packaged, cache_dir=settings.cache_dir)


def _scenarios_dir(settings: Settings) -> Path:
    return (settings.fixtures or default_fixtures_dir()) / "scenarios"


def _apply_scenarios(
    settings: Settings, service: MockService, controls: Controls, canned: CannedCheck
) -> None:
    """`settings.scenarios`, applied in order (atomic each: a bad one raises, nothing half-done)."""
    from asm_mock.domain.scenarios import apply_scenario

    async def apply_in_order() -> None:
        for name in settings.scenarios:
            await apply_scenario(
                name,
                service=service,
                controls=controls,
                directory=_scenarios_dir(settings),
                canned=canned,
            )

    run_blocking(apply_in_order())  # create_app is synchronous; so are the --watch rebuilds


def _contract(settings: Settings) -> CompiledContract:
    return load_compiled(settings.contract or contract_path(), cache_dir=settings.cache_dir)


def _world(settings: Settings, progress: Progress | None = None) -> World:
    return build_world(
        seed=settings.seed,
        customers=settings.customers,
        fixtures=load_fixtures(settings.fixtures or default_fixtures_dir()),
        progress=progress,
        pools_cache=settings.cache_dir,
    )


def _rebuild(live: _Live) -> ServedVersion:
    """The next version, from the files as they are now, loaded and checked in full (Connexion's
    stack included) before anything serves it; raises what the first bad file raises. The live
    state is not touched: start-up scenarios are applied to a scratch service."""
    from asm_mock.contract.canned import canned_answers
    from asm_mock.domain.scenarios import load_scenarios

    settings = live.settings
    contract = _contract(settings)
    world = _world(settings)
    scenarios = _scenarios_dir(settings)
    canned = canned_answers(contract)
    if scenarios.is_dir():  # every scenario, applied or not: /__admin/scenarios lists them
        load_scenarios(scenarios, canned=canned)
    if settings.scenarios:
        scratch = MockService(world)
        # their run-time settings stay as they are now
        controls = Controls(live.controls.settings, seed=settings.seed)
        _apply_scenarios(settings, scratch, controls, canned)
        world = scratch.world()
    version = _served_version(contract, world, live)
    version.connexion.result()  # raises what Connexion refuses, before the version serves
    return version


def _shared_journal(
    connection: RedisConnection, settings: Settings, operation_of: Callable[[str, str], str | None]
) -> SharedJournal:
    from asm_mock.shared.journal_stream import SharedJournal

    return SharedJournal(connection, capacity=settings.journal_size, operation_of=operation_of)


def _shared_tenants(
    connection: RedisConnection | None,
    settings: Settings,
    operation_of: Callable[[str, str], str | None],
    contract: CompiledContract,
) -> dict[str, Any]:
    """With Redis, named tenants' journals and run-time controls are shared by the replicas,
    under the tenant's namespace (`tenant:NAME`, as its store's)."""
    if connection is None:
        return {}
    from asm_mock.shared.control_sync import ControlSync
    from asm_mock.shared.journal_stream import SharedJournal
    from asm_mock.shared.tenant_expiry import tenant_namespace

    canned = _canned_check(contract)
    return {
        "journal": lambda name: SharedJournal(
            connection,
            capacity=settings.journal_size,
            operation_of=operation_of,
            namespace=tenant_namespace(name),
            tenant=name,
        ),
        "shared": lambda name, service, controls: ControlSync(
            connection,
            service=service,
            controls=controls,
            scenarios=_scenarios_dir(settings),
            canned=canned,
            namespace=tenant_namespace(name),
            tenant=name,
        ),
    }


def _canned_check(contract: CompiledContract) -> Callable[[], CannedCheck]:
    """Scenarios' canned-answer check, made when first needed (it imports jsonschema)."""

    @cache
    def check() -> CannedCheck:
        from asm_mock.contract.canned import canned_answers

        return canned_answers(contract)

    return check


def _store_connection(settings: Settings) -> RedisConnection | None:
    """The Redis connection of `settings.store`, opened once per app (None: the memory store).
    redis-py is imported only when a Redis store is asked for."""
    if settings.store.is_memory:
        return None
    from asm_mock.shared.connection import RedisConnection

    return RedisConnection(settings.store, timeout=settings.store_timeout)


def _redis_store(connection: RedisConnection | None) -> StateStore | None:
    if connection is None:
        return None  # MockService's own InMemoryStore
    from asm_mock.shared.store import RedisStore

    return RedisStore(connection)


def _tenant_stores(connection: RedisConnection | None) -> Callable[[str], StateStore]:
    """Each named tenant's store: with Redis, its own namespace (`tenant:NAME`, apart from the
    default tenant's `default`, whatever the tenant is called) in the one connection."""
    if connection is None:
        return in_memory_store
    from asm_mock.shared.store import RedisStore
    from asm_mock.shared.tenant_expiry import tenant_namespace

    return lambda name: RedisStore(connection, namespace=tenant_namespace(name))


def _forget_tenant(tenants: Tenants, name: str) -> None:
    """Drop this replica's copy of a tenant expired on every replica, with its journal entries
    not yet shipped (shipped after the tenant's keys went, they would outlive it in Redis)."""
    removed = tenants.remove(name)
    if removed is not None:
        removed.journal.clear()


def create_app(
    settings: Settings | None = None,
    *,
    service: MockService | None = None,
    progress: Progress | None = None,
    fast_lane: bool = True,
    tenant_time: Callable[[], float] = time.monotonic,
    **overrides: Any,
) -> AsmMockApp:
    """The mock as an ASGI app; `tenant_time` is the clock of tenants' idle times (tests move
    one by hand)."""
    settings = settings or Settings(**overrides)
    # the contract first: a revision it refuses is refused before the world is built
    contract = _contract(settings)
    connection = _store_connection(settings) if service is None else None
    if service is None:
        service = MockService(_world(settings, progress), store=_redis_store(connection))
    holder: list[AsmMockApp] = []

    def operation_of(method: str, path: str) -> str | None:
        # the journal names each request's operation when it is read, not as it is answered,
        # by the contract serving then
        return holder[0].operation_id(method, path)

    shared = None if connection is None else _shared_journal(connection, settings, operation_of)
    journal = shared or Journal(settings.journal_size, operation_of=operation_of)
    controls = Controls(
        RuntimeSettings(
            latency=Latency.parse(settings.latency),
            error_rate=settings.error_rate,
            permissive_auth=settings.auth == AuthMode.PERMISSIVE,
        ),
        seed=settings.seed,
    )
    replica = None
    if connection is not None and shared is not None:
        from asm_mock.shared.replicas import Replica

        replica = Replica(
            connection,
            journal=shared,
            service=service,
            controls=controls,
            scenarios=_scenarios_dir(settings),
            canned=_canned_check(contract),
            tenant_ttl_s=settings.tenant_ttl,
            # named tenants idle on every replica: this replica's copy goes with their keys
            forget_tenant=lambda name: _forget_tenant(tenants, name),
        )
    tenants = Tenants(
        Tenant(None, service, journal, controls, shared=None if replica is None else replica.sync),
        factory=TenantFactory(
            started=lambda: holder[0].version.world,
            controls=controls,
            journal_size=settings.journal_size,
            operation_of=operation_of,
            # the one place a tenant's store is chosen: a shared store keys it by the name
            store=_tenant_stores(connection),
            **_shared_tenants(connection, settings, operation_of, contract),
        ),
        max_tenants=settings.max_tenants,
        ttl_s=settings.tenant_ttl,
        time_source=tenant_time,
    )
    if settings.scenarios:  # a bad one raises before the app exists
        from asm_mock.contract.canned import canned_answers  # only asked-for scenarios pay

        _apply_scenarios(settings, service, controls, canned_answers(contract))
    service.mark_start()
    controls.mark_start()
    if replica is not None:
        replica.sync.mark_start()  # a reset on any replica returns here, start-up scenarios in
    live = _Live(
        settings=settings,
        service=service,
        journal=journal,
        controls=controls,
        tenant=current_tenant(tenants.default),
        tenants=tenants,
        reload_status=ReloadStatus(watching=settings.watch),
        fast_lane=fast_lane,
        native=_native(settings),
    )
    app = AsmMockApp(
        service,
        settings,
        version=_served_version(contract, service.world(), live),
        journal=journal,
        controls=controls,
        reload_status=live.reload_status,
        tenants=tenants,
        rebuild=partial(_rebuild, live) if settings.watch else None,
        replica=replica,
        store_connection=connection,
    )
    holder.append(app)
    return app
