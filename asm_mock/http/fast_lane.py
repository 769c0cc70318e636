"""The fast lane: the contract's happy path, compiled once per operation, in front of Connexion.

Connexion serves a request through ~1,200 Python calls (two Starlette routers, a ConnexionRequest
per middleware, a URI parser, per-request validator objects, a JSON round trip of the answer);
that stack, not the mock's work, bounded asm-mock below Prism's throughput. `FastLane` compiles
each operation of the contract once: its path pattern, parameters with their compiled 2020-12
validators, body schema, security, handler and the compiled schema of every documented response.
A request it can *prove* valid it answers itself, with every check Connexion would make:

- the same route (the first of the contract's paths matching path and method, as Connexion's
  Starlette router picks it);
- the same bearer-token check (`asm_mock.http.security.authorizer`);
- the same parameter coercion and validators (the compiled contract's, which Connexion's
  validators share: `asm_mock.contract`);
- the same handler, with the arguments Connexion would pass;
- the answer's status must be documented, and its body is validated against the response schema
  before it is sent (the handler's dict itself, not a re-parse of its JSON).

Anything else — a failed check, HEAD, a preferred or canned answer, an operation with header or
cookie parameters or required scopes — goes to Connexion untouched (a body already read is
replayed), for a `Defer` reason, so every error is still written by Connexion and its registered
error handlers. The lane never runs a handler for a request it then hands over: once the handler
has run, the lane answers, errors included. An exception the lane did not foresee is its own bug:
logged with its traceback, the request handed to Connexion, and nothing kept, so the next request
tries the lane again. `tests/test_fast_lane.py` proves the two paths answer alike.

Two verdicts are pure functions of what they judge, so the lane keeps them rather than reach them
again: a request line's route and checked parameters, or the reason to defer it (`_Plans`: the
contract does not change while serving), and an answer object's verdict and JSON
(`_PreparedAnswers`: the handlers' memoized answers are shared and never modified,
`asm_mock.http.memo`). Only the work is saved: each distinct request line is still checked and
each distinct answer validated before it is sent; the token, preferences and canned answers
are checked on every request.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.contract import INVALID, CompiledContract, CompiledSchema, Operation, Parameter, Route
from asm_mock.domain.controls import Controls
from asm_mock.domain.errors import ApiError, ServiceUnavailableError
from asm_mock.domain.tokens import Principal
from asm_mock.http.errors import response_violation, undocumented_status, unexpected_failure
from asm_mock.http.headers import RawHeaders, header_values
from asm_mock.http.limits import replaying
from asm_mock.http.prefer import EXTENSION as PREFERENCES
from asm_mock.http.security import token_info
from asm_mock.http.send import send_error, send_json

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaError

__all__ = ["Defer", "FastLane"]

logger = logging.getLogger("asm_mock.contract")

_JSON = ["application/json"]  # a body's one Content-Type header, as the lane takes it


class Defer(StrEnum):
    """Why the lane hands a request to Connexion."""

    NO_ROUTE = "no route"
    NOT_COMPILED = "an operation the lane does not serve"
    BAD_PARAMETER = "bad parameter"
    MISSING_PARAMETER = "missing parameter"
    REPEATED_PARAMETER = "repeated parameter"
    PREFERRED_ANSWER = "preferred answer"
    CANNED_ANSWER = "canned answer"
    UNAUTHORIZED = "token refused"
    BAD_BODY = "bad body"
    NO_BODY = "no body"
    LANE_BUG = "a bug in the lane"  # never kept: the next request tries the lane again


@dataclass(frozen=True, slots=True)
class _Argument:
    parameter: Parameter
    passed: bool  # to the handler (a parameter it does not take is checked, not passed)


@dataclass(frozen=True, slots=True)
class _Operation:
    """An operation the lane serves: the contract's, bound to its handler."""

    operation_id: str
    path_parameters: tuple[_Argument, ...]
    query_parameters: tuple[_Argument, ...]
    body: CompiledSchema | None
    secured: bool
    wants_token_info: bool
    handler: Callable[..., Any]
    responses: Mapping[int, CompiledSchema | None]

    def arguments(self, match: re.Match[str], query_string: bytes) -> dict[str, Any] | Defer:
        arguments: dict[str, Any] = {}
        for argument in self.path_parameters:
            parameter = argument.parameter
            value = parameter.value(match[parameter.name])
            if value is INVALID:
                return Defer.BAD_PARAMETER
            if argument.passed:
                arguments[parameter.name] = value
        if self.query_parameters:
            pairs = _query_pairs(query_string.decode("latin-1"))
            given = dict(pairs)
            if len(given) != len(pairs):  # a name repeated: Connexion's duplicate rules decide
                return Defer.REPEATED_PARAMETER
            for argument in self.query_parameters:
                parameter = argument.parameter
                raw_value = given.get(parameter.name)
                if raw_value is not None:
                    value = parameter.value(raw_value)
                    if value is INVALID:
                        return Defer.BAD_PARAMETER
                elif parameter.required:
                    return Defer.MISSING_PARAMETER
                elif parameter.has_default:
                    value = parameter.default
                else:
                    continue
                if argument.passed:
                    arguments[parameter.name] = value
        return arguments


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """The query as Starlette's QueryParams reads it (`parse_qsl`, blank values kept); split
    directly when nothing in it is escaped, which `parse_qsl` would leave as it is."""
    if "%" in query or "+" in query:
        return parse_qsl(query, keep_blank_values=True)
    return [part.partition("=")[::2] for part in query.split("&") if part]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A request line the lane may serve: its operation and its checked arguments."""

    operation: _Operation
    arguments: Mapping[str, Any]  # never modified: each request gets a copy


# (method, path, query string): a request line
_Line = tuple[str, str, bytes]


class _Plans:
    """Each request line's route and checked parameters, or why Connexion serves it, found
    once. Short lines only, and a bounded number: hostile traffic cannot grow it. A lane bug
    is no verdict and is never kept."""

    MAX_LINES = 4096
    MAX_LINE_CHARS = 1024

    def __init__(self, contract: CompiledContract, operations: Mapping[str, _Operation]) -> None:
        self._router = contract.router
        self._operations = operations
        self._plans: dict[_Line, _Plan | Defer] = {}

    def plan(self, method: str, path: str, query_string: bytes) -> _Plan | Defer:
        line = (method, path, query_string)
        try:
            return self._plans[line]
        except KeyError:
            pass
        try:
            plan = self._make(method, path, query_string)
        except Exception:  # the lane's own bug: logged, and Connexion judges this request
            logger.exception("fast lane bug planning %s %s: deferred to Connexion", method, path)
            return Defer.LANE_BUG
        if len(path) + len(query_string) <= self.MAX_LINE_CHARS:
            if len(self._plans) >= self.MAX_LINES:
                self._plans.clear()
            self._plans[line] = plan
        return plan

    def _make(self, method: str, path: str, query_string: bytes) -> _Plan | Defer:
        found = self._router.match(method, path)
        if found is None:
            return Defer.NO_ROUTE
        route, match = found
        operation = self._operations.get(route.operation.operation_id)
        if operation is None:
            return Defer.NOT_COMPILED
        arguments = operation.arguments(match, query_string)
        return arguments if isinstance(arguments, Defer) else _Plan(operation, arguments)


class _PreparedAnswers:
    """An answer object's verdict and JSON, per response schema: made once while it is shared.

    Holds the answer itself, so its id() cannot be reused while the entry lives; only valid
    answers are kept, and a bounded number of them.
    """

    MAX_ANSWERS = 256

    def __init__(self) -> None:
        self._prepared: dict[int, tuple[Any, CompiledSchema | None, bytes]] = {}

    def body(self, answer: Any, check: CompiledSchema | None) -> bytes | SchemaError:
        """The JSON to send, or what is wrong with the answer."""
        entry = self._prepared.get(id(answer))
        if entry is not None and entry[0] is answer and entry[1] is check:
            return entry[2]
        problem = None if check is None else check.first_error(answer)
        if problem is not None:
            return problem
        body = orjson.dumps(answer) + b"\n"
        if len(self._prepared) >= self.MAX_ANSWERS:
            self._prepared.clear()
        self._prepared[id(answer)] = (answer, check, body)
        return body


class FastLane:
    """ASGI: answers provably valid requests itself, hands every other one to `app` (Connexion)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        contract: CompiledContract,
        handler: Callable[[str], Callable[..., Any]],
        authorize: Callable[[list[str]], Awaitable[Principal]],
        controls: Callable[[], Controls],
    ) -> None:
        self._app = app
        self._authorize = authorize
        self._controls = controls
        operations = _compile(contract, handler)
        self._plans = _Plans(contract, operations)
        self._prepared = _PreparedAnswers()
        self.operation_ids = frozenset(operations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            plan = self._plans.plan(scope["method"], scope["path"], scope.get("query_string", b""))
            if not isinstance(plan, Defer):
                await self._serve(plan, scope, receive, send)
                return
        await self._app(scope, receive, send)

    async def _serve(self, plan: _Plan, scope: Scope, receive: Receive, send: Send) -> None:
        operation = plan.operation
        # the body, once read, is replayed to Connexion if it serves (no list without a body)
        read: list[bytes] | None = None if operation.body is None else []
        try:
            arguments = await self._arguments(plan, scope, receive, read)
        except ServiceUnavailableError as error:
            # the store is away: Connexion would only ask it again, and wait out its timeout
            await send_error(send, error)
            return
        except Exception:  # the lane's own bug: logged; Connexion serves, nothing is kept
            logger.exception(
                "fast lane bug serving %s: deferred to Connexion", operation.operation_id
            )
            arguments = Defer.LANE_BUG
        if isinstance(arguments, Defer):
            await self._app(scope, replaying(read[0], receive) if read else receive, send)
            return
        try:
            answer, status = await operation.handler(**arguments)
            await self._answer(operation, status, answer, send)
        except ApiError as error:
            if error.status_code not in operation.responses:
                error = undocumented_status(
                    operation.operation_id, error.status_code, operation.responses
                )
            await send_error(send, error)
            return
        except Exception as exc:  # a bug: answered as errors.py answers it, never a traceback
            logger.error("unexpected error in %s", operation.operation_id, exc_info=exc)
            await send_error(send, unexpected_failure())

    async def _arguments(
        self, plan: _Plan, scope: Scope, receive: Receive, read: list[bytes] | None
    ) -> Mapping[str, Any] | Defer:
        """The handler's arguments, or why Connexion must serve the request."""
        operation = plan.operation
        preferences = scope.get("extensions", {}).get(PREFERENCES)
        if preferences is not None and preferences.shapes_the_answer:
            return Defer.PREFERRED_ANSWER
        if self._controls().canned_answers(operation.operation_id):
            return Defer.CANNED_ANSWER
        headers = scope["headers"]
        caller = None
        if operation.secured:
            try:
                caller = await self._authorize(header_values(headers, b"authorization"))
            except ServiceUnavailableError:
                raise
            except ApiError:  # Connexion's security middleware writes the refusal
                return Defer.UNAUTHORIZED
        arguments = plan.arguments
        if operation.body is not None or operation.wants_token_info:
            arguments = dict(arguments)
            if operation.body is not None and read is not None:
                raw = await _read_body(receive)
                if raw is None:
                    return Defer.NO_BODY
                read.append(raw)
                body = _parse_body(operation.body, headers, raw)
                if isinstance(body, Defer):
                    return body
                arguments["body"] = body
            if operation.wants_token_info:
                arguments["token_info"] = None if caller is None else token_info(caller)
        return arguments

    async def _answer(self, operation: _Operation, status: int, answer: Any, send: Send) -> None:
        if status not in operation.responses:
            error = undocumented_status(operation.operation_id, status, operation.responses)
        else:
            body = self._prepared.body(answer, operation.responses[status])
            if isinstance(body, bytes):
                await send_json(send, status, body)
                return
            error = response_violation(operation.operation_id, body)
        await send_error(send, error)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None where the client went away (Connexion sees the same message)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse_body(check: CompiledSchema, headers: RawHeaders, raw: bytes) -> Any:
    """The JSON body, valid against `check`, or Defer.BAD_BODY."""
    if header_values(headers, b"content-type") != _JSON or not raw:
        return Defer.BAD_BODY
    try:
        body = orjson.loads(raw)  # strict RFC 8259: what it takes, json.loads reads alike
    except orjson.JSONDecodeError:
        return Defer.BAD_BODY
    return body if check.is_valid(body) else Defer.BAD_BODY


# -- binding the compiled contract to the handlers ----------------------------------------------


def _compile(
    contract: CompiledContract, handler: Callable[[str], Callable[..., Any]]
) -> dict[str, _Operation]:
    """The operations the lane can serve exactly as Connexion would, by operationId."""
    served: dict[str, _Operation] = {}
    for route in contract.router.routes:
        operation = _operation(route, handler)
        if operation is not None:
            served.setdefault(operation.operation_id, operation)
    return served


def _operation(route: Route, handler: Callable[[str], Callable[..., Any]]) -> _Operation | None:
    contract_operation: Operation = route.operation
    parameters = contract_operation.parameters
    if not route.named:
        return None  # a path variable name no regex group can carry
    if any(p.location not in ("path", "query") for p in parameters):
        return None
    if any(p.schema.get("format") == "path" for p in parameters):
        return None  # Connexion routes these with Starlette's multi-segment `path` convertor
    security = contract_operation.security
    if any(scopes for requirement in security for scopes in requirement.values()):
        return None
    if security and any(set(requirement) != {"oauth2"} for requirement in security):
        return None
    try:
        function = handler(contract_operation.operation_id)
    except LookupError:  # an operation the mock does not implement: Connexion's to answer
        return None
    if not inspect.iscoroutinefunction(function):
        return None
    signature = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()):
        return None  # it takes every argument Connexion has: Connexion's to pass them
    accepts = frozenset(signature)
    body = contract_operation.body
    if body is not None:
        if body.media_types != {"application/json"} or body.check is None:
            return None
        if not body.required:
            return None  # an absent optional body has rules of its own in Connexion
    takes = accepts | {"body"} if body is not None else accepts
    variables = set(route.pattern.groupindex)  # named: one group per template variable
    if variables != {p.name for p in parameters if p.location == "path"}:
        return None  # a template variable without its parameter, or the other way round
    arguments = [_Argument(p, p.name in takes) for p in parameters]
    return _Operation(
        operation_id=contract_operation.operation_id,
        path_parameters=tuple(a for a in arguments if a.parameter.location == "path"),
        query_parameters=tuple(a for a in arguments if a.parameter.location == "query"),
        body=None if body is None else body.check,
        secured=contract_operation.secured,
        wants_token_info="token_info" in accepts,
        handler=function,
        responses={status: r.check for status, r in contract_operation.responses.items()},
    )
