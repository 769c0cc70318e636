"""Assembles the ASGI application: the contract on Connexion, the token endpoint, the guards."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from connexion import AsyncApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.middleware.main import API
from connexion.resolver import Resolver
from connexion.security import OAuthSecurityHandler
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.domain.controls import Controls, Latency, RuntimeSettings
from asm_mock.domain.fixtures import load_fixtures
from asm_mock.domain.generate import Progress, build_world
from asm_mock.domain.journal import Journal
from asm_mock.domain.scenarios import apply_scenario
from asm_mock.domain.service import MockService
from asm_mock.http.admin import ADMIN_PATH, AdminGuard, AdminHandlers, admin_specification
from asm_mock.http.contract import (
    ContractSpecification,
    RouteTable,
    documented_statuses,
    load_contract,
)
from asm_mock.http.cors import CorsMiddleware
from asm_mock.http.errors import error_handlers, undocumented_status
from asm_mock.http.fast_lane import FastLane
from asm_mock.http.handlers import OperationHandlers, resolver
from asm_mock.http.limits import MAX_ADMIN_BODY_BYTES, BodyGuard
from asm_mock.http.oauth import TOKEN_PATH, TokenEndpoint
from asm_mock.http.prefer import PreferenceGate, PreferredAnswer
from asm_mock.http.recorder import RequestRecorder
from asm_mock.http.security import authorizer, security_map
from asm_mock.http.swagger_ui import swagger_ui_options
from asm_mock.http.validation import VALIDATOR_MAP
from asm_mock.resources import contract_path, default_fixtures_dir
from asm_mock.settings import AuthMode, Settings

__all__ = ["AsmMockApp", "contract_app", "create_app"]


class _DocumentedStatusGuard:
    """Refuses to send a status the operation does not document: that would be a mock bug."""

    def __init__(self, app: ASGIApp, *, statuses: Mapping[str, frozenset[int]]) -> None:
        self._app = app
        self._statuses = statuses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        allowed = self._statuses.get(routing.get("operation_id") or "")
        if scope["type"] != "http" or allowed is None:
            await self._app(scope, receive, send)
            return

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] not in allowed:
                raise undocumented_status(routing["operation_id"], message["status"], allowed)
            await send(message)

        await self._app(scope, receive, guarded_send)


class _OrjsonCodec:
    """The `json`-module shape Connexion's Jsonifier calls, backed by orjson (several times
    faster to encode; the response validator decodes with it too)."""

    @staticmethod
    def dumps(data: Any, **_ignored: Any) -> str:
        try:
            return orjson.dumps(data).decode()
        except TypeError:  # e.g. an integer past 64 bits, which orjson refuses
            return json.dumps(data)

    @staticmethod
    def loads(data: str | bytes) -> Any:
        return orjson.loads(data)


def contract_app(
    specification: ContractSpecification,
    *,
    resolver: Resolver,
    security: dict[str, Any] | None = None,
    routes: RouteTable | None = None,
) -> AsyncApp:
    """A Connexion app serving `specification` with 2020-12 validation both ways; `routes`,
    the specification's RouteTable when the caller has one already."""
    app = AsyncApp(__name__)
    app.add_middleware(
        _DocumentedStatusGuard,
        position=MiddlewarePosition.BEFORE_CONTEXT,
        statuses=documented_statuses(specification.raw),
    )
    if routes is None:
        routes = RouteTable(specification.raw, specification.base_path)
    for exception, handler in error_handlers(routes.allow):
        app.add_error_handler(exception, handler)
    # Connexion's add_api() would re-load the document with its 3.0-only specification class;
    # registering the already-validated 3.1 specification is the rest of what add_api() does.
    middleware = app.middleware
    options = middleware.options.replace(
        resolver=resolver,
        jsonifier=Jsonifier(_OrjsonCodec),
        validate_responses=True,
        strict_validation=False,
        validator_map=VALIDATOR_MAP,
        security_map=security,
        swagger_ui_options=swagger_ui_options(specification.raw),
    )
    middleware.apis.append(API(specification, base_path=None, name=None, **options.__dict__))
    return app


