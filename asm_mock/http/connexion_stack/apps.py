"""Connexion apps: the contract's full middleware stack, and the admin API."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from connexion import AsyncApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.middleware.main import API
from connexion.resolver import Resolver
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.contract import CompiledContract, CompiledSchemas, compile_contract
from asm_mock.domain.controls import Controls
from asm_mock.domain.tokens import TokenService
from asm_mock.http.admin import AdminHandlers, admin_contract
from asm_mock.http.connexion_stack.errors import error_handlers
from asm_mock.http.connexion_stack.security import AdminTokenChecked, security_map
from asm_mock.http.connexion_stack.specification import specification_of
from asm_mock.http.connexion_stack.swagger_ui import swagger_ui_options
from asm_mock.http.connexion_stack.validation import validator_map
from asm_mock.http.errors import undocumented_status
from asm_mock.http.preferred import PreferredAnswer

__all__ = ["ConnexionApps", "admin_app", "api_app", "connexion_apps", "contract_app"]


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
    contract: CompiledContract,
    *,
    resolver: Resolver,
    security: dict[str, Any] | None = None,
) -> AsyncApp:
    """A Connexion app serving `contract` with 2020-12 validation both ways, its validators
    compiling through the contract's own compiled schemas."""
    specification = specification_of(contract.document)
    app = AsyncApp(__name__)
    app.add_middleware(
        _DocumentedStatusGuard,
        position=MiddlewarePosition.BEFORE_CONTEXT,
        statuses=contract.statuses,
    )
    for exception, handler in error_handlers(contract.router.allow):
        app.add_error_handler(exception, handler)
    # Connexion's add_api() would re-load the document with its 3.0-only specification class;
    # registering the already-validated 3.1 specification is the rest of what add_api() does.
    middleware = app.middleware
    options = middleware.options.replace(
        resolver=resolver,
        jsonifier=Jsonifier(_OrjsonCodec),
        validate_responses=True,
        strict_validation=False,
        validator_map=validator_map(contract.schemas),
        security_map=security,
        swagger_ui_options=swagger_ui_options(specification.raw),
    )
    middleware.apis.append(API(specification, base_path=None, name=None, **options.__dict__))
    return app


def api_app(
    contract: CompiledContract,
    *,
    handlers: Callable[[str], Callable[..., Any]],
    tokens: Callable[[], TokenService],
    permissive: Callable[[], bool],
    controls: Callable[[], Controls],
) -> AsyncApp:
    """The contract's full stack: every check, every error, Swagger UI, preferred answers."""
    app = contract_app(
        contract,
        resolver=Resolver(function_resolver=handlers),
        security=security_map(tokens, permissive),
    )
    # Innermost, so preferred and canned answers still pass response validation.
    app.add_middleware(
        PreferredAnswer,
        position=MiddlewarePosition.BEFORE_CONTEXT,
        controls=controls,
        contract=contract,
    )
    return app


def admin_app(handlers: AdminHandlers, *, schemas: CompiledSchemas) -> AsyncApp:
    """The admin API's app; `schemas`, the compiled schemas it shares with the contract's."""
    return contract_app(
        compile_contract(admin_contract(), schemas=schemas),
        resolver=Resolver(function_resolver=handlers.lookup),
        security={"bearer": AdminTokenChecked},
    )


@dataclass(frozen=True)
class ConnexionApps:
    api: AsyncApp
    admin: AsyncApp


def connexion_apps(api: Callable[[], AsyncApp], admin: Callable[[], AsyncApp]) -> ConnexionApps:
    """Both apps, with the middleware stacks Connexion would otherwise build on the first
    lifespan event or request: built here, so the first request that needs them is not slower."""
    apps = ConnexionApps(api=api(), admin=admin())
    for app in (apps.api, apps.admin):
        middleware = app.middleware
        if middleware.middleware_stack is None:
            middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
    return apps
