"""Hand-written fixtures: agents, OAuth clients and named demo customers (fixtures/*.yaml)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import jsonschema_rs
import yaml

from asm_mock.domain.errors import FixtureError
from asm_mock.domain.model import Agent, Cart, Customer, OAuthClient, Order, Ticket, TicketStatus
from asm_mock.domain.records import (
    CustomerRecords,
    IdKind,
    RecordProblem,
    Records,
    Rule,
    Where,
)
from asm_mock.domain.world import SITES

try:
    from yaml import CSafeLoader as _LibYamlSafeLoader

    _LIBYAML = True
except ImportError:  # PyYAML built without libyaml: the pure-Python parser does it all
    from yaml import SafeLoader as _LibYamlSafeLoader  # type: ignore[assignment]

    _LIBYAML = False

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError as JsonSchemaValidationError

__all__ = [
    "FIXTURE_SCHEMA",
    "KNOWN_SITES",
    "ORDER_STATUSES",
    "TICKET_CATEGORIES",
    "Explainer",
    "FixtureBuilder",
    "Fixtures",
    "StrictLoader",
    "describe",
    "explainer",
    "fixture_error",
    "load_fixtures",
    "pointer",
    "read_agent",
    "read_client",
    "read_customer",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Fixtures:
    agents: tuple[Agent, ...]
    clients: tuple[OAuthClient, ...]
    customers: tuple[CustomerRecords, ...]


KNOWN_SITES: frozenset[str] = frozenset(SITES)
ORDER_STATUSES: tuple[str, ...] = (
    "CREATED",
    "COMPLETED",
    "CANCELLED",
    "CANCELLING",
    "PENDING_APPROVAL",
    "APPROVED",
    "REJECTED",
    "READY",
    "PAYMENT_CAPTURED",
)
TICKET_CATEGORIES: tuple[str, ...] = ("Enquiry", "Complaint", "Problem")

_TIMESTAMP_FORMAT = "date-time with timezone"

_NON_EMPTY = {"type": "string", "minLength": 1}
_CODE = {"type": "string", "pattern": "^[0-9]{8}$"}
_AMOUNT_FORMAT = "finite amount"
_AMOUNT = {"type": "number", "minimum": 0, "format": _AMOUNT_FORMAT}
# No "type": YAML turns an unquoted timestamp into a datetime, a quoted one stays a string.
_TIMESTAMP = {"format": _TIMESTAMP_FORMAT}


def _strings(item: dict[str, Any] = _NON_EMPTY) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": 1, "uniqueItems": True}


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _record(optional: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """Object schema: properties are required unless `optional`; no others are allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


_AGENT = _record(
    uid=_NON_EMPTY,
    name=_NON_EMPTY,
    email={"type": "string", "format": "email"},
    password=_NON_EMPTY,
    groups=_strings(),
)
_CLIENT = _record(
    optional=("acts_as",),
    client_id=_NON_EMPTY,
    secret=_NON_EMPTY,
    grants=_strings({"enum": ["password", "refresh_token", "client_credentials"]}),
    scopes=_strings(),
    acts_as=_NON_EMPTY,
)
_CART = _record(
    code=_CODE,
    site=_NON_EMPTY,
    total_items={"type": "integer", "minimum": 0},
    total=_AMOUNT,
    modified=_TIMESTAMP,
)
_ORDER = _record(
    code=_CODE,
    site=_NON_EMPTY,
    status={"enum": list(ORDER_STATUSES)},
    total=_AMOUNT,
    placed=_TIMESTAMP,
)
_TICKET = _record(
    id=_CODE,
    site=_NON_EMPTY,
    subject=_NON_EMPTY,
    category={"enum": list(TICKET_CATEGORIES)},
    status={"enum": [status.value for status in TicketStatus]},
    created=_TIMESTAMP,
)
_CUSTOMER = _record(
    optional=("password", "carts", "orders", "tickets"),
    uid={"type": "string", "format": "email"},
    customer_id={
        "type": "string",
        "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    },
    first_name=_NON_EMPTY,
    last_name=_NON_EMPTY,
    signed_up=_TIMESTAMP,
    town=_NON_EMPTY,
    country=_NON_EMPTY,
    sites=_strings(),
    password=_NON_EMPTY,
    carts=_list_of(_CART),
    orders=_list_of(_ORDER),
    tickets=_list_of(_TICKET),
)

FIXTURE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "asm-mock fixture file",
    **_record(
        optional=("agents", "clients", "customers"),
        agents=_list_of(_AGENT),
        clients=_list_of(_CLIENT),
        customers=_list_of(_CUSTOMER),
    ),
}


