"""JSON Schema 2020-12, compiled once per schema: jsonschema-rs judges, jsonschema explains.

`CompiledSchemas` keeps each schema's compiled form; the compiled contract owns one, which the
fast lane, Connexion's validators, preferred and canned answers share. Connexion-free, so the
fast lane can check requests and answers before Connexion has loaded; the Python engine
(~0.1 s to import) is loaded only when an instance fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError as SchemaError

__all__ = ["CompiledSchema", "CompiledSchemas"]


class CompiledSchema:
    """One schema, checked by jsonschema-rs (fast) and explained by jsonschema (detailed).

    Both implement Draft 2020-12 with format checks. The happy path, nearly every request and
    response, costs one Rust `is_valid` call; only an invalid instance pays for Python's
    `best_match`, whose path and message name the field in SAP's error body.
    """

    def __init__(self, schema: Any) -> None:
        self._schema = schema
        self._detailed: Draft202012Validator | None = None
        # Connexion hands response schemas over with their refs resolved *and* a `components`
        # copy attached, which can contain the schema itself: a cycle jsonschema-rs refuses.
        fast_schema = (
            {k: v for k, v in schema.items() if k != "components"}
            if isinstance(schema, dict)
            else schema
        )
        try:
            self._fast: Any = jsonschema_rs.Draft202012Validator(fast_schema, validate_formats=True)
        except ValueError:  # a schema it cannot take: the Python engine judges everything
            self._fast = None

    def is_valid(self, instance: Any) -> bool:
        """The verdict alone: what the fast lane needs to decide whether it may answer."""
        verdict = self._fast_verdict(instance)
        return verdict if verdict is not None else self._explain(instance, None) is None

    def first_error(self, instance: Any) -> SchemaError | None:
        verdict = self._fast_verdict(instance)
        return None if verdict else self._explain(instance, verdict)

    def errors(self, instance: Any) -> list[SchemaError]:
        """Every error, not only the best: the proxy's drift report names each way an answer
        differs. Valid instances cost the one fast verdict."""
        if self._fast_verdict(instance):
            return []
        self._explain(instance, None)  # builds the detailed validator
        assert self._detailed is not None
        return list(self._detailed.iter_errors(instance))

    def _fast_verdict(self, instance: Any) -> bool | None:
        """jsonschema-rs's verdict; None where it cannot judge (a schema or a value it cannot
        take), and the Python engine judges alone."""
        if self._fast is None:
            return None
        try:
            return bool(self._fast.is_valid(instance))
        except (ValueError, OverflowError):
            return None

    def _explain(self, instance: Any, fast_verdict: bool | None) -> SchemaError | None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import ValidationError as SchemaError
        from jsonschema.exceptions import best_match

        if self._detailed is None:
            self._detailed = Draft202012Validator(
                self._schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        error = best_match(self._detailed.iter_errors(instance))
        if error is None and fast_verdict is False:  # the engines disagree: trust the stricter
            rust = next(iter(self._fast.iter_errors(instance)))
            error = SchemaError(rust.message, path=list(rust.instance_path))
        return error


class CompiledSchemas:
    """Each schema's compiled form, built the first time it is asked for: schemas are the
    contract's long-lived objects, and compiling one costs far more than checking against it.

    Looked up by identity first (a validator asks for its schema on every request), then by
    content: Connexion validates with its own resolved copy of the document, and a schema of
    that copy gets the very object the compiled contract made for the same schema.
    """

    __slots__ = ("_by_content", "_compiled")

    def __init__(self) -> None:
        self._compiled: dict[int, tuple[Any, CompiledSchema]] = {}
        self._by_content: dict[bytes, CompiledSchema] = {}

    def __call__(self, schema: Any) -> CompiledSchema:
        entry = self._compiled.get(id(schema))
        if entry is None or entry[0] is not schema:
            key = _content_key(schema)
            compiled = None if key is None else self._by_content.get(key)
            if compiled is None:
                compiled = CompiledSchema(schema)
                if key is not None:
                    self._by_content[key] = compiled
            # keep a reference to the schema so its id() cannot be reused by another object
            entry = (schema, compiled)
            self._compiled[id(schema)] = entry
        return entry[1]


def _content_key(schema: Any) -> bytes | None:
    """The schema's JSON with sorted keys, without the `components` copy Connexion attaches to
    response schemas; None for a schema JSON cannot carry (a cycle, a date)."""
    if isinstance(schema, dict) and "components" in schema:
        schema = {k: v for k, v in schema.items() if k != "components"}
    try:
        return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError is one
        return None
