"""Scenarios' canned answers checked against the compiled contract.

The domain's scenario loader knows no contract (`asm_mock.domain` knows nothing of the wire);
it is handed `canned_answers(contract)`, which checks each canned answer: an operation the
contract has, a status it documents, headers it documents, a `match` naming the operation's own
parameters, and a body valid against the schema. A body that breaks the schema is refused
unless the entry lists its `violations`: a recording keeps the upstream's drift on purpose (the
replay answers what the real system answered), a hand-written file never does by accident.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from asm_mock.contract.compiled import CompiledContract
from asm_mock.contract.operations import Operation
from asm_mock.domain.controls import CannedAnswer, RequestMatch
from asm_mock.domain.errors import FixtureError
from asm_mock.domain.fixtures import pointer
from asm_mock.domain.scenarios import CannedCheck

__all__ = ["canned_answers"]


def _as_text(value: Any) -> str:
    """A parameter value as it appears in a URL (YAML reads `currentPage: 0` as a number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _match(file: str, at: str, operation: Operation, raw: Mapping[str, Any]) -> RequestMatch:
    parameters: dict[str, dict[str, str]] = {}
    for where in ("path", "query"):
        names = {p.name for p in operation.parameters if p.location == where}
        for name, value in raw.get(where, {}).items():
            if name not in names:
                known = ", ".join(sorted(names)) or "none"
                problem = f"{operation.operation_id} has no {where} parameter {name} ({known})"
                raise FixtureError(file, f"{at}/match/{where}/{name}", problem)
            parameters.setdefault(where, {})[name] = _as_text(value)
    if "body" in raw and operation.body is None:
        problem = f"{operation.operation_id} takes no request body"
        raise FixtureError(file, f"{at}/match/body", problem)
    return RequestMatch(parameters.get("path", {}), parameters.get("query", {}), raw.get("body"))


def canned_answers(contract: CompiledContract) -> CannedCheck:
    """The check `load_scenarios` applies to each scenario's canned answer."""

    def check(file: str, at: str, operation_id: str, raw: Mapping[str, Any]) -> CannedAnswer:
        operation = contract.operation(operation_id)
        if operation is None:
            known = ", ".join(sorted(contract.by_id))
            raise FixtureError(file, at, f"unknown operationId (the contract has: {known})")
        match = _match(file, at, operation, raw["match"]) if "match" in raw else None
        violations = tuple(raw.get("violations", ()))
        response = operation.responses.get(raw["status"])
        if response is None:
            documented = ", ".join(sorted(str(s) for s in operation.responses))
            problem = f"{operation_id} does not document status {raw['status']} ({documented})"
            raise FixtureError(file, f"{at}/status", problem)
        headers: dict[str, str] = raw.get("headers", {})
        for name in headers:
            if name.lower() not in response.headers:
                known = ", ".join(sorted(response.header_names)) or "none"
                problem = f"the contract documents no such header here (documented: {known})"
                raise FixtureError(file, f"{at}/headers/{name}", problem)
        if response.check is None:
            if "body" in raw:
                raise FixtureError(file, f"{at}/body", "the contract documents no JSON body here")
            return CannedAnswer(raw["status"], None, headers, match, violations)
        if "body" not in raw:
            raise FixtureError(file, at, "'body' is required: the contract documents a JSON body")
        body = raw["body"]
        try:
            json.dumps(body, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise FixtureError(file, f"{at}/body", f"not JSON ({exc}); quote dates") from None
        error = response.check.first_error(body)
        if error is not None and not violations:
            where = f"{at}/body{pointer(error.absolute_path)}"
            problem = f"breaks the contract's schema: {error.message}"
            raise FixtureError(file, where, f"{problem} (unless listed under violations)")
        return CannedAnswer(raw["status"], body, headers, match, violations)

    return check
