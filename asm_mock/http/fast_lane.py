"""The fast lane: the contract's happy path, compiled once per operation, in front of Connexion.

Connexion serves a request through ~1,200 Python calls (two Starlette routers, a ConnexionRequest
per middleware, a URI parser, per-request validator objects, a JSON round trip of the answer);
that stack, not the mock's work, bounded asm-mock below Prism's throughput. `FastLane` compiles
each operation of the contract once: its path pattern, parameters with their compiled 2020-12
validators, body schema, security, handler and the compiled schema of every documented response.
A request it can *prove* valid it answers itself, with every check Connexion would make:

- the same route (the first of the contract's paths matching path and method, as Connexion's
  Starlette router picks it);
- the same bearer-token check (`asm_mock.http.security.authorize`);
- the same parameter coercion and validators (the app's `asm_mock.http.schemas.CompiledSchemas`);
- the same handler, with the arguments Connexion would pass;
- the answer's status must be documented, and its body is validated against the response schema
  before it is sent (the handler's dict itself, not a re-parse of its JSON).

Anything else — a failed check, HEAD, a preferred or canned answer, an operation with header or
cookie parameters or required scopes — goes to Connexion untouched (a body already read is
replayed), so every error is still written by Connexion and its registered error handlers. The
lane never runs a handler for a request it then hands over: once the handler has run, the lane
answers, errors included. `tests/test_fast_lane.py` proves the two paths answer alike.

Two verdicts are pure functions of what they judge, so the lane keeps them rather than reach them
again: a request line's route and checked parameters (`_Plans`: the contract does not change
while serving), and an answer object's verdict and JSON (`_PreparedAnswers`: the handlers'
memoized answers are shared and never modified, `asm_mock.http.memo`). Only the work is saved:
each distinct request line is still checked and each distinct answer validated before it is
sent; the token, preferences and canned answers are checked on every request.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from asm_mock.domain.controls import Controls
from asm_mock.domain.errors import ApiError
from asm_mock.domain.tokens import Principal
from asm_mock.http.errors import response_violation, undocumented_status, unexpected_failure
from asm_mock.http.headers import RawHeaders, header_values
from asm_mock.http.limits import replaying
from asm_mock.http.prefer import EXTENSION as PREFERENCES
from asm_mock.http.schemas import CompiledSchema, CompiledSchemas
from asm_mock.http.security import token_info
from asm_mock.http.send import send_error, send_json

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaError

__all__ = ["FastLane"]

logger = logging.getLogger("asm_mock.contract")

_JSON = ["application/json"]  # a body's one Content-Type header, as the lane takes it
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # what int() and jsonschema-rs both take as it is
_NO_DEFAULT = object()


class _Defer(Exception):
    """The request is not provably on the happy path: Connexion serves it."""


@dataclass(frozen=True, slots=True)
class _Parameter:
    name: str
    required: bool
    integer: bool
    default: Any
    check: CompiledSchema
    passed: bool  # to the handler (a parameter it does not take is checked, not passed)

    def value(self, raw: str) -> Any:
        if not self.integer:
            value: Any = raw
        elif _INTEGER.fullmatch(raw):
            value = int(raw)
        else:
            raise _Defer
        if not self.check.is_valid(value):
            raise _Defer
        return value


@dataclass(frozen=True, slots=True)
class _Operation:
    operation_id: str
    path_parameters: tuple[_Parameter, ...]
    query_parameters: tuple[_Parameter, ...]
    body: CompiledSchema | None
    body_required: bool
    secured: bool
    wants_token_info: bool
    handler: Callable[..., Any]
    responses: Mapping[int, CompiledSchema | None]

    def arguments(self, match: re.Match[str], query_string: bytes) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for parameter in self.path_parameters:
            value = parameter.value(match[parameter.name])
            if parameter.passed:
                arguments[parameter.name] = value
        if self.query_parameters:
            pairs = _query_pairs(query_string.decode("latin-1"))
            given = dict(pairs)
            if len(given) != len(pairs):  # a name repeated: Connexion's duplicate rules decide
                raise _Defer
            for parameter in self.query_parameters:
                raw_value = given.get(parameter.name)
                if raw_value is not None:
                    value = parameter.value(raw_value)
                elif parameter.required:
                    raise _Defer
                elif parameter.default is not _NO_DEFAULT:
                    value = parameter.default
                else:
                    continue
                if parameter.passed:
                    arguments[parameter.name] = value
        return arguments


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """The query as Starlette's QueryParams reads it (`parse_qsl`, blank values kept); split
    directly when nothing in it is escaped, which `parse_qsl` would leave as it is."""
    if "%" in query or "+" in query:
        return parse_qsl(query, keep_blank_values=True)
    return [part.partition("=")[::2] for part in query.split("&") if part]


# path pattern, method, and the compiled operation, or None where Connexion must serve it
_Route = tuple[re.Pattern[str], str, _Operation | None]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A request line the lane may serve: its operation and its checked arguments."""

    operation: _Operation
    arguments: Mapping[str, Any]  # never modified: each request gets a copy


