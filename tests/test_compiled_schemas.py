"""Compiled schemas are kept by the app that compiled them, not by the process."""

from __future__ import annotations

from asm_mock.contract.schemas import CompiledSchemas


def test_a_schema_is_compiled_once_per_cache() -> None:
    schemas = CompiledSchemas()
    schema = {"type": "string", "maxLength": 3}
    first = schemas(schema)
    assert schemas(schema) is first
    assert first.is_valid("abc") and not first.is_valid("abcd")


def test_an_equal_copy_shares_the_compiled_form_and_a_different_schema_does_not() -> None:
    """Connexion validates with its own resolved copy of the contract: its copy of a schema must
    get the object the fast lane checks with (even with Connexion's `components` attached)."""
    schemas = CompiledSchemas()
    first = schemas({"type": "string", "maxLength": 3})
    copy = {"maxLength": 3, "type": "string", "components": {"schemas": {}}}
    assert schemas(copy) is first
    assert schemas({"type": "string", "maxLength": 4}) is not first


def test_two_caches_share_nothing() -> None:
    schema = {"type": "integer"}
    assert CompiledSchemas()(schema) is not CompiledSchemas()(schema)
