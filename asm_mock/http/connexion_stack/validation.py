"""JSON Schema 2020-12 validation plugged into Connexion's `validator_map`.

Connexion 3.3 validates with Draft 4, which silently ignores 2020-12 keywords (`const`,
`type: [..., "null"]`, `prefixItems`, ...). These subclasses keep Connexion's plumbing and swap the
engine (`asm_mock.contract.schemas`). Connexion builds a validator object per request, so the
compiled schemas live in the compiled contract's `CompiledSchemas`, which `validator_map` binds
the validator classes to: Connexion's copy of a schema gets the object the fast lane checks with.
Failures become `asm_mock.domain.errors` exceptions, so they render as SAP's OCC errors naming the
parameter or field.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable
from typing import Any

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
from jsonschema.exceptions import ValidationError as SchemaError
from starlette.types import Scope

from asm_mock.contract import CompiledSchema, CompiledSchemas
from asm_mock.domain.errors import ContractViolation, ValidationError
from asm_mock.http.errors import (
    body_error,
    invalid_parameter,
    missing_parameter,
    response_violation,
)
from asm_mock.http.preferred import RECORDED_VIOLATION

__all__ = ["validator_map"]


def _first_error(validator: CompiledSchema, instance: Any) -> SchemaError | None:
    return validator.first_error(instance)


class ContractParameterValidator(ParameterValidator):  # type: ignore[misc]
    schemas: CompiledSchemas  # set by validator_map()

    def validate_parameter(
        self, parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        name = param["name"]
        if value is None:
            if param.get("required"):
                raise missing_parameter(parameter_type, name)
            return None
        error = _first_error(self.schemas(param.get("schema", {})), value)
        if error is not None:
            raise invalid_parameter(name, error)
        return None

    def validate(self, scope: Scope) -> None:
        request = ConnexionRequest(scope, uri_parser=self.uri_parser)
        self.validate_request(request)


class ContractJSONRequestBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    schemas: CompiledSchemas  # set by validator_map()

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
        error = _first_error(self.schemas(self._schema), body)
        if error is not None:
            raise body_error(error)


class ContractJSONResponseBodyValidator(JSONResponseBodyValidator):  # type: ignore[misc]
    schemas: CompiledSchemas  # set by validator_map()

    def _parse(self, stream: Iterable[bytes]) -> Any:
        raw = b"".join(stream)
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ContractViolation(f"Response body is not JSON: {exc}") from None

    def _validate(self, body: Any) -> None:
        if self._scope.get("extensions", {}).get(RECORDED_VIOLATION):
            return  # a recording's marked drift, replayed on purpose (preferred.py)
        error = _first_error(self.schemas(self._schema), body)
        if error is not None:
            raise response_violation(self._scope.get("path", "?"), error)


def validator_map(schemas: CompiledSchemas) -> dict[str, Any]:
    """Connexion's `validator_map`, its 2020-12 validators compiling through `schemas`."""

    def bound(validator: type[Any]) -> type[Any]:
        return type(validator.__name__, (validator,), {"schemas": schemas})

    return {
        "parameter": bound(ContractParameterValidator),
        "body": MediaTypeDict(
            {
                "*/*json": bound(ContractJSONRequestBodyValidator),
                "application/x-www-form-urlencoded": FormDataValidator,
                "multipart/form-data": MultiPartFormDataValidator,
            }
        ),
        "response": MediaTypeDict(
            {
                "*/*json": bound(ContractJSONResponseBodyValidator),
                "text/plain": TextResponseBodyValidator,
            }
        ),
    }
