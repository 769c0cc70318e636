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
- the same parameter coercion and validators (`asm_mock.http.schemas.compiled`);
- the same handler, with the arguments Connexion would pass;
- the answer's status must be documented, and its body is validated against the response schema
  before it is sent (the handler's dict itself, not a re-parse of its JSON).

Anything else — a failed check, HEAD, a preferred or canned answer, an operation with header or
cookie parameters or required scopes — goes to Connexion untouched (a body already read is
replayed), so every error is still written by Connexion and its registered error handlers. The
lane never runs a handler for a request it then hands over: once the handler has run, the lane
answers, errors included. `tests/test_fast_lane.py` proves the two paths answer alike.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asm_mock.domain.controls import Controls
from asm_mock.domain.errors import ApiError
from asm_mock.domain.tokens import Principal
from asm_mock.http.errors import (
    error_body,
    error_headers,
    response_violation,
    undocumented_status,
    unexpected_failure,
)
from asm_mock.http.prefer import EXTENSION as PREFERENCES
from asm_mock.http.schemas import CompiledSchema, compiled
from asm_mock.http.security import token_info

__all__ = ["FastLane"]

logger = logging.getLogger("asm_mock.contract")

_JSON = b"application/json"
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
    accepts: frozenset[str]
    handler: Callable[..., Any]
    responses: Mapping[int, CompiledSchema | None]

    def arguments(self, match: re.Match[str], query_string: bytes) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for parameter in self.path_parameters:
            arguments[parameter.name] = parameter.value(match[parameter.name])
        if self.query_parameters:
            # as Starlette's QueryParams reads it
            query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
            given: dict[str, str] = {}
            for key, raw in query:
                if key in given:  # repeated: Connexion's duplicate rules decide
                    raise _Defer
                given[key] = raw
            for parameter in self.query_parameters:
                raw_value = given.get(parameter.name)
                if raw_value is not None:
                    arguments[parameter.name] = parameter.value(raw_value)
                elif parameter.required:
                    raise _Defer
                elif parameter.default is not _NO_DEFAULT:
                    arguments[parameter.name] = parameter.default
        return {k: v for k, v in arguments.items() if k in self.accepts}


# path pattern, method, and the compiled operation, or None where Connexion must serve it
_Route = tuple[re.Pattern[str], str, _Operation | None]


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
    ) -> None:
        self._app = app
        self._authorize = authorize
        self._controls = controls
        self._routes = _compile(spec, base_path, handler)
        self.operation_ids = frozenset(op.operation_id for _, _, op in self._routes if op)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        # Starlette's rule, which Connexion's router follows: the first route, in the contract's
        # order, matching both path and method
        for pattern, route_method, operation in self._routes:
            if route_method == method and (match := pattern.match(path)) is not None:
                if operation is not None:
                    await self._serve(operation, match, scope, receive, send)
                    return
                break
        await self._app(scope, receive, send)

    async def _serve(
        self,
        operation: _Operation,
        match: re.Match[str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
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
                values = [v.decode("latin-1") for k, v in headers if k == b"authorization"]
                caller = token_info(self._authorize(values))
            arguments = operation.arguments(match, scope.get("query_string", b""))
            if operation.body is not None:
                body_bytes = await _read_body(receive)
                arguments["body"] = _parse_body(operation, headers, body_bytes)
            if operation.wants_token_info:
                arguments["token_info"] = caller
        except Exception:  # _Defer, a failed check (ApiError), or anything unforeseen
            await self._app(scope, _replay(body_bytes, receive), send)
            return
        try:
            answer, status = await operation.handler(**arguments)
            await self._answer(operation, status, answer, send)
        except ApiError as error:
            if error.status_code not in operation.responses:
                error = undocumented_status(
                    operation.operation_id, error.status_code, operation.responses
                )
            await _send(send, error.status_code, error_body(error), error_headers(error))
            return
        except Exception as exc:  # a bug: answered as errors.py answers it, never a traceback
            logger.error("unexpected error in %s", operation.operation_id, exc_info=exc)
            failure = unexpected_failure()
            await _send(send, failure.status_code, error_body(failure), [])

    async def _answer(self, operation: _Operation, status: int, answer: Any, send: Send) -> None:
        if status not in operation.responses:
            error = undocumented_status(operation.operation_id, status, operation.responses)
        else:
            check = operation.responses[status]
            problem = None if check is None else check.first_error(answer)
            if problem is None:
                await _send(send, status, orjson.dumps(answer) + b"\n", [])
                return
            error = response_violation(operation.operation_id, problem)
        await _send(send, error.status_code, error_body(error), error_headers(error))


async def _send(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Defer  # e.g. the client went away: Connexion sees the same message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse_body(operation: _Operation, headers: list[tuple[bytes, bytes]], raw: bytes) -> Any:
    content_types = [v for k, v in headers if k == b"content-type"]
    if content_types != [_JSON] or not raw:
        raise _Defer
    try:
        body = orjson.loads(raw)  # strict RFC 8259: what it takes, json.loads reads alike
    except orjson.JSONDecodeError:
        raise _Defer from None
    assert operation.body is not None
    if not operation.body.is_valid(body):
        raise _Defer
    return body


def _replay(body: bytes | None, receive: Receive) -> Receive:
    if body is None:
        return receive
    replayed = False

    async def replaying() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replaying


# -- compiling the contract ---------------------------------------------------------------------

_METHODS = ("get", "put", "post", "delete", "patch")


def _compile(
    spec: Mapping[str, Any], base_path: str, handler: Callable[[str], Callable[..., Any]]
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
                    _operation(spec, template, item, operation, handler) if routable else None
                )
                routes.append((re.compile(pattern + r"\Z"), method.upper(), compiled_operation))
    return routes


def _operation(
    spec: Mapping[str, Any],
    template: str,
    item: Mapping[str, Any],
    operation: Mapping[str, Any],
    handler: Callable[[str], Callable[..., Any]],
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
    parameters = {key: _parameter(p) for key, p in declared.items()}
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
        accepts=accepts | {"body"} if body is not None else accepts,
        handler=function,
        responses={
            int(code): _response_schema(response)
            for code, response in operation.get("responses", {}).items()
            if code.isdigit()
        },
    )


def _parameter(definition: Mapping[str, Any]) -> _Parameter:
    schema = definition.get("schema", {})
    return _Parameter(
        name=definition["name"],
        required=bool(definition.get("required")),
        integer=schema.get("type") == "integer",
        default=schema.get("default", _NO_DEFAULT),
        check=compiled(schema),
    )


def _response_schema(response: Mapping[str, Any]) -> CompiledSchema | None:
    media = response.get("content", {}).get("application/json")
    return None if media is None else compiled(media.get("schema", {}))
