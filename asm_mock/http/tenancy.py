"""Which tenant a request is for: a `/t/{tenant}` path prefix or an `X-Asm-Mock-Tenant` header.

`TenantRouting` sits inside CORS and outside everything else. A request with neither goes on
untouched (the default tenant, as the mock always was). Otherwise it takes the tenant from the
registry (made on first use), strips the prefix from the path and adds it to `root_path`, so
everything behind it routes as without a prefix while Swagger UI and openapi.json link under it,
and makes the tenant current for the rest of the request. The current tenant lives in one
context variable, read through `current_tenant()`: every piece that needs state reads it from
a callable, never from a module global.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.domain.errors import ApiError, StoreUnavailableError, ValidationError
from asm_mock.domain.tenants import Tenant, Tenants, check_tenant_name
from asm_mock.http.headers import first_header
from asm_mock.http.send import send_error

__all__ = ["TENANT_HEADER", "TENANT_PREFIX", "FullPath", "TenantRouting", "current_tenant"]

TENANT_HEADER = "X-Asm-Mock-Tenant"
TENANT_PREFIX = "/t/"
_HEADER_KEY = TENANT_HEADER.lower().encode()

_current: ContextVar[Tenant | None] = ContextVar("asm_mock_tenant", default=None)


def current_tenant(default: Tenant) -> Callable[[], Tenant]:
    """The tenant of the request being served (`default` outside a tenant's request)."""
    get = _current.get

    def current() -> Tenant:
        return get() or default

    return current


class TenantRouting:
    def __init__(self, app: ASGIApp, *, tenants: Tenants) -> None:
        self._app = app
        self._tenants = tenants

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        prefixed = path.startswith(TENANT_PREFIX)
        header = first_header(scope["headers"], _HEADER_KEY)
        if not prefixed and header is None:  # the default tenant: most requests
            await self._app(scope, receive, send)
            return
        try:
            name = _chosen(path if prefixed else None, header)
            tenant = self._tenants.get(name)
        except ApiError as error:
            await send_error(send, error)
            return
        if tenant.shared is not None:
            try:  # other replicas' changes to it first: they pub/sub only the default tenant
                await tenant.shared.refresh()
            except StoreUnavailableError:
                pass  # served as this replica has it: what needs the store answers 503
        if prefixed:
            scope = _unprefixed(scope, name)
        token = _current.set(tenant)
        try:
            await self._app(scope, receive, send)
        finally:
            _current.reset(token)


def _chosen(path: str | None, header: str | None) -> str:
    """The tenant's name from the prefix of `path` and/or the header; they must agree."""
    from_path = None
    if path is not None:
        from_path = check_tenant_name(path[len(TENANT_PREFIX) :].split("/", 1)[0], "tenant")
    from_header = None if header is None else check_tenant_name(header.strip(), TENANT_HEADER)
    if from_path is not None and from_header is not None and from_path != from_header:
        raise ValidationError(
            f"The path names tenant {from_path!r} and {TENANT_HEADER} names {from_header!r}",
            reason="invalid",
            subject=TENANT_HEADER,
            subject_type="header",
        )
    name = from_path or from_header
    assert name is not None  # one of them was given
    return name


def _unprefixed(scope: Scope, name: str) -> Scope:
    prefix = TENANT_PREFIX + name
    rest = scope["path"][len(prefix) :] or "/"
    changed: dict[str, object] = {
        "path": rest,
        "root_path": scope.get("root_path", "") + prefix,
    }
    raw = scope.get("raw_path")
    if raw is not None:
        raw_prefix = prefix.encode()
        changed["raw_path"] = (
            (raw[len(raw_prefix) :] or b"/") if raw.startswith(raw_prefix) else None
        )
    return {**scope, **changed}


class FullPath:
    """In front of Starlette's routing (Connexion's apps): the path with its `root_path` in
    front again, as ASGI has it since Starlette 0.35 (a Mount matches `path` minus `root_path`).
    The mock's own pieces route on the path without the tenant's prefix."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root: str = scope.get("root_path", "")
        if root and scope["type"] == "http" and not scope["path"].startswith(root + "/"):
            scope = {**scope, "path": root + scope["path"]}
            raw = scope.get("raw_path")
            if raw is not None:
                scope["raw_path"] = root.encode() + raw
        await self._app(scope, receive, send)
