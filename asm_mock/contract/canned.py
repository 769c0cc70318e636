"""Scenarios' canned answers checked against the compiled contract.

The domain's scenario loader knows no contract (`asm_mock.domain` knows nothing of the wire);
it is handed `canned_answers(contract)`, which checks each canned answer: an operation the
contract has, a status it documents, headers it documents and a body valid against the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from asm_mock.contract.compiled import CompiledContract
from asm_mock.domain.controls import CannedAnswer
from asm_mock.domain.errors import FixtureError
from asm_mock.domain.fixtures import pointer
from asm_mock.domain.scenarios import CannedCheck

__all__ = ["canned_answers"]


def canned_answers(contract: CompiledContract) -> CannedCheck:
    """The check `load_scenarios` applies to each scenario's canned answer."""

    def check(file: str, operation_id: str, raw: Mapping[str, Any]) -> CannedAnswer:
        at = f"/responses/{operation_id}"
        operation = contract.operation(operation_id)
        if operation is None:
            known = ", ".join(sorted(contract.by_id))
            raise FixtureError(file, at, f"unknown operationId (the contract has: {known})")
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
            return CannedAnswer(raw["status"], None, headers)
        if "body" not in raw:
            raise FixtureError(file, at, "'body' is required: the contract documents a JSON body")
        body = raw["body"]
        try:
            json.dumps(body, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise FixtureError(file, f"{at}/body", f"not JSON ({exc}); quote dates") from None
        error = response.check.first_error(body)
        if error is not None:
            where = f"{at}/body{pointer(error.absolute_path)}"
            raise FixtureError(file, where, f"breaks the contract's schema: {error.message}")
        return CannedAnswer(raw["status"], body, headers)

    return check