# (method, path, query string): a request line
_Line = tuple[str, str, bytes]


class _Plans:
    """Each request line's route and checked parameters (or None: Connexion serves it), found
    once. Short lines only, and a bounded number: hostile traffic cannot grow it."""

    MAX_LINES = 4096
    MAX_LINE_CHARS = 1024

    def __init__(self, routes: list[_Route]) -> None:
        self._routes = routes
        self._plans: dict[_Line, _Plan | None] = {}

    def plan(self, method: str, path: str, query_string: bytes) -> _Plan | None:
        line = (method, path, query_string)
        try:
            return self._plans[line]
        except KeyError:
            pass
        plan = self._make(method, path, query_string)
        if len(path) + len(query_string) <= self.MAX_LINE_CHARS:
            if len(self._plans) >= self.MAX_LINES:
                self._plans.clear()
            self._plans[line] = plan
        return plan

    def _make(self, method: str, path: str, query_string: bytes) -> _Plan | None:
        # Starlette's rule, which Connexion's router follows: the first route, in the contract's
        # order, matching both path and method
        for pattern, route_method, operation in self._routes:
            if route_method == method and (match := pattern.match(path)) is not None:
                if operation is None:
                    return None
                try:
                    return _Plan(operation, operation.arguments(match, query_string))
                except Exception:  # _Defer, or anything unforeseen: Connexion judges it
                    return None
        return None


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
        spec: Mapping[str, Any],
        base_path: str,
        handler: Callable[[str], Callable[..., Any]],
        authorize: Callable[[list[str]], Principal],
        controls: Controls,
        schemas: CompiledSchemas | None = None,
    ) -> None:
        """`schemas`: the compiled schemas the lane shares (by default, its own)."""
        self._app = app
        self._authorize = authorize
        self._controls = controls
        compiled = schemas if schemas is not None else CompiledSchemas()
        routes = _compile(spec, base_path, handler, compiled)
        self._plans = _Plans(routes)
        self._prepared = _PreparedAnswers()
        self.operation_ids = frozenset(op.operation_id for _, _, op in routes if op)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            plan = self._plans.plan(scope["method"], scope["path"], scope.get("query_string", b""))
            if plan is not None:
                await self._serve(plan, scope, receive, send)
                return
        await self._app(scope, receive, send)

    async def _serve(self, plan: _Plan, scope: Scope, receive: Receive, send: Send) -> None:
        operation = plan.operation
        body_bytes: bytes | None = None
        try:
            preferences = scope.get("extensions", {}).get(PREFERENCES)
            if preferences is not None and preferences.shapes_the_answer:
                raise _Defer
            if self._controls.canned(operation.operation_id) is not None:
                raise _Defer
            headers = scope["headers"]
            caller = None
            if operation.secured:
                caller = self._authorize(header_values(headers, b"authorization"))
            arguments = plan.arguments
            if operation.body is not None or operation.wants_token_info:
                arguments = dict(arguments)
                if operation.body is not None:
                    body_bytes = await _read_body(receive)
                    arguments["body"] = _parse_body(operation, headers, body_bytes)
                if operation.wants_token_info:
                    arguments["token_info"] = None if caller is None else token_info(caller)
        except Exception:  # _Defer, a failed check (ApiError), or anything unforeseen
            await self._app(
                scope, receive if body_bytes is None else replaying(body_bytes, receive), send
            )
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


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Defer  # e.g. the client went away: Connexion sees the same message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse_body(operation: _Operation, headers: RawHeaders, raw: bytes) -> Any:
    if header_values(headers, b"content-type") != _JSON or not raw:
        raise _Defer
    try:
        body = orjson.loads(raw)  # strict RFC 8259: what it takes, json.loads reads alike
    except orjson.JSONDecodeError:
        raise _Defer from None
    assert operation.body is not None
    if not operation.body.is_valid(body):
        raise _Defer
    return body


