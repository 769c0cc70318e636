"""One exchange -> one canned answer of the scenario format, or why it cannot be one.

The entry answers the request as the exchange made it: its path parameters, the query
parameters the contract declares and, for an operation that takes one, its JSON body fields
(`match`); with the status, the headers the contract documents for it and the body. Request
headers are never written. Secrets are scrubbed first, then (when asked) personal data is
replaced, and only then is the body checked against the contract, so the entry is judged, and
replayed, as written; a body that breaks the schema is kept and marked with its `violations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from asm_mock.contract.compiled import CompiledContract
from asm_mock.domain.fixtures import pointer
from asm_mock.proxy.exchange import Exchange
from asm_mock.proxy.validate import decoded_body
from asm_mock.recording.pseudonyms import Pseudonyms, is_personal
from asm_mock.recording.scrub import SECRET_FIELDS, SECRET_HEADERS, Secrets

__all__ = ["NotRecorded", "Recorded", "entry_of"]


@dataclass(frozen=True, slots=True)
class Recorded:
    operation_id: str
    key: str  # the request it answers (its match, canonical JSON): its identity in the file
    entry: dict[str, Any]  # as the scenario file holds it


@dataclass(frozen=True, slots=True)
class NotRecorded:
    reason: str  # names no value of the exchange (it is logged)


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NotRecorded


def _parameters(values: dict[str, str], pseudonyms: Pseudonyms | None) -> dict[str, str]:
    if pseudonyms is None:
        return values
    return {k: pseudonyms.fake(k, v) if is_personal(k) else v for k, v in values.items()}


def entry_of(
    exchange: Exchange, contract: CompiledContract, pseudonyms: Pseudonyms | None
) -> Recorded | NotRecorded:
    """The canned answer `exchange` records (`pseudonyms`: replace personal data)."""
    operation_id = exchange.operation_id
    operation = None if operation_id is None else contract.operation(operation_id)
    if operation_id is None:
        return NotRecorded(f"a {exchange.method} request no operation of the contract routes")
    if operation is None:  # the token endpoint: the replaying mock issues tokens itself
        return NotRecorded(f"{operation_id}: not an operation of the contract")
    if not exchange.request_conforms:
        why = "its request broke the contract, and the replaying mock answers such a one itself"
        return NotRecorded(f"{operation_id}: {why}")
    routed = contract.router.match(exchange.method, exchange.path)
    if routed is None or routed[0].operation is not operation:
        return NotRecorded(f"{exchange.method} {operation_id}: not this contract's route")
    response = operation.responses.get(exchange.status)
    if response is None:
        return NotRecorded(f"{operation_id} answered {exchange.status}, which it does not document")
    secrets = Secrets(exchange)
    path = {k: secrets.text(v) for k, v in routed[1].groupdict().items()}  # decoded already
    declared = {
        p.name
        for p in operation.parameters
        if p.location == "query" and p.name.lower() not in SECRET_FIELDS
    }
    query: dict[str, str] = {}
    for name, value in parse_qsl(exchange.query, keep_blank_values=True):
        if name in declared:
            query.setdefault(name, secrets.text(value))
    asked = None
    if operation.body is not None and exchange.request_body:
        asked = _json(exchange.request_body)
        if not isinstance(asked, dict):
            return NotRecorded(f"{operation_id}: its request body is not a JSON object")
        asked = secrets.scrub(asked)
    violations = []
    answered = None
    if response.check is not None:
        decoded = decoded_body(exchange.response_body, exchange.response_headers)
        if decoded is None:
            coding = f"{exchange.status} in a content coding it cannot read (or past its limit)"
            return NotRecorded(f"{operation_id} answered {coding}")
        answered = _json(decoded)
        if answered is NotRecorded:
            return NotRecorded(f"{operation_id} answered {exchange.status} without a JSON body")
        answered = secrets.scrub(answered)
    elif exchange.response_body:
        violations.append("a body where the contract documents none (not recorded)")
    documented = {name.lower(): name for name in response.header_names}
    headers = {
        documented[name]: secrets.text(value)
        for name, value in exchange.response_headers
        if name in documented and name not in SECRET_HEADERS
    }
    if pseudonyms is not None:  # personal fields first, then their values left in any text
        answered, asked = pseudonyms.learn(answered), pseudonyms.learn(asked)
        path, query = _parameters(path, pseudonyms), _parameters(query, pseudonyms)
        answered, asked, path, query, headers = map(
            pseudonyms.rewrite, (answered, asked, path, query, headers)
        )
    if response.check is not None:  # every way the body breaks the schema, as the drift names
        broken = response.check.errors(answered)
        violations[:0] = [f"{pointer(e.absolute_path) or '/'}: {e.message}" for e in broken]
    match = {k: v for k, v in (("path", path), ("query", query), ("body", asked)) if v}
    entry: dict[str, Any] = {"match": match} if match else {}
    entry["status"] = exchange.status
    if headers:
        entry["headers"] = headers
    if response.check is not None:
        entry["body"] = answered
    if violations:
        entry["violations"] = violations
    key = orjson.dumps(match, option=orjson.OPT_SORT_KEYS).decode()
    return Recorded(operation_id, key, entry)