def _mock_app(
    specification: ContractSpecification,
    service: MockService,
    controls: Controls,
    *,
    routes: RouteTable,
    fast_lane: bool,
) -> ASGIApp:
    handlers = OperationHandlers(lambda: service)
    tokens, permissive = (lambda: service.tokens), (lambda: controls.settings.permissive_auth)
    app = contract_app(
        specification,
        resolver=resolver(handlers),
        security=security_map(tokens, permissive),
        routes=routes,
    )
    # Innermost, so preferred and canned answers still pass response validation.
    app.add_middleware(
        PreferredAnswer,
        position=MiddlewarePosition.BEFORE_CONTEXT,
        controls=controls,
        spec=specification.raw,
    )
    lane = FastLane(
        app,
        spec=specification.spec,
        base_path=specification.base_path,
        handler=handlers.lookup,
        authorize=authorizer(tokens, permissive),
        controls=controls,
    )
    return PreferenceGate(
        lane if fast_lane else app,
        controls=controls,
        is_operation=lambda method, path: routes.operation_id(method, path) is not None,
    )


class AsmMockApp:
    """The whole mock as one ASGI app; `service` is its state, `journal` what it answered."""

    def __init__(
        self,
        service: MockService,
        settings: Settings,
        *,
        api: ASGIApp,
        admin: AsyncApp,
        routes: RouteTable,
        journal: Journal,
        controls: Controls,
    ) -> None:
        self.service = service
        self.settings = settings
        self.journal = journal
        self.controls = controls
        token_endpoint = TokenEndpoint(lambda: service.tokens)
        guarded_api = BodyGuard(api)

        async def mock(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] == TOKEN_PATH:
                await token_endpoint(scope, receive, send)
            else:
                await guarded_api(scope, receive, send)

        self._routes = routes
        self._mock = mock
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
                journaled=lambda path: not self._is_admin(path),
                operation_id=self.operation_id,
            ),
            origins=settings.cors_origins,
        )

    def operation_id(self, method: str, path: str) -> str | None:
        """What a request is journaled and logged as: the contract's operationId, or ours."""
        if self._is_admin(path):
            return "admin"
        return "oauthToken" if path == TOKEN_PATH else self._routes.operation_id(method, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._is_admin(scope.get("path", "")):
            await self._admin(scope, receive, send)
        else:
            await self._mock(scope, receive, send)

    @staticmethod
    def _is_admin(path: str) -> bool:
        return path == ADMIN_PATH or path.startswith(ADMIN_PATH + "/")


class _AdminTokenChecked(OAuthSecurityHandler):  # type: ignore[misc]
    """admin.yaml documents its bearer scheme; AdminGuard has checked it before Connexion runs."""

    def get_fn(self, security_scheme: dict[str, Any], required_scopes: list[str]) -> Any:
        async def verified(_request: Any) -> dict[str, Any]:
            return {"sub": "admin"}

        return verified


def create_app(
    settings: Settings | None = None,
    *,
    service: MockService | None = None,
    progress: Progress | None = None,
    fast_lane: bool = True,
    **overrides: Any,
) -> AsmMockApp:
    settings = settings or Settings(**overrides)
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
    specification = load_contract(contract_path())
    journal = Journal(settings.journal_size)
    controls = Controls(
        RuntimeSettings(
            latency=Latency.parse(settings.latency),
            error_rate=settings.error_rate,
            permissive_auth=settings.auth == AuthMode.PERMISSIVE,
        ),
        seed=settings.seed,
    )
    scenarios = (settings.fixtures or default_fixtures_dir()) / "scenarios"
    for name in settings.scenarios:  # atomic each; a bad one raises before the app exists
        apply_scenario(name, service=service, controls=controls, directory=scenarios)
    service.mark_start()
    controls.mark_start()
    admin = contract_app(
        admin_specification(),
        resolver=AdminHandlers(service, journal, controls, scenarios=scenarios).resolver(),
        security={"bearer": _AdminTokenChecked},
    )
    routes = RouteTable(specification.raw, specification.base_path)
    return AsmMockApp(
        service,
        settings,
        api=_mock_app(specification, service, controls, routes=routes, fast_lane=fast_lane),
        admin=admin,
        routes=routes,
        journal=journal,
        controls=controls,
    )
