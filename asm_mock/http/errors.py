"""Every failure leaves as SAP's OCC error body: `{"errors": [{"type", "message", ...}]}`.

The body, its headers, the mock's own contract violations and a request's, in the words
Connexion's validators and the validating proxy share, for every layer; `asm_mock.http.send`
sends them, and Connexion's exception handlers, built on these, are in
`asm_mock.http.connexion_stack.errors`. The errors themselves are `asm_mock.domain.errors`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import orjson

from asm_mock.domain.errors import (
    ERROR_TYPES,
    ApiError,
    ContractViolation,
    ForbiddenError,
    InvalidTokenError,
    UnauthorizedError,
    ValidationError,
)

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaError

__all__ = [
    "body_error",
    "challenge_headers",
    "error_body",
    "error_for_status",
    "error_headers",
    "invalid_parameter",
    "missing_parameter",
    "response_violation",
    "undocumented_status",
    "unexpected_failure",
]

_contract_logger = logging.getLogger("asm_mock.contract")


def error_body(error: ApiError) -> bytes:
    return orjson.dumps({"errors": [error.to_dict()]})


def challenge_headers(error: ApiError) -> dict[str, str]:
    if isinstance(error, InvalidTokenError):
        return {
            "WWW-Authenticate": 'Bearer realm="assistedservicewebservices", '
            'error="invalid_token", error_description="Invalid access token"'
        }
    if isinstance(error, UnauthorizedError):
        return {"WWW-Authenticate": 'Bearer realm="assistedservicewebservices"'}
    return {}


def error_headers(error: ApiError) -> list[tuple[bytes, bytes]]:
    """Headers an error answer carries besides its content type and length."""
    return [(k.lower().encode(), v.encode()) for k, v in challenge_headers(error).items()]


def error_for_status(
    status: int, detail: str, headers: dict[str, str]
) -> tuple[ApiError, dict[str, str]]:
    """Connexion's and Starlette's own HTTP errors, in SAP's vocabulary (`ERROR_TYPES`); any
    other client error is a ValidationError, and a server error is the mock's own."""
    error: ApiError
    kind = ERROR_TYPES.get(status, ValidationError)
    # an exception's own headers, in whatever case its raiser wrote the name
    allow_header = next((v for k, v in headers.items() if k.lower() == "allow"), None)
    if status == 401:
        error = UnauthorizedError()
    elif status == 403:
        error = ForbiddenError()
    elif not 400 <= status < 500:
        error = ContractViolation(detail or "Internal server error")
    elif kind is ValidationError:
        error = ValidationError(detail or "Bad request", reason="invalid", subject_type="body")
    else:
        error = kind(_client_error_message(status, detail, allow_header or ""))
    return error, ({"Allow": allow_header} if allow_header is not None else {})


def _client_error_message(status: int, detail: str, allowed: str) -> str:
    if status == 404:
        return "There is no resource for path " + detail if detail else "Not found"
    if status == 405:
        return f"Request method is not supported; allowed: {allowed}"
    return detail or _FALLBACK_MESSAGES.get(status, "Bad request")


_FALLBACK_MESSAGES = {413: "Request body too large", 415: "Unsupported media type"}


# -- the mock's own bugs, found by its checks: each logged, each answered as a 500 ------------


def unexpected_failure() -> ContractViolation:
    """What a client is told of an exception nobody expected (the log has its traceback)."""
    return ContractViolation("Internal server error: the mock failed unexpectedly")


def undocumented_status(
    operation_id: str, status: int, documented: Iterable[int]
) -> ContractViolation:
    _contract_logger.error(
        "contract violation: %s answered %s, documented: %s",
        operation_id,
        status,
        sorted(documented),
    )
    return ContractViolation(
        f"The mock answered status {status}, which {operation_id} does not document"
    )


def response_violation(answering: str, error: SchemaError) -> ContractViolation:
    """An answer (to a path, or of an operation) that its response schema refuses."""
    where = "/" + "/".join(str(p) for p in error.absolute_path)
    _contract_logger.error(
        "contract violation in the response to %s at %s: %s", answering, where, error.message
    )
    return ContractViolation(f"The mock's response broke the contract at {where}: {error.message}")


# -- a request that broke the contract, in the words Connexion's validators and the proxy share --


def missing_parameter(location: str, name: str) -> ValidationError:
    return ValidationError(
        f"Required {location} parameter '{name}' is not present",
        reason="missing",
        subject=name,
        subject_type="parameter",
    )


def invalid_parameter(name: str, error: SchemaError) -> ValidationError:
    return ValidationError(
        f"Request parameter {name} is invalid: {error.message}",
        reason="invalid",
        subject=name,
        subject_type="parameter",
    )


def _pointer(error: SchemaError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


def body_error(error: SchemaError) -> ValidationError:
    """A request body its schema refuses, as Connexion's validators and the proxy say it."""
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
