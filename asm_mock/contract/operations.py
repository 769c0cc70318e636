"""`Operation`: one operation of the contract as every consumer reads it, compiled once.

`operations()` is the one walk over the document's operations: in the contract's order, each
with its method, path template, parameters (compiled 2020-12 checks), request body, responses
per documented status (compiled schema, headers, named examples) and security.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from asm_mock.contract.load import Contract, resolve_pointer
from asm_mock.contract.schemas import CompiledSchema, CompiledSchemas

__all__ = ["INVALID", "METHODS", "Body", "Operation", "Parameter", "Response", "operations"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON = "application/json"

INVALID: Any = object()  # Parameter.value's answer for a raw value its checks refuse
_NO_DEFAULT: Any = object()
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # what int() and jsonschema-rs both take as it is


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str  # path, query, header or cookie
    required: bool
    schema: Mapping[str, Any]
    check: CompiledSchema
    # read from `schema` once: the fast lane asks them for every new request line
    integer: bool = field(init=False)
    has_default: bool = field(init=False)
    default: Any = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "integer", self.schema.get("type") == "integer")
        object.__setattr__(self, "has_default", "default" in self.schema)
        object.__setattr__(self, "default", self.schema.get("default", _NO_DEFAULT))

    def coerced(self, raw: str) -> Any:
        """`raw` as Connexion coerces it: an integer parameter's digits as an int, else as it is
        (for `check` to refuse)."""
        return int(raw) if self.integer and _INTEGER.fullmatch(raw) else raw

    def value(self, raw: str) -> Any:
        """`raw` coerced as Connexion coerces it and checked, or INVALID."""
        value = self.coerced(raw)
        if self.integer and value is raw:  # not digits: no integer, whatever `check` says
            return INVALID
        return value if self.check.is_valid(value) else INVALID


@dataclass(frozen=True, slots=True)
class Body:
    media_types: frozenset[str]
    required: bool
    check: CompiledSchema | None  # the JSON body's schema, where the contract takes JSON


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: frozenset[str]  # the documented header names, lowercase
    header_names: tuple[str, ...]  # as the contract writes them
    check: CompiledSchema | None  # None where the answer documents no JSON body
    schema: Mapping[str, Any] | None  # the JSON body's schema, references resolved
    raw_schema: Mapping[str, Any] | None  # the same as written (for the generator's $refs)
    examples: Mapping[str, Any]  # named examples' values, in the contract's order


@dataclass(frozen=True, slots=True, eq=False)
class Operation:
    operation_id: str
    method: str  # upper case
    template: str  # as the contract writes it, without the base path
    parameters: tuple[Parameter, ...]  # path-item's, overridden by the operation's
    body: Body | None
    responses: Mapping[int, Response]
    security: tuple[Mapping[str, tuple[str, ...]], ...]  # requirements, any of which suffices

    @property
    def statuses(self) -> frozenset[int]:
        return frozenset(self.responses)

    @property
    def secured(self) -> bool:
        return bool(self.security)

    def first_example(self) -> tuple[int, Any] | None:
        """The first named example of the lowest documented 2xx status that has one."""
        for status in sorted(self.responses):
            examples = self.responses[status].examples
            if 200 <= status < 300 and examples:
                return status, next(iter(examples.values()))
        return None


def operations(contract: Contract, schemas: CompiledSchemas) -> Iterator[Operation]:
    """Every operation with an operationId, in the contract's order (template, then method)."""
    for template, item in contract.spec["paths"].items():
        raw_item = contract.raw["paths"][template]
        for method in METHODS:
            definition = item.get(method)
            if isinstance(definition, dict) and "operationId" in definition:
                raw = raw_item.get(method, {})
                yield _operation(contract, template, method, item, definition, raw, schemas)


def _operation(
    contract: Contract,
    template: str,
    method: str,
    item: Mapping[str, Any],
    definition: Mapping[str, Any],
    raw: Mapping[str, Any],
    schemas: CompiledSchemas,
) -> Operation:
    declared = {(p["name"], p["in"]): p for p in item.get("parameters", [])}
    declared |= {(p["name"], p["in"]): p for p in definition.get("parameters", [])}
    security = definition.get("security", contract.spec.get("security", []))
    raw_responses = raw.get("responses", {})
    return Operation(
        operation_id=str(definition["operationId"]),
        method=method.upper(),
        template=template,
        parameters=tuple(_parameter(p, schemas) for p in declared.values()),
        body=_body(definition.get("requestBody"), schemas),
        responses=MappingProxyType(
            {
                int(code): _response(
                    contract, int(code), response, raw_responses.get(code), schemas
                )
                for code, response in definition.get("responses", {}).items()
                if str(code).isdigit()
            }
        ),
        security=tuple(
            MappingProxyType({name: tuple(scopes) for name, scopes in requirement.items()})
            for requirement in security
        ),
    )


def _parameter(definition: Mapping[str, Any], schemas: CompiledSchemas) -> Parameter:
    schema = definition.get("schema", {})
    return Parameter(
        name=definition["name"],
        location=definition["in"],
        required=bool(definition.get("required")),
        schema=schema,
        check=schemas(schema),
    )


def _body(definition: Mapping[str, Any] | None, schemas: CompiledSchemas) -> Body | None:
    if definition is None:
        return None
    content = definition.get("content", {})
    media = content.get(JSON)
    return Body(
        media_types=frozenset(content),
        required=bool(definition.get("required")),
        check=None if media is None else schemas(media.get("schema", {})),
    )


def _response(
    contract: Contract,
    status: int,
    response: Mapping[str, Any],
    raw_response: Any,
    schemas: CompiledSchemas,
) -> Response:
    media = response.get("content", {}).get(JSON)
    names = tuple(response.get("headers", {}))
    while isinstance(raw_response, dict) and isinstance(raw_response.get("$ref"), str):
        raw_response = resolve_pointer(contract.raw, raw_response["$ref"])
    raw_media = (raw_response or {}).get("content", {}).get(JSON, {})
    return Response(
        status=status,
        headers=frozenset(name.lower() for name in names),
        header_names=names,
        check=None if media is None else schemas(media.get("schema", {})),
        schema=None if media is None else media.get("schema", {}),
        raw_schema=None if media is None else raw_media.get("schema", {}),
        examples=MappingProxyType(
            {}
            if media is None
            else {k: e.get("value") for k, e in media.get("examples", {}).items()}
        ),
    )
