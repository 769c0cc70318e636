"""The client conformance report: what a window of journaled requests says about a client.

A pure function of journal entries and the operations a contract documents, so entries from
several journals (replicas, tenants) can be joined and reported on as one. Three parts: the
requests that broke the contract, grouped by operation, where and what; coverage of every
operation x documented status; the mock's controls that shaped answers, counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from asm_mock.domain.journal import ErrorDetail, JournalEntry

__all__ = [
    "SECRET_NAMES",
    "ConformanceReport",
    "ControlUse",
    "Coverage",
    "DocumentedOperation",
    "Example",
    "ViolationGroup",
    "conformance_report",
    "scrubbed_query",
]

# Never shown, whatever carries them: OAuth2's and the password grant's secrets.
# query parameters, form fields and JSON properties that hold credentials or tokens (compared
# lowercased); the recording scrubs the same
SECRET_NAMES = frozenset({"access_token", "refresh_token", "id_token", "password", "client_secret"})
SCRUBBED = "***"
# Where SAP's error body says a request was wrong; anything else (a session not found, a
# scenario's problem) is about the mock's world, not the request's shape.
_REQUEST_PARTS = frozenset({"parameter", "body", "header"})
_BROKEN = frozenset({"missing", "invalid"})
_ROUTING = frozenset({"path", "method"})  # a request no operation documents
# Requests the mock answers that no contract operation documents: its own endpoints.
_NOT_CONTRACT = frozenset({"admin", "oauthToken"})
# The mock's own controls refuse a bad preference with a header error naming its source.
_PREFERENCE_SOURCES = ("Prefer", "Cookie ", "__")


@dataclass(frozen=True, slots=True)
class DocumentedOperation:
    operation_id: str
    method: str
    template: str
    statuses: frozenset[int]


@dataclass(frozen=True, slots=True)
class Example:
    method: str
    path: str
    query: str  # secrets scrubbed
    status: int


@dataclass(frozen=True, slots=True)
class ViolationGroup:
    operation_id: str | None  # None: no operation documents the method and path
    location: str  # parameter, body, header, path or method
    name: str | None  # the parameter, body field (dotted path) or header; None for path/method
    problem: str  # what was wrong, without the value the client sent
    count: int
    example: Example  # the newest such request


@dataclass(frozen=True, slots=True)
class Coverage:
    operation: DocumentedOperation
    exercised: dict[int, int]  # documented status -> requests answered with it (0: never)
    undocumented: dict[int, int]  # statuses answered that the operation does not document

    @property
    def uncovered(self) -> list[int]:
        return sorted(s for s, n in self.exercised.items() if n == 0)


@dataclass(frozen=True, slots=True)
class ControlUse:
    kind: str  # prefer, canned, injected, fault
    detail: str
    operation_id: str | None
    count: int


@dataclass(frozen=True, slots=True)
class ConformanceReport:
    requests: int  # entries reported on
    violating_requests: int
    violations: list[ViolationGroup]
    coverage: list[Coverage]
    controls: list[ControlUse]

    @property
    def uncovered(self) -> int:
        return sum(len(c.uncovered) for c in self.coverage)


def scrubbed_query(query: str) -> str:
    """The query string with the values of secret parameters replaced."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(k.lower() in SECRET_NAMES for k, _ in pairs):
        return query
    return urlencode(
        [(k, SCRUBBED if k.lower() in SECRET_NAMES else v) for k, v in pairs], safe="*"
    )


_OPENERS = {"[": "]", "{": "}", "(": ")"}


def _string_end(text: str, at: int) -> int | None:
    """The index after the quoted string (a repr or JSON string) opening at `at`."""
    quote, i = text[at], at + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == quote:
            return i + 1
        else:
            i += 1
    return None


def _value_end(text: str) -> int | None:
    """The index after the literal (string, number, list, object...) that `text` opens with;
    one pass, whatever the value holds."""
    closing: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "'\"":
            after = _string_end(text, i)
            if after is None:
                return None
            i = after
        elif char in _OPENERS:
            closing.append(_OPENERS[char])
            i += 1
        elif closing and char == closing[-1]:
            closing.pop()
            i += 1
        elif not closing and char == " ":
            return i
        else:
            i += 1
        if not closing and i < len(text) and text[i] == " ":
            return i
    return None