# -- compiling the contract ---------------------------------------------------------------------

_METHODS = ("get", "put", "post", "delete", "patch")


def _compile(
    spec: Mapping[str, Any],
    base_path: str,
    handler: Callable[[str], Callable[..., Any]],
    compiled: CompiledSchemas,
) -> list[_Route]:
    """Every operation in the contract's order, compiled where the lane can serve it exactly
    as Connexion would."""
    routes: list[_Route] = []
    for template, item in spec["paths"].items():
        pattern = re.escape(base_path + template)
        pattern = re.sub(r"\\\{([A-Za-z_][A-Za-z0-9_]*)\\\}", r"(?P<\1>[^/]+)", pattern)
        routable = "\\{" not in pattern  # else a variable name no regex group can carry
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and "operationId" in operation:
                compiled_operation = (
                    _operation(spec, template, item, operation, handler, compiled)
                    if routable
                    else None
                )
                routes.append((re.compile(pattern + r"\Z"), method.upper(), compiled_operation))
    return routes


def _operation(
    spec: Mapping[str, Any],
    template: str,
    item: Mapping[str, Any],
    operation: Mapping[str, Any],
    handler: Callable[[str], Callable[..., Any]],
    compiled: CompiledSchemas,
) -> _Operation | None:
    declared = {(p["name"], p["in"]): p for p in item.get("parameters", [])}
    declared |= {(p["name"], p["in"]): p for p in operation.get("parameters", [])}
    if any(location not in ("path", "query") for _, location in declared):
        return None
    if any(p.get("schema", {}).get("format") == "path" for p in declared.values()):
        return None  # Connexion routes these with Starlette's multi-segment `path` convertor
    security = operation.get("security", spec.get("security", []))
    if any(scopes for requirement in security for scopes in requirement.values()):
        return None
    if security and any(set(requirement) != {"oauth2"} for requirement in security):
        return None
    function = handler(operation["operationId"])
    if not inspect.iscoroutinefunction(function):
        return None
    accepts = frozenset(inspect.signature(function).parameters)
    body, body_required = None, False
    if "requestBody" in operation:
        content = operation["requestBody"].get("content", {})
        if set(content) != {"application/json"}:
            return None
        body = compiled(content["application/json"].get("schema", {}))
        body_required = bool(operation["requestBody"].get("required"))
        if not body_required:
            return None  # an absent optional body has rules of its own in Connexion
    takes = accepts | {"body"} if body is not None else accepts
    parameters = {key: _parameter(p, p["name"] in takes, compiled) for key, p in declared.items()}
    variables = set(re.findall(r"\{([^}]*)\}", template))
    if variables != {name for name, location in declared if location == "path"}:
        return None  # a template variable without its parameter, or the other way round
    return _Operation(
        operation_id=operation["operationId"],
        path_parameters=tuple(p for (_, loc), p in parameters.items() if loc == "path"),
        query_parameters=tuple(p for (_, loc), p in parameters.items() if loc == "query"),
        body=body,
        body_required=body_required,
        secured=bool(security),
        wants_token_info="token_info" in accepts,
        handler=function,
        responses={
            int(code): _response_schema(response, compiled)
            for code, response in operation.get("responses", {}).items()
            if code.isdigit()
        },
    )


def _parameter(
    definition: Mapping[str, Any], passed: bool, compiled: CompiledSchemas
) -> _Parameter:
    schema = definition.get("schema", {})
    return _Parameter(
        name=definition["name"],
        required=bool(definition.get("required")),
        integer=schema.get("type") == "integer",
        default=schema.get("default", _NO_DEFAULT),
        check=compiled(schema),
        passed=passed,
    )


def _response_schema(
    response: Mapping[str, Any], compiled: CompiledSchemas
) -> CompiledSchema | None:
    media = response.get("content", {}).get("application/json")
    return None if media is None else compiled(media.get("schema", {}))
