"""Answers from the contract rather than the world: `Prefer: code=..., example=...,
dynamic=true`, a scenario's canned answer, and the operations a contract revision has that the
mock does not implement.

`PreferredAnswer` sits innermost in Connexion's stack, so request and response validation still
apply to what it answers; `asm_mock.http.prefer` parses the preferences. `ContractAnswers` makes
the handler of an operation the mock does not implement: its first 2xx named example, else a
body generated from its schema, deterministic per seed and request.
"""

from __future__ import annotations

import inspect
import keyword
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.contract import CompiledContract, Operation
from asm_mock.contract.generate import generate, seed_of
from asm_mock.domain.controls import CannedAnswer, CannedRequest, Controls
from asm_mock.domain.errors import ERROR_TYPES, ApiError
from asm_mock.http.limits import MAX_BODY_BYTES, read_within, replaying
from asm_mock.http.prefer import EXTENSION, Preferences, invalid_preference
from asm_mock.http.send import send_answer, send_json

__all__ = ["EXAMPLE", "GENERATED", "RECORDED_VIOLATION", "ContractAnswers", "PreferredAnswer"]

_GENERATED_KEPT = 1024  # generated bodies kept per operation, one per distinct request
_NOT_YET = object()

EXAMPLE, GENERATED = "example", "generated"  # where ContractAnswers takes an answer from
# marks a scenario's canned answer, as X-Asm-Mock-Injected marks an injected error: the
# journal counts the controls that shaped answers for the conformance report
_CANNED = (b"x-asm-mock-canned", b"scenario")
_CANNED_VIOLATION = (b"x-asm-mock-canned", b"recorded-violation")
# set in the scope of a request answered with a recorded body its entry marks as breaking the
# contract: the response validator passes it on as the upstream sent it
RECORDED_VIOLATION = "asm_mock.recorded_violation"


class PreferredAnswer:
    """Inside Connexion: answers a preferred code/example/dynamic body, or a scenario's canned
    answer, in place of the handler. Validation still runs around it."""

    def __init__(
        self, app: ASGIApp, *, controls: Callable[[], Controls], contract: CompiledContract
    ) -> None:
        self._app = app
        self._controls = controls
        self._contract = contract

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation_id = scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")
        prefs: Preferences | None = scope.get("extensions", {}).get(EXTENSION)
        operation = None if operation_id is None else self._contract.operation(operation_id)
        if scope["type"] != "http" or operation is None:
            await self._app(scope, receive, send)
            return
        marks: list[tuple[bytes, bytes]] = []  # Prefer's answers carry Preference-Applied
        if prefs is not None and prefs.shapes_the_answer:
            status, body = self._preferred(operation, prefs, scope)
        else:
            canned, receive = await self._canned(operation.operation_id, scope, receive)
            if canned is None:
                await self._app(scope, receive, send)
                return
            status, body = canned.status, canned.body
            marks = [_CANNED_VIOLATION if canned.violations else _CANNED]
            marks += [(k.lower().encode(), v.encode()) for k, v in canned.headers.items()]
            if canned.violations:  # the validator lets the recorded drift through, marked
                scope.setdefault("extensions", {})[RECORDED_VIOLATION] = True
        if body is None:
            await send_answer(send, status, [(b"content-length", b"0"), *marks])
        else:
            await send_json(send, status, orjson.dumps(body), marks)

    async def _canned(
        self, operation_id: str, scope: Scope, receive: Receive
    ) -> tuple[CannedAnswer | None, Receive]:
        """The operation's canned answer to this request, and the `receive` to hand on (the
        body, where a match needed it, is read here and replayed)."""
        controls = self._controls()  # the tenant's
        answers = controls.canned_answers(operation_id)
        if not answers:
            return None, receive
        body = None
        if any(a.match is not None and a.match.needs_body for a in answers):
            raw = await read_within(receive, MAX_BODY_BYTES)
            receive = replaying(raw, receive)
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                body = None
        query: dict[str, str] = {}
        for name, value in parse_qsl(
            scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
        ):
            query.setdefault(name, value)
        request = CannedRequest(dict(scope.get("path_params", {})), query, body)
        return controls.canned(operation_id, request), receive

    def _preferred(self, operation: Operation, prefs: Preferences, scope: Scope) -> tuple[int, Any]:
        documented = sorted(operation.responses)
        if prefs.code is not None and prefs.code not in documented:
            raise invalid_preference(
                f"Prefer code={prefs.code}: {operation.operation_id} does not document it; "
                f"it documents {', '.join(map(str, documented))}",
                "Prefer",
            )
        if prefs.example is not None:
            return self._named_example(operation, prefs)
        status = prefs.code if prefs.code is not None else documented[0]
        response = operation.responses[status]
        if response.raw_schema is None:
            return status, None
        if not prefs.dynamic and status >= 300:
            if response.examples:
                return status, next(iter(response.examples.values()))
            return status, {"errors": [_generic_error(status).to_dict()]}
        seed = prefs.seed if prefs.seed is not None else _request_seed(scope)
        return status, generate(response.raw_schema, seed=seed, root=self._contract.document.raw)

    @staticmethod
    def _named_example(operation: Operation, prefs: Preferences) -> tuple[int, Any]:
        available: dict[str, tuple[int, Any]] = {}
        for status in sorted(operation.responses):
            for name, value in operation.responses[status].examples.items():
                if prefs.code in (None, status):
                    available.setdefault(name, (status, value))
        if prefs.example not in available:
            names = ", ".join(sorted(available)) or "none"
            raise invalid_preference(
                f"Prefer example={prefs.example}: no such example for {operation.operation_id}"
                + (f" with code={prefs.code}" if prefs.code is not None else "")
                + f"; available: {names}",
                "Prefer",
            )
        return available[prefs.example]