def _without_value(rule: str) -> str | None:
    """A schema message without the value it quotes first (`'abc' is not of type 'integer'` ->
    `value is not of type 'integer'`): a group is one problem whatever was sent, and what a
    client sent (a password) is never repeated. None when the value cannot be told apart."""
    if rule.startswith(_RULES_WITHOUT_VALUE):
        return rule
    end = _value_end(rule)
    return None if end is None or end == 0 else "value" + rule[end:]


# schema messages that open with the rule, not with the value
_RULES_WITHOUT_VALUE = ("Additional properties", "Unevaluated properties", "Expecting ")


def _problem(detail: ErrorDetail) -> str | None:
    """`missing`, or `invalid: ` and the schema's rule broken; None for a refusal that names
    no rule: the world's (a cart not of that customer, a page size past SAP's limit), which
    the contract documents as a 400 for values its schemas allow."""
    if detail.reason == "missing":
        return "missing"
    _, colon, rule = detail.message.partition(": ")
    if not colon:
        return None
    without = _without_value(rule)
    return "invalid" if without is None else f"invalid: {without}"


def _violations(entry: JournalEntry) -> list[tuple[str, str | None, str]]:
    """(location, name, problem) of each way `entry` broke the contract."""
    if entry.operation_id in _NOT_CONTRACT:
        return []
    if entry.operation_id is None and entry.status == 404:
        return [("path", None, "no operation documents this path")]
    if entry.operation_id is None and entry.status == 405:
        return [("method", None, "no operation documents this method on this path")]
    if entry.status == 415:
        return [("header", "Content-Type", "not a media type the operation consumes")]
    # a request the proxy forwarded, whatever the upstream answered, says so itself
    routing: list[tuple[str, str | None, str]] = [
        (d.subject_type or "", None, d.message) for d in entry.errors if d.subject_type in _ROUTING
    ]
    if routing:
        return routing
    found = []
    for detail in entry.errors:
        if (
            detail.subject_type in _REQUEST_PARTS
            and detail.reason in _BROKEN
            and not (detail.subject or "").startswith(_PREFERENCE_SOURCES)
            and (problem := _problem(detail)) is not None
        ):
            found.append((detail.subject_type or "", detail.subject, problem))
    return found


def conformance_report(
    entries: Iterable[JournalEntry], operations: Iterable[DocumentedOperation]
) -> ConformanceReport:
    """Newest entries first (as `Journal.entries()` gives them): each group's example is the
    newest request of its kind."""
    documented = {op.operation_id: op for op in operations}
    answered: Counter[tuple[str, int]] = Counter()
    groups: Counter[tuple[str | None, str, str | None, str]] = Counter()
    examples: dict[tuple[str | None, str, str | None, str], Example] = {}
    controls: Counter[tuple[str, str, str | None]] = Counter()
    requests = violating = 0
    for entry in entries:
        requests += 1
        if entry.operation_id is not None:
            answered[entry.operation_id, entry.status] += 1
        for kind, detail in entry.controls:
            controls[kind, detail, entry.operation_id] += 1
        found = _violations(entry)
        violating += bool(found)
        for location, name, problem in found:
            key = (entry.operation_id, location, name, problem)
            groups[key] += 1
            if key not in examples:
                query = scrubbed_query(entry.query)
                examples[key] = Example(entry.method, entry.path, query, entry.status)
    coverage = []
    for op in documented.values():
        statuses = {s: answered[op.operation_id, s] for s in sorted(op.statuses)}
        others = {
            s: n
            for (op_id, s), n in sorted(answered.items())
            if op_id == op.operation_id and s not in op.statuses
        }
        coverage.append(Coverage(op, statuses, others))
    violations = [
        ViolationGroup(*key, count=n, example=examples[key]) for key, n in groups.most_common()
    ]
    uses = [ControlUse(*key, count=n) for key, n in controls.most_common()]
    return ConformanceReport(requests, violating, violations, coverage, uses)