def _is_aware_timestamp(value: object) -> bool:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return False
    return isinstance(value, datetime) and value.utcoffset() is not None


def _is_finite(value: object) -> bool:
    """YAML's .inf and .nan are numbers to JSON Schema, and pass `minimum` (NaN compares false)."""
    return not isinstance(value, float) or math.isfinite(value)


def _is_email(value: str) -> bool:
    """Python jsonschema's own (lenient) `email` check: jsonschema-rs's RFC 5321 one is stricter
    and would refuse uids such as 'jane doe@example.com' that load today."""
    return "@" in value


# Validation: jsonschema-rs judges every file (microseconds, already loaded for the HTTP
# layer); Python's jsonschema, whose best_match names the field, is imported only to explain a
# file the Rust engine refuses or cannot take. Both check formats with the same functions.
def _rust_schema(schema: Any) -> Any:
    """FIXTURE_SCHEMA for jsonschema-rs: a timestamp must also be a string, since the Rust engine
    skips `format` for other types while `_is_aware_timestamp` refuses them (a YAML datetime
    arrives as a string: see `_jsonable`)."""
    if isinstance(schema, dict):
        copy = {key: _rust_schema(value) for key, value in schema.items()}
        if schema.get("format") == _TIMESTAMP_FORMAT:
            copy["type"] = "string"
        return copy
    if isinstance(schema, list):
        return [_rust_schema(value) for value in schema]
    return schema


_RUST_SCHEMA = _rust_schema(FIXTURE_SCHEMA)
_FAST = jsonschema_rs.Draft202012Validator(
    _RUST_SCHEMA,
    validate_formats=True,
    formats={
        _TIMESTAMP_FORMAT: _is_aware_timestamp,
        "email": _is_email,
        _AMOUNT_FORMAT: _is_finite,
    },
)
_AWARE_TIMESTAMP = "2000-01-01T00:00:00+00:00"  # stands for an aware YAML datetime


class _NotJson(Exception):
    """A value jsonschema-rs cannot take as it is: the Python engine judges the document."""


