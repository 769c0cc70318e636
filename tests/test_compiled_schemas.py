"""Compiled schemas are kept by the app that compiled them, not by the process."""

from __future__ import annotations

from asm_mock.http.schemas import CompiledSchemas


def test_a_schema_is_compiled_once_per_cache() -> None:
    schemas = CompiledSchemas()
    schema = {"type": "string", "maxLength": 3}
    first = schemas(schema)
    assert schemas(schema) is first
    assert first.is_valid("abc") and not first.is_valid("abcd")


def test_an_equal_but_distinct_schema_is_compiled_on_its_own() -> None:
    schemas = CompiledSchemas()
    assert schemas({"type": "string"}) is not schemas({"type": "string"})


def test_two_caches_share_nothing() -> None:
    schema = {"type": "integer"}
    assert CompiledSchemas()(schema) is not CompiledSchemas()(schema)
