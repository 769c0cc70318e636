"""admin.yaml, the admin API's own contract, where a light module needs it: the readiness probe
before the stack loads, and the commands that check what an admin endpoint answered.

Importing `asm_mock.http.admin` (the handlers) instead would cost ~50 ms of imports; this module
imports only the contract package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from asm_mock.contract import CompiledContract, CompiledSchema, load_compiled

__all__ = ["ADMIN_DOCUMENT", "admin_answer_schema", "compiled_admin_contract"]

ADMIN_DOCUMENT = Path(__file__).with_name("admin.yaml")


@cache
def compiled_admin_contract() -> CompiledContract:
    return load_compiled(ADMIN_DOCUMENT)


def admin_answer_schema(operation_id: str, status: int) -> CompiledSchema:
    """The compiled schema admin.yaml gives `operation_id`'s `status` answer."""
    operation = compiled_admin_contract().operation(operation_id)
    response = None if operation is None else operation.responses.get(status)
    schema = None if response is None else response.check
    if schema is None:
        raise LookupError(f"admin.yaml documents no JSON {status} answer of {operation_id}")
    return schema