def _jsonable(value: Any, schema: Mapping[str, Any], open_containers: set[int]) -> Any:
    """`value` as jsonschema-rs takes it, walking FIXTURE_SCHEMA alongside.

    An aware datetime where a timestamp belongs becomes a string the timestamp format accepts,
    so jsonschema-rs reaches the verdict Python's engine reaches on the datetime. Anything else
    JSON lacks (dates, naive or misplaced datetimes, !!set, !!binary, !!omap pairs, non-string
    keys, alias cycles) and non-finite floats, which jsonschema-rs would read as null, raise
    `_NotJson`.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _NotJson
        return value
    if kind is datetime and schema.get("format") == _TIMESTAMP_FORMAT:
        if value.utcoffset() is None:
            raise _NotJson
        return _AWARE_TIMESTAMP
    if kind is not dict and kind is not list:
        raise _NotJson
    if id(value) in open_containers:
        raise _NotJson
    open_containers.add(id(value))
    if kind is dict:
        properties = schema.get("properties", {})
        if any(type(key) is not str for key in value):
            raise _NotJson
        result: Any = {
            k: _jsonable(v, properties.get(k, {}), open_containers) for k, v in value.items()
        }
    else:
        items = schema.get("items", {})
        result = [_jsonable(item, items, open_containers) for item in value]
    open_containers.discard(id(value))
    return result


def _schema_error(document: dict[str, Any]) -> JsonSchemaValidationError | None:
    """The error to report for `document`, None if it is valid."""
    rust_document: Any = None
    try:
        rust_document = _jsonable(document, FIXTURE_SCHEMA, set())
        if _FAST.is_valid(rust_document):
            return None  # the happy path: jsonschema is never imported
        rust_verdict: bool | None = False
    except (_NotJson, ValueError, OverflowError, RecursionError):
        rust_verdict = None  # a value jsonschema-rs cannot take: Python's engine judges alone
    from jsonschema.exceptions import best_match

    python = explainer()
    error = best_match(python.validator.iter_errors(document), key=python.relevance)
    if error is None and rust_verdict is False:
        # The engines disagree. With the formats judged by the same functions, what is left is
        # Python's `re.search`, whose `$` also matches before a final newline: it would take
        # code "00090001\n" (e.g. from a `|` block scalar) for an 8-digit code. jsonschema-rs
        # follows the spec (ECMA-262 `$`: end of input) and is right: trust the stricter.
        error = _rust_error(document, rust_document)
    return error


def _rust_error(document: dict[str, Any], rust_document: Any) -> JsonSchemaValidationError:
    """jsonschema-rs's first complaint, as the jsonschema error `describe` words."""
    from jsonschema.exceptions import ValidationError

    rust = next(iter(_FAST.iter_errors(rust_document)))
    *where, keyword = rust.schema_path
    schema = _at(_RUST_SCHEMA, where)
    instance = _at(document, rust.instance_path)
    message = rust.message
    if keyword == "pattern":  # jsonschema's own wording
        message = f"{instance!r} does not match {schema['pattern']!r}"
    return ValidationError(
        message,
        validator=keyword,
        validator_value=schema.get(keyword),
        instance=instance,
        schema=schema,
        path=list(rust.instance_path),
        schema_path=list(rust.schema_path),
    )


def _at(node: Any, path: Iterable[str | int]) -> Any:
    for part in path:
        node = node[part]
    return node


@dataclass(frozen=True, slots=True)
class Explainer:
    validator: Draft202012Validator
    format_checker: FormatChecker
    relevance: Callable[[JsonSchemaValidationError], Any]


@functools.cache
def explainer() -> Explainer:
    """Python's jsonschema, set up as the explaining engine; imported on first use (~0.1 s of
    start-up that only an invalid file pays for). scenarios.py reuses its format checks."""
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import by_relevance

    # The draft's own formats plus ours; a private copy: the shared FORMAT_CHECKER stays untouched.
    checker = FormatChecker(formats=())
    checker.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)
    checker.checks(_TIMESTAMP_FORMAT)(_is_aware_timestamp)
    checker.checks(_AMOUNT_FORMAT)(_is_finite)
    return Explainer(
        validator=Draft202012Validator(FIXTURE_SCHEMA, format_checker=checker),
        format_checker=checker,
        # A misspelt key fails `required` and `additionalProperties`; the latter names the typo.
        relevance=by_relevance(strong=frozenset({"additionalProperties"})),
    )


def load_fixtures(directory: Path) -> Fixtures:
    """Load, validate and merge every `*.yaml` file directly inside `directory`.

    Raises `FixtureError` naming the file, the path inside it and the problem.
    """
    if not directory.is_dir():
        raise FixtureError(str(directory), "", "fixtures directory not found")
    files = sorted((p for p in directory.glob("*.yaml") if p.is_file()), key=lambda p: p.name)
    builder = FixtureBuilder()
    for path in files:
        builder.add(path.name, _read(path))
    return builder.finish()


class _RefuseDuplicateKeys(yaml.constructor.SafeConstructor):
    """Rejects duplicate mapping keys, which PyYAML would silently overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` keys may legitimately be overridden
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeLoader itself reports unhashable keys
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class StrictLoader(_RefuseDuplicateKeys, yaml.SafeLoader):
    """The pure-Python SafeLoader, refusing duplicate keys: its messages explain broken files."""


class _FastStrictLoader(_RefuseDuplicateKeys, _LibYamlSafeLoader):
    """The same on libyaml's parser (CSafeLoader, ~10x faster) when PyYAML has it."""