class ContractAnswers:
    """Handlers for operations the mock does not implement, answered from the contract."""

    def __init__(self, contract: CompiledContract, *, seed: int) -> None:
        self._contract = contract
        self._seed = seed

    @staticmethod
    def source(operation: Operation) -> str:
        """EXAMPLE where the operation has a 2xx named example, else GENERATED."""
        return EXAMPLE if operation.first_example() is not None else GENERATED

    def handler(self, operation: Operation) -> Callable[..., Awaitable[tuple[Any, int]]]:
        """A handler answering `operation`'s first 2xx named example, else a body generated
        from its schema, deterministic per seed and request (and kept per request: the same
        request gets the same object, which the fast lane encodes once)."""
        example = operation.first_example()
        successes = [s for s in sorted(operation.responses) if 200 <= s < 300]
        status = example[0] if example else (successes or sorted(operation.responses))[0]
        schema = operation.responses[status].raw_schema
        names = [p.name for p in operation.parameters] + (["body"] if operation.body else [])
        root = self._contract.document.raw
        seed = self._seed
        generated: OrderedDict[str, Any] = OrderedDict()

        async def answer_from_contract(**arguments: Any) -> tuple[Any, int]:
            if example is not None:
                return example[1], status
            if schema is None:
                return None, status
            given = {k: v for k, v in arguments.items() if k in names}
            request = orjson.dumps(given, default=str, option=orjson.OPT_SORT_KEYS).decode()
            body = generated.get(request, _NOT_YET)
            if body is _NOT_YET:
                body = generate(
                    schema, seed=seed_of(seed, operation.operation_id, request), root=root
                )
                generated[request] = body
                if len(generated) > _GENERATED_KEPT:
                    generated.popitem(last=False)
            return body, status

        answer_from_contract.__name__ = operation.operation_id
        if all(name.isidentifier() and not keyword.iskeyword(name) for name in names):
            # Its parameters by name, as the mock's own handlers have them: Connexion passes
            # just those, and the fast lane can serve the operation (it leaves **kwargs alone).
            answer_from_contract.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
                [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in names]
            )
        return answer_from_contract


def _generic_error(status: int) -> ApiError:
    error = ApiError(f"Answered {status} as asked for (Prefer: code={status})")
    kind = ERROR_TYPES.get(status)
    error.error_type = kind.error_type if kind is not None else "Error"
    error.status_code = status
    return error


def _request_seed(scope: Scope) -> int:
    """The same request gets the same dynamic answer, run after run."""
    return seed_of(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"))
