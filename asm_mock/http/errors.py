"""Every failure leaves as SAP's OCC error body: `{"errors": [{"type", "message", ...}]}`.

The body, its headers and the mock's own contract violations, for every layer; Connexion's
exception handlers, built on these, are in `asm_mock.http.connexion_stack.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import orjson
from starlette.types import Send

from asm_mock.domain.errors import (
    ApiError,
    ContractViolation,
    ForbiddenError,
    InvalidTokenError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationError,
)

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaError

__all__ = [
    "MethodNotAllowedError",
    "challenge_headers",
    "error_body",
    "error_for_status",
    "error_headers",
    "response_violation",
    "send_error",
    "undocumented_status",
    "unexpected_failure",
]

_contract_logger = logging.getLogger("asm_mock.contract")


class MethodNotAllowedError(ApiError):
    status_code = 405
    error_type = "HttpRequestMethodNotSupportedError"


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


async def send_error(send: Send, error: ApiError, *, close: bool = False) -> None:
    """Answer `error` straight on an ASGI channel, for guards that run before Connexion."""
    body = error_body(error)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *error_headers(error),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_for_status(
    status: int, detail: str, headers: dict[str, str]
) -> tuple[ApiError, dict[str, str]]:
    """Connexion's and Starlette's own HTTP errors, in SAP's vocabulary."""
    error: ApiError
    if status == 401:
        error = UnauthorizedError()
    elif status == 403:
        error = ForbiddenError()
    elif status == 404:
        error = NotFoundError("There is no resource for path " + detail if detail else "Not found")
    elif status == 405:
        allowed = headers.get("allow", headers.get("Allow", ""))
        error = MethodNotAllowedError(f"Request method is not supported; allowed: {allowed}")
    elif status == 413:
        error = PayloadTooLargeError(detail or "Request body too large")
    elif status == 415:
        error = UnsupportedMediaTypeError(detail or "Unsupported media type")
    elif 400 <= status < 500:
        error = ValidationError(detail or "Bad request", reason="invalid", subject_type="body")
    else:
        error = ContractViolation(detail or "Internal server error")
    allow_header = next((v for k, v in headers.items() if k.lower() == "allow"), None)
    return error, ({"Allow": allow_header} if allow_header is not None else {})


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