# Where libyaml and PyYAML's parser part ways on the same text: tabs (PyYAML refuses some that
# libyaml takes as separators), a byte-order mark after the start (different documents), NEL/LS/PS
# line breaks. Rare in fixture files; such a file is read by the pure-Python parser alone, as
# before. Elsewhere libyaml only takes more: valid YAML PyYAML's scanner refuses, e.g. `[a?b]`.
_PARSERS_DIFFER = re.compile("[\t\x85\u2028\u2029]|.\ufeff", re.DOTALL)


def _parse(text: str) -> Any:
    """The YAML document in `text` (SafeLoader rules: no arbitrary objects).

    libyaml parses; a file it refuses is read again by the pure-Python parser, whose messages
    and marks are those users have always had (libyaml words syntax errors differently). Should
    that parser take the file after all (it reads YAML 1.3 directives and escapes such as
    "\\ud800" that libyaml refuses), its document stands, as it always did.
    """
    if _LIBYAML and not _PARSERS_DIFFER.search(text):
        try:
            return yaml.load(text, Loader=_FastStrictLoader)
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=StrictLoader)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(path.name, "", f"cannot read file: {exc}") from exc
    try:
        document = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise FixtureError(path.name, "", f"invalid YAML at {where}: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise FixtureError(path.name, "", f"invalid YAML: {exc}") from exc
    except (ValueError, OverflowError) as exc:  # a well-formed scalar no value can hold
        raise FixtureError(path.name, "", f"invalid value in YAML (e.g. a date): {exc}") from exc
    if not isinstance(document, dict):
        found = "an empty document" if document is None else f"a {type(document).__name__}"
        raise FixtureError(
            path.name, "", f"expected a mapping with agents/clients/customers, found {found}"
        )
    error = _schema_error(document)
    if error is not None:
        raise FixtureError(path.name, pointer(error.absolute_path), describe(error))
    return document


def pointer(parts: Iterable[object]) -> str:
    """`parts` as a JSON pointer (RFC 6901), as fixture and scenario errors name places."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def describe(error: JsonSchemaValidationError) -> str:
    """A schema error in the words of a fixture or scenario file's author."""
    instance = error.instance
    if error.validator == "format" and error.validator_value == _TIMESTAMP_FORMAT:
        return (
            f"{_show(instance)} is not an ISO 8601 date-time with a timezone "
            "(e.g. 2021-03-04T10:00:00Z)"
        )
    if error.validator == "format" and error.validator_value == _AMOUNT_FORMAT:
        return f"{_show(instance)} is not an amount (a finite number such as 19.99)"
    if error.validator == "type" and error.validator_value == "string" and _is_scalar(instance):
        # YAML 1.1 reads 00012345 as an octal number and bare dates as dates.
        return f"{_show(instance)} is not a string; quote the value in the YAML file"
    if error.validator == "pattern" and error.validator_value == _CODE["pattern"]:
        return f"{_show(instance)} is not an 8-digit code such as '00090001'"
    if error.validator == "additionalProperties":
        allowed = [str(name) for name in error.schema["properties"]]
        unexpected = [str(key) for key in instance if key not in error.schema["properties"]]
        guesses = [guess for key in unexpected for guess in get_close_matches(key, allowed, n=1)]
        if guesses:
            return f"{error.message}; did you mean {', '.join(map(repr, guesses))}?"
    return str(error.message)


def _is_scalar(value: object) -> bool:
    return isinstance(value, int | float | date)


def _show(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else repr(value)


def _timestamp(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


_CENT = Decimal("0.01")


def _money(value: float | str) -> Decimal:
    # Through str() so 19.99 stays 19.99 rather than the float's binary expansion. A string
    # (the State document's "19.99") has its two decimals already: quantizing it could only
    # fail, on more digits than the default context holds.
    amount = Decimal(str(value))
    return amount if isinstance(value, str) else amount.quantize(_CENT)


class FixtureBuilder:
    """Merges validated documents into records, checking what a per-file schema cannot see."""

    def __init__(self) -> None:
        # The agent a client acts as may be defined in a file read after the client's.
        self._records = Records(agents_may_follow=True)

    def add(self, file: str, document: dict[str, Any]) -> None:
        where = Where(file)
        try:
            for i, raw in enumerate(document.get("agents", [])):
                self._records.add_agent(where.at("agents", i), read_agent(raw))
            for i, raw in enumerate(document.get("clients", [])):
                self._records.add_client(where.at("clients", i), read_client(raw))
            for i, raw in enumerate(document.get("customers", [])):
                self._records.add_customer(where.at("customers", i), read_customer(raw))
        except RecordProblem as problem:
            raise fixture_error(problem) from None

    def finish(self) -> Fixtures:
        records = self._records
        try:
            records.check_acts_as()
        except RecordProblem as problem:
            raise fixture_error(problem) from None
        return Fixtures(
            tuple(records.agents.values()),
            tuple(records.clients.values()),
            tuple(records.customers),
        )


def fixture_error(problem: RecordProblem) -> FixtureError:
    """`problem` as the `FixtureError` naming its file, JSON pointer and what is wrong."""
    where, value = problem.where, problem.value
    match problem.rule:
        case Rule.DUPLICATE if problem.ids is not None and problem.first is not None:
            first = problem.first
            what = f"{problem.record} uid" if problem.ids is IdKind.LOGIN else problem.ids.value
            used = f"{first.source} {pointer(first.path)}"
            text = f"duplicate {what} {value!r}: already used at {used}"
        case Rule.NOT_LOWERCASE:
            text = f"{problem.record} uid {value!r} must be lowercase"
        case Rule.UNKNOWN_SITE:
            text = f"unknown base site {value!r} (known: {', '.join(sorted(problem.allowed))})"
        case Rule.FOREIGN_SITE:
            theirs = ", ".join(problem.allowed)
            text = f"site {value!r} is not one of the customer's sites ({theirs})"
        case _:  # an unknown agent: the only other rule records from files can break
            known = ", ".join(sorted(problem.allowed)) or "none"
            text = f"acts_as names unknown agent {value!r} (known agents: {known})"
    return FixtureError(where.source, pointer(where.path), text)


# Readers of a record whose fields have the records' own names (as fixture files spell them);
# the admin State document is read by them too, once its camelCase names are translated.


def read_agent(raw: Mapping[str, Any]) -> Agent:
    return Agent(raw["uid"], raw["name"], raw["email"], raw["password"], tuple(raw["groups"]))


def read_client(raw: Mapping[str, Any]) -> OAuthClient:
    return OAuthClient(
        client_id=raw["client_id"],
        secret=raw["secret"],
        grants=tuple(raw["grants"]),
        scopes=tuple(raw["scopes"]),
        acts_as=raw.get("acts_as"),
    )


def read_customer(raw: Mapping[str, Any]) -> CustomerRecords:
    uid: str = raw["uid"]

    def cart(item: dict[str, Any]) -> Cart:
        total = _money(item["total"])
        modified = _timestamp(item["modified"])
        return Cart(item["code"], uid, item["site"], int(item["total_items"]), total, modified)

    def order(item: dict[str, Any]) -> Order:
        total, placed = _money(item["total"]), _timestamp(item["placed"])
        return Order(item["code"], uid, item["site"], item["status"], total, placed)

    def ticket(item: dict[str, Any]) -> Ticket:
        status, created = TicketStatus(item["status"]), _timestamp(item["created"])
        return Ticket(
            item["id"], uid, item["site"], item["subject"], item["category"], status, created
        )

    customer = Customer(
        uid=uid,
        customer_id=raw["customer_id"],
        first_name=raw["first_name"],
        last_name=raw["last_name"],
        signed_up=_timestamp(raw["signed_up"]),
        town=raw["town"],
        country=raw["country"],
        sites=tuple(raw["sites"]),
        password=raw.get("password"),
    )
    return CustomerRecords(
        customer,
        carts=_optional_list(raw, "carts", cart),
        orders=_optional_list(raw, "orders", order),
        tickets=_optional_list(raw, "tickets", ticket),
    )


def _optional_list(
    raw: Mapping[str, Any], key: str, build: Callable[[dict[str, Any]], _T]
) -> tuple[_T, ...] | None:
    # An omitted list is None (the generator invents it); an explicit [] means "none".
    if key not in raw:
        return None
    return tuple(build(item) for item in raw[key])
