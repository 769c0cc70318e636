"""Both directions of a forwarded exchange, checked against the one compiled contract.

`check_request`: the route (`Router`), each parameter (its compiled schema, coerced as the fast
lane coerces it) and the JSON body, in the words Connexion's validators use
(`asm_mock.http.errors`), as the journal's `ErrorDetail`s the conformance report reads.
`check_answer`: the status documented for the operation, its documented headers, its Content-Type
and its body against that status's schema, as `Finding`s the drift report aggregates. A finding
names where and what, never a value: values that merely differ are not drift.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from asm_mock.contract import CompiledContract, Operation, Parameter
from asm_mock.domain.errors import ValidationError
from asm_mock.domain.journal import ErrorDetail
from asm_mock.http.errors import body_error, invalid_parameter, missing_parameter
from asm_mock.http.oauth import TOKEN_PATH

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaError

__all__ = [
    "MAX_DECODED_BYTES",
    "TOKEN_OPERATION",
    "Finding",
    "check_answer",
    "check_request",
    "decoded_body",
    "media_type",
]

TOKEN_OPERATION = "oauthToken"  # as the mock's journal names its token endpoint
_JSON = "application/json"
MAX_DECODED_BYTES = 64 * 1024 * 1024  # an answer decoded past this is not judged
# Headers of HTTP itself, of caching, CORS and transport security: an answer carries them
# whatever the contract says, so they are not drift.
_GENERAL_HEADERS = frozenset(
    {
        "accept-ranges",
        "age",
        "alt-svc",
        "cache-control",
        "content-encoding",
        "content-language",
        "content-length",
        "content-security-policy",
        "content-type",
        "date",
        "etag",
        "expires",
        "last-modified",
        "pragma",
        "referrer-policy",
        "server",
        "set-cookie",
        "strict-transport-security",
        "vary",
        "via",
        "x-content-type-options",
        "x-frame-options",
        "x-xss-protection",
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One way an answer differs from what the contract documents."""

    kind: str  # status, missing, added, type, format, value, content-type, body,
    #            header-missing, header-undocumented
    where: str  # a body field (dotted, [] for an array's items), a header, or "" (the answer)
    detail: str  # what differs, without the value
    breaks_contract: bool  # False: drift the contract allows (an added property it permits)

    def line(self) -> str:
        where = f" {self.where}" if self.where else ""
        return f"{self.kind}{where}: {self.detail}"


def media_type(headers: Sequence[tuple[str, str]]) -> str | None:
    value = next((v for n, v in headers if n == "content-type"), None)
    return None if value is None else value.partition(";")[0].strip().lower()


# -- the request --------------------------------------------------------------------------------


def _detail(error: ValidationError) -> ErrorDetail:
    return ErrorDetail(error.message, error.reason, error.subject, error.subject_type)


def check_request(
    contract: CompiledContract,
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
) -> tuple[str | None, tuple[ErrorDetail, ...]]:
    """The operation the request is for (None: none documents it) and what it broke."""
    if path == TOKEN_PATH:
        return TOKEN_OPERATION, ()
    if method == "OPTIONS" and any(n == "access-control-request-method" for n, _ in headers):
        return None, ()  # a browser's CORS preflight: HTTP's, not the contract's
    # HEAD is GET without the body (RFC 9110 9.3.2), as the mock serves it
    found = contract.router.match("GET" if method == "HEAD" else method, path)
    if found is None:
        where = "method" if contract.router.allow(path) else "path"
        what = "this method on this path" if where == "method" else "this path"
        return None, (ErrorDetail(f"no operation documents {what}", "invalid", None, where),)
    route, match = found
    operation = route.operation
    given = {
        "path": match.groupdict() if route.named else {},
        "query": dict(parse_qsl(query, keep_blank_values=True)),
        "header": dict(headers),
    }
    errors = [
        problem
        for parameter in operation.parameters
        if (problem := _parameter_problem(parameter, given.get(parameter.location))) is not None
    ]
    errors += _body_problems(operation, headers, body)
    return operation.operation_id, tuple(_detail(e) for e in errors)


def _parameter_problem(
    parameter: Parameter, given: Mapping[str, str] | None
) -> ValidationError | None:
    if given is None:  # cookies: not read
        return None
    raw = given.get(parameter.name.lower() if parameter.location == "header" else parameter.name)
    if raw is None:
        return missing_parameter(parameter.location, parameter.name) if parameter.required else None
    error = parameter.check.first_error(parameter.coerced(raw))
    return None if error is None else invalid_parameter(parameter.name, error)


