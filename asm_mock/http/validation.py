"""JSON Schema 2020-12 validation plugged into Connexion's `validator_map`.

Connexion 3.3 validates with Draft 4, which silently ignores 2020-12 keywords (`const`,
`type: [..., "null"]`, `prefixItems`, ...). These subclasses keep Connexion's plumbing and swap the
engine. Validators are compiled once per schema and cached: Connexion builds a validator object per
request, and compiling a schema costs far more than checking an instance against it.
Failures become `asm_mock.domain.errors` exceptions, so they render as SAP's OCC errors naming the
parameter or field.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import jsonschema_rs
import orjson
from connexion.datastructures import MediaTypeDict
from connexion.lifecycle import ConnexionRequest
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
    TextResponseBodyValidator,
)
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match
from starlette.types import Scope

from asm_mock.domain.errors import ContractViolation, ValidationError
from asm_mock.http.errors import response_violation

__all__ = ["VALIDATOR_MAP", "CompiledSchema", "compiled"]


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

    def first_error(self, instance: Any) -> SchemaError | None:
        try:
            if self._fast is not None and self._fast.is_valid(instance):
                return None
        except (ValueError, OverflowError):
            pass  # a value jsonschema-rs cannot represent: let the Python engine judge it
        if self._detailed is None:
            self._detailed = Draft202012Validator(
                self._schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        error = best_match(self._detailed.iter_errors(instance))
        if error is None and self._fast is not None:  # the engines disagree: trust the stricter
            rust = next(iter(self._fast.iter_errors(instance)))
            error = SchemaError(rust.message, path=list(rust.instance_path))
        return error


_compiled: dict[int, tuple[Any, CompiledSchema]] = {}


def compiled(schema: Any) -> CompiledSchema:
    """The compiled form of `schema`, built once (schemas are long-lived spec objects)."""
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        # keep a reference to the schema so its id() cannot be reused by another object
        entry = (schema, CompiledSchema(schema))
        _compiled[id(schema)] = entry
    return entry[1]


def _first_error(validator: CompiledSchema, instance: Any) -> SchemaError | None:
    return validator.first_error(instance)


def _pointer(error: SchemaError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


class ContractParameterValidator(ParameterValidator):  # type: ignore[misc]
    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        name = param["name"]
        if value is None:
            if param.get("required"):
                raise ValidationError(
                    f"Required {parameter_type} parameter '{name}' is not present",
                    reason="missing",
                    subject=name,
                    subject_type="parameter",
                )
            return None
        error = _first_error(compiled(param.get("schema", {})), value)
        if error is not None:
            raise ValidationError(
                f"Request parameter {name} is invalid: {error.message}",
                reason="invalid",
                subject=name,
                subject_type="parameter",
            )
        return None

    def validate(self, scope: Scope) -> None:
        request = ConnexionRequest(scope, uri_parser=self.uri_parser)
        self.validate_request(request)


def _body_error(error: SchemaError) -> ValidationError:
    if error.validator == "required" and error.validator_value:
        missing = next(
            (
                f
                for f in error.validator_value
                if isinstance(error.instance, dict) and f not in error.instance
            ),
            None,
        )
        if missing is not None:
            field = ".".join([*(str(p) for p in error.absolute_path), str(missing)])
            return ValidationError(
                f"Request body field {field} is missing",
                reason="missing",
                subject=field,
                subject_type="body",
            )
    field = _pointer(error) or "body"
    return ValidationError(
        f"Request body field {field} is invalid: {error.message}"
        if field != "body"
        else f"Request body is invalid: {error.message}",
        reason="invalid",
        subject=field,
        subject_type="body",
    )


class ContractJSONRequestBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        try:
            return json.loads(raw.decode(self._encoding))
        except (UnicodeDecodeError, LookupError) as exc:
            raise ValidationError(
                f"Request body is not valid {self._encoding} text: {exc}",
                reason="invalid",
                subject="body",
                subject_type="body",
            ) from None
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ValidationError(
                f"Malformed JSON request body: {exc}",
                reason="invalid",
                subject="body",
                subject_type="body",
            ) from None

    def _validate(self, body: Any) -> None:
        if body is None and not self._required:
            return
        if body is None:
            raise ValidationError(
                "Request body is missing", reason="missing", subject="body", subject_type="body"
            )
        error = _first_error(compiled(self._schema), body)
        if error is not None:
            raise _body_error(error)


class ContractJSONResponseBodyValidator(JSONResponseBodyValidator):  # type: ignore[misc]
    def _parse(self, stream: Iterable[bytes]) -> Any:
        raw = b"".join(stream)
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ContractViolation(f"Response body is not JSON: {exc}") from None

    def _validate(self, body: Any) -> None:
        error = _first_error(compiled(self._schema), body)
        if error is not None:
            raise response_violation(self._scope.get("path", "?"), error)


VALIDATOR_MAP = {
    "parameter": ContractParameterValidator,
    "body": MediaTypeDict(
        {
            "*/*json": ContractJSONRequestBodyValidator,
            "application/x-www-form-urlencoded": FormDataValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    ),
    "response": MediaTypeDict(
        {
            "*/*json": ContractJSONResponseBodyValidator,
            "text/plain": TextResponseBodyValidator,
        }
    ),
}
