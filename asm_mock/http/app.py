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
import inspect
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.contract import CompiledContract, Router, load_compiled
from asm_mock.contract.complete import completions
from asm_mock.domain.controls import Controls, Latency, RuntimeSettings
from asm_mock.domain.fixtures import load_fixtures
from asm_mock.domain.generate import Progress, build_world
from asm_mock.domain.journal import Journal
from asm_mock.domain.service import MockService
from asm_mock.http.admin_guard import AdminGuard, is_admin_path
from asm_mock.http.completing import CompletedAnswers
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
from asm_mock.http.security import authorizer
from asm_mock.resources import contract_path, default_fixtures_dir
from asm_mock.settings import AuthMode, Settings

if TYPE_CHECKING:
    from pathlib import Path

    from asm_mock.http.connexion_stack.apps import ConnexionApps

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
    """The whole mock as one ASGI app; `service` is its state, `journal` what it answered."""

    def __init__(
        self,
        service: MockService,
        settings: Settings,
        *,
        contract: CompiledContract,
        operations: OperationSources,
        api: ASGIApp,
        admin: ASGIApp,
        routes: Router,
        journal: Journal,
        controls: Controls,
        connexion: Background[ConnexionApps],
    ) -> None:
        self.service = service
        self.settings = settings
        self.contract = contract
        self.operations = operations
        self.journal = journal
        self.controls = controls
        self._connexion = connexion
        self._token_endpoint = TokenEndpoint(lambda: service.tokens)
        self._api = BodyGuard(api)
        self._routes = routes
        self._admin = AdminGuard(
            BodyGuard(
                admin,
                limit=MAX_ADMIN_BODY_BYTES,
                methods=frozenset({"POST", "PUT", "PATCH"}),
            ),
            token=settings.admin_token,
        )
        # CORS outermost: its headers (and refused preflights) reach every answer, admin's too.
        self._app = CorsMiddleware(
            RequestRecorder(
                self._dispatch,
                journal=lambda: self.journal,
                journaled=lambda path: not is_admin_path(path),
                operation_id=self.operation_id,
            ),
            origins=settings.cors_origins,
        )

    def operation_id(self, method: str, path: str) -> str | None:
        """What a request is journaled and logged as: the contract's operationId, or ours."""
        return request_operation_id(self._routes, method, path)

    @property
    def fully_loaded(self) -> bool:
        """Whether Connexion's stack has loaded (until then, only the fast lane answers)."""
        return self._connexion.ready

    def load_fully(self, timeout: float | None = None) -> None:
        """Load Connexion's stack now, and wait for it (blocks the calling thread)."""
        self._connexion.result(timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._app(scope, receive, send)
        if not self._connexion.started:
            self._connexion.start()  # the first answer has left: load the rest now

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        timer: asyncio.TimerHandle | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                timer = loop.call_later(LOAD_AFTER_START_S, self._connexion.start)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if timer is not None:
                    timer.cancel()  # a quick shutdown must not start an import while exiting
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if is_admin_path(path):
            await self._admin(scope, receive, send)
        elif path == TOKEN_PATH and scope["type"] == "http":
            await self._token_endpoint(scope, receive, send)
        else:
            await self._api(scope, receive, send)


def request_operation_id(routes: Router, method: str, path: str) -> str | None:
    """The contract's operationId of a request, or asm-mock's own name for it."""
    if is_admin_path(path):
        return "admin"
    return "oauthToken" if path == TOKEN_PATH else routes.operation_id(method, path)


def _connexion_loader(
    contract: CompiledContract,
    service: MockService,
    handlers: OperationSources,
    *,
    journal: Journal,
    controls: Controls,
    scenarios: Path,
) -> Callable[[], ConnexionApps]:
    def load() -> ConnexionApps:
        from asm_mock.contract.canned import canned_answers  # jsonschema: on this thread
        from asm_mock.http.admin import AdminHandlers
        from asm_mock.http.connexion_stack import admin_app, api_app, connexion_apps
        from asm_mock.http.report_format import documented_operations

        return connexion_apps(
            api=lambda: api_app(
                contract,
                handlers=handlers.lookup,
                tokens=lambda: service.tokens,
                permissive=lambda: controls.settings.permissive_auth,
                controls=controls,
            ),
            admin=lambda: admin_app(
                AdminHandlers(
                    service,
                    journal,
                    controls,
                    scenarios=scenarios,
                    canned=canned_answers(contract),
                    operations=documented_operations(contract),
                ),
                schemas=contract.schemas,
            ),
        )

    return load


def create_app(
    settings: Settings | None = None,
    *,
    service: MockService | None = None,
    progress: Progress | None = None,
    fast_lane: bool = True,
    **overrides: Any,
) -> AsmMockApp:
    settings = settings or Settings(**overrides)
    # the contract first: a revision it refuses is refused before the world is built
    contract = load_compiled(settings.contract or contract_path(), cache_dir=settings.cache_dir)
    if service is None:
        fixtures = load_fixtures(settings.fixtures or default_fixtures_dir())
        world = build_world(
            seed=settings.seed,
            customers=settings.customers,
            fixtures=fixtures,
            progress=progress,
            pools_cache=settings.cache_dir,
        )
        service = MockService(world)
    routes = contract.router
    # the journal names each request's operation when it is read, not as it is answered
    journal = Journal(settings.journal_size, operation_of=partial(request_operation_id, routes))
    controls = Controls(
        RuntimeSettings(
            latency=Latency.parse(settings.latency),
            error_rate=settings.error_rate,
            permissive_auth=settings.auth == AuthMode.PERMISSIVE,
        ),
        seed=settings.seed,
    )
    scenarios = (settings.fixtures or default_fixtures_dir()) / "scenarios"
    if settings.scenarios:
        from asm_mock.contract.canned import canned_answers  # only asked-for scenarios pay
        from asm_mock.domain.scenarios import apply_scenario

        for name in settings.scenarios:  # atomic each; a bad one raises before the app exists
            apply_scenario(
                name,
                service=service,
                controls=controls,
                directory=scenarios,
                canned=canned_answers(contract),
            )
    service.mark_start()
    controls.mark_start()
    # the packaged contract shapes the world's answers; a revision's are completed to fit it
    packaged = contract_path()
    native = (
        contract
        if settings.contract is None or settings.contract.resolve() == packaged.resolve()
        else load_compiled(packaged, cache_dir=settings.cache_dir)
    )
    completed = CompletedAnswers(completions(contract, native), seed=lambda: service.world().seed)
    handlers = OperationSources(
        contract,
        OperationHandlers(lambda: service),
        native=native,
        completed=completed,
        seed=settings.seed,
    )
    connexion = Background(
        _connexion_loader(
            contract,
            service,
            handlers,
            journal=journal,
            controls=controls,
            scenarios=scenarios,
        ),
        name="Connexion stack",
    )
    full_stack = DeferredApp(connexion, lambda apps: apps.api)
    lane = FastLane(
        full_stack,
        contract=contract,
        handler=handlers.lookup,
        authorize=authorizer(lambda: service.tokens, lambda: controls.settings.permissive_auth),
        controls=controls,
    )
    api = PreferenceGate(
        lane if fast_lane else full_stack,
        controls=controls,
        is_operation=lambda method, path: routes.operation_id(method, path) is not None,
    )
    return AsmMockApp(
        service,
        settings,
        contract=contract,
        operations=handlers,
        api=api,
        admin=ReadinessProbe(DeferredApp(connexion, lambda apps: apps.admin), stack=connexion),
        routes=routes,
        journal=journal,
        controls=controls,
        connexion=connexion,
    )
