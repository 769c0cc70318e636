"""One coroutine per operationId: take parsed parameters, call the domain, serialize.

The fast lane and Connexion's Resolver find them through `lookup()` (no module globals: the
handlers are bound to one `MockService`). They are coroutines so Connexion runs them on the
event loop, not in its thread pool; the world's calls are short and pure, the store's awaited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asm_mock.domain.customer360 import Customer360
from asm_mock.domain.service import MockService
from asm_mock.domain.tokens import Principal
from asm_mock.http import serialize
from asm_mock.http.memo import WorldMemo
from asm_mock.http.security import PRINCIPAL

__all__ = ["OperationHandlers"]

Answer = tuple[dict[str, Any], int]


def _principal(token_info: dict[str, Any]) -> Principal:
    principal = token_info[PRINCIPAL]
    assert isinstance(principal, Principal)
    return principal


class OperationHandlers:
    def __init__(self, service: Callable[[], MockService]) -> None:
        self._service = service
        self._memo = WorldMemo()

    async def searchCustomers(  # noqa: N802 - named by the contract's operationId
        self,
        query: str,
        baseSite: str,
        currentPage: int = 0,
        pageSize: int = 20,  # noqa: N803
    ) -> Answer:
        service = self._service()

        def page() -> dict[str, Any]:
            result = service.search(
                base_site=baseSite, query=query, current_page=currentPage, page_size=pageSize
            )
            return serialize.customer_page(result)

        key = ("search", baseSite, query, currentPage, pageSize)
        return self._memo.get(service.world(), key, page), 200

    async def getCustomer360(self, customerId: str, baseSite: str) -> Answer:  # noqa: N802,N803
        service = self._service()

        def world_part() -> tuple[Customer360, dict[str, Any]]:
            view = service.world_360(base_site=baseSite, customer_id=customerId)
            return view, serialize.customer_360(view)

        view, body = self._memo.get(service.world(), ("360", customerId, baseSite), world_part)
        live = (await service.with_live_sessions(view)).latest_activity
        if live is view.latest_activity or live is None:
            return body, 200
        return serialize.with_latest_activity(body, live), 200

    async def getCustomerCarts(self, customerId: str, baseSite: str) -> Answer:  # noqa: N802,N803
        service = self._service()

        def carts() -> dict[str, Any]:
            found = service.customer_carts(base_site=baseSite, customer_id=customerId)
            return serialize.cart_list(found, service.world().site(baseSite))

        return self._memo.get(service.world(), ("carts", customerId, baseSite), carts), 200

    async def createAssistedSession(  # noqa: N802
        self, body: dict[str, Any], token_info: dict[str, Any]
    ) -> Answer:
        session = await self._service().sessions.start(
            _principal(token_info),
            customer_id=body["customerId"],
            base_site=body["baseSite"],
            cart_id=body.get("cartId"),
        )
        return serialize.session(session), 201

    async def getAssistedSession(  # noqa: N802
        self,
        sessionId: str,
        token_info: dict[str, Any],  # noqa: N803
    ) -> Answer:
        session = await self._service().sessions.get(_principal(token_info), sessionId)
        return serialize.session(session), 200

    async def endAssistedSession(  # noqa: N802
        self,
        sessionId: str,
        token_info: dict[str, Any],  # noqa: N803
    ) -> Answer:
        session = await self._service().sessions.end(_principal(token_info), sessionId)
        return serialize.session(session), 200

    async def getAgent(self, agentId: str) -> Answer:  # noqa: N802,N803
        service = self._service()
        # a pure function of the world: one object per agent, so it is validated, completed
        # and encoded once
        answer = self._memo.get(
            service.world(), ("agent", agentId), lambda: serialize.agent(service.agent(agentId))
        )
        return answer, 200

    def lookup(self, operation_id: str) -> Callable[..., Any]:
        handler = getattr(self, operation_id, None)
        if handler is None or operation_id.startswith("_") or operation_id == "lookup":
            raise LookupError(f"no handler for operationId {operation_id!r}")
        return handler  # type: ignore[no-any-return]