def _body_problems(
    operation: Operation, headers: Sequence[tuple[str, str]], body: bytes
) -> list[ValidationError]:
    declared = operation.body
    if declared is None:
        return []
    if not body:
        missing = ValidationError(
            "Request body is missing", reason="missing", subject="body", subject_type="body"
        )
        return [missing] if declared.required else []
    sent = media_type(headers)
    if sent not in declared.media_types:
        return [
            ValidationError(
                f"Content-Type header is invalid: {sent or 'none'!r} is not a media type the "
                "operation consumes",
                reason="invalid",
                subject="Content-Type",
                subject_type="header",
            )
        ]
    if sent != _JSON or declared.check is None:
        return []
    try:
        instance = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return [
            ValidationError(
                f"Malformed JSON request body: Expecting JSON: {error}",
                reason="invalid",
                subject="body",
                subject_type="body",
            )
        ]
    problem = declared.check.first_error(instance)
    return [] if problem is None else [body_error(problem)]


# -- the answer ---------------------------------------------------------------------------------


def check_answer(
    operation: Operation,
    status: int,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    with_body: bool = True,
) -> list[Finding]:
    """Each way the upstream's answer differs from what `operation` documents for `status`;
    `with_body=False` (the answer to HEAD): all but its body."""
    response = operation.responses.get(status)
    if response is None:
        documented = ", ".join(str(s) for s in sorted(operation.statuses))
        return [Finding("status", "", f"not documented (documented: {documented})", True)]
    names = {name for name, _ in headers}
    findings = [
        Finding("header-missing", name, "documented, not sent", True)
        for name in response.header_names
        if name.lower() not in names
    ]
    findings += [
        Finding("header-undocumented", name, "sent, not documented", False)
        for name in sorted(names - response.headers - _GENERAL_HEADERS)
    ]
    if response.check is None:
        return findings
    sent = media_type(headers)
    if sent != _JSON:
        detail = f"{sent or 'none'} where {_JSON} is documented"
        return [*findings, Finding("content-type", "Content-Type", detail, True)]
    if not with_body:
        return findings
    decoded = decoded_body(body, headers)
    if decoded is None:  # a coding this module does not read (br, zstd), or a bomb: not judged
        return findings
    try:
        instance = orjson.loads(decoded)
    except orjson.JSONDecodeError:
        return [*findings, Finding("body", "", "not JSON", True)]
    found = {
        (f.kind, f.where): f
        for f in [
            *_schema_findings(response.check.errors(instance)),
            *_added(response.schema, instance, []),
        ]
    }
    return [*findings, *found.values()]


def decoded_body(body: bytes, headers: Sequence[tuple[str, str]]) -> bytes | None:
    """`body` without its content coding (the proxy passes answers on as they came; a recording
    keeps them decoded); None for a coding read nowhere here (br, zstd) and for one that would
    decode past `MAX_DECODED_BYTES` (a few kilobytes of gzip can be gigabytes of zeros)."""
    encoding = next((v.strip().lower() for n, v in headers if n == "content-encoding"), "")
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 16 if "gzip" in encoding else zlib.MAX_WBITS)
    try:
        decoded = decoder.decompress(body, MAX_DECODED_BYTES)
    except zlib.error:
        return b""  # not what it says it is: judged as a body that is not JSON
    return None if decoder.unconsumed_tail else decoded


def _where(path: Sequence[Any]) -> str:
    where = ""
    for part in path:
        where += "[]" if isinstance(part, int) else f".{part}" if where else str(part)
    return where


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _json_type(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "integer" if isinstance(value, int) else "number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _schema_findings(errors: Sequence[SchemaError]) -> Iterator[Finding]:
    for error in errors:
        path = list(error.absolute_path)
        rule = error.validator
        if rule == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    yield Finding("missing", _where([*path, name]), "required, absent", True)
        elif rule == "type":
            expected = error.validator_value
            expected = " or ".join(expected) if isinstance(expected, list) else expected
            detail = f"{_json_type(error.instance)} where {expected} is documented"
            yield Finding("type", _where(path), detail, True)
        elif rule == "format":
            yield Finding("format", _where(path), f"not a {error.validator_value}", True)
        elif rule not in ("additionalProperties", "unevaluatedProperties"):  # `_added`'s
            yield Finding("value", _where(path), f"breaks the schema's {rule}", True)


def _added(schema: Any, instance: Any, path: list[Any]) -> Iterator[Finding]:
    """Properties the schema does not name, allowed or not: a property the upstream added is
    drift even where the schema lets it pass."""
    if not isinstance(schema, Mapping):
        return
    if isinstance(instance, dict) and isinstance(schema.get("properties"), Mapping):
        properties = schema["properties"]
        open_ended = "patternProperties" in schema or isinstance(
            schema.get("additionalProperties"), Mapping
        )
        for name, value in instance.items():
            if name in properties:
                yield from _added(properties[name], value, [*path, name])
            elif not open_ended:
                refused = schema.get("additionalProperties") is False
                yield Finding("added", _where([*path, name]), "not in the schema", refused)
    elif isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        for item in instance:
            yield from _added(schema["items"], item, [*path, 0])
