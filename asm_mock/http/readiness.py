"""GET /__admin/ready: whether the mock serves everything yet, answered without waiting for it.

The contract and the world are built before the app exists (`create_app`), so the one part that
can still be loading is Connexion's validation stack (`deferred.Background`). Every other admin
path waits for that stack, because Connexion serves the admin API; readiness cannot, or a probe
would hang instead of hearing "not yet". So `ReadinessProbe` answers 503 itself while the stack
is loading or has failed, its body checked against admin.yaml's NotReady schema as Connexion
checks the other admin answers, and hands the request to Connexion once the stack is ready,
where `AdminHandlers.ready` answers the 200.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.contract import CompiledSchema
from asm_mock.http.admin_document import admin_answer_schema
from asm_mock.http.admin_guard import ADMIN_PATH
from asm_mock.http.deferred import Background
from asm_mock.http.errors import response_violation
from asm_mock.http.send import send_error, send_json

__all__ = ["PARTS", "READY_PATH", "Readiness", "ReadinessProbe", "stack_readiness"]

READY_PATH = ADMIN_PATH + "/ready"
CONTRACT, WORLD, STACK = "contract", "world", "validation stack"
PARTS = (CONTRACT, WORLD, STACK)
_MAX_ERROR_CHARS = 300  # an exception's message can quote a whole document


@dataclass(frozen=True)
class Readiness:
    """Which parts have loaded, which are loading, and why any failed (part -> one line)."""

    loaded: tuple[str, ...]
    waiting_for: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()

    @classmethod
    def everything_loaded(cls) -> Readiness:
        return cls(loaded=PARTS)

    @property
    def ready(self) -> bool:
        return not self.waiting_for and not self.failed

    @property
    def status(self) -> int:
        return 200 if self.ready else 503

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ready": self.ready,
            "loaded": list(self.loaded),
            "waitingFor": list(self.waiting_for),
        }
        if self.failed:
            body["failed"] = [{"part": part, "error": error} for part, error in self.failed]
        return body


def _one_line(error: BaseException) -> str:
    """The exception's type and message, without its traceback (that is in the log)."""
    line = " ".join(f"{type(error).__name__}: {error}".split())
    return line if len(line) <= _MAX_ERROR_CHARS else line[: _MAX_ERROR_CHARS - 3] + "..."


def stack_readiness(stack: Background[Any]) -> Readiness:
    """Readiness of an app whose contract and world are built and whose stack is `stack`."""
    if stack.ready:
        return Readiness.everything_loaded()
    error = stack.error
    if error is not None:
        return Readiness(loaded=(CONTRACT, WORLD), failed=((STACK, _one_line(error)),))
    return Readiness(loaded=(CONTRACT, WORLD), waiting_for=(STACK,))


class ReadinessProbe:
    """ASGI, in front of the admin API's deferred Connexion app: answers GET /__admin/ready
    with 503 while `stack` is not ready; every other request, and readiness once the stack is
    ready, goes on to `app`."""

    def __init__(self, app: ASGIApp, *, stack: Background[Any]) -> None:
        self._app = app
        self._stack = stack
        self._schema: CompiledSchema | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != READY_PATH or scope["method"] != "GET":
            await self._app(scope, receive, send)
            return
        readiness = stack_readiness(self._stack)
        if readiness.ready:  # Connexion answers now, and validates that answer itself
            await self._app(scope, receive, send)
            return
        body = readiness.body()
        problem = self._not_ready_schema().first_error(body)
        if problem is not None:  # a mock bug: logged, and the OCC 500 as Connexion would send
            await send_error(send, response_violation(f"GET {READY_PATH}", problem))
            return
        await send_json(send, readiness.status, orjson.dumps(body))

    def _not_ready_schema(self) -> CompiledSchema:
        """admin.yaml's 503 schema for /ready, read when first needed: a mock that is ready
        before its first probe never reads it."""
        if self._schema is None:
            self._schema = admin_answer_schema("ready", 503)
        return self._schema
