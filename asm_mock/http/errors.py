"""Every failure leaves as SAP's OCC error body: `{"errors": [{"type", "message", ...}]}`.

Handlers are registered on exception classes (not status codes): the domain's ApiError tree,
Connexion's ProblemException, Starlette's HTTPException and, last, any other Exception — which is
a bug, logged with its traceback and answered as a 500 in the same format, never as a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

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

__all__ = ["ERROR_HANDLERS", "MethodNotAllowedError", "error_body", "error_response"]

logger = logging.getLogger("asm_mock.errors")


class MethodNotAllowedError(ApiError):
    status_code = 405
    error_type = "HttpRequestMethodNotSupportedError"


def error_body(error: ApiError) -> bytes:
    return orjson.dumps({"errors": [error.to_dict()]})


def _challenge(error: ApiError) -> dict[str, str]:
    if isinstance(error, InvalidTokenError):
        return {
            "WWW-Authenticate": 'Bearer realm="assistedservicewebservices", '
            'error="invalid_token", error_description="Invalid access token"'
        }
    if isinstance(error, UnauthorizedError):
        return {"WWW-Authenticate": 'Bearer realm="assistedservicewebservices"'}
    return {}


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status_code,
        mimetype="application/json",
        body=error_body(error),
        headers={**_challenge(error), **(headers or {})},
    )


def _on_api_error(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ApiError)
    if exc.status_code >= 500:
        logger.error("%s: %s", exc.error_type, exc.message)
    return error_response(exc)


def _from_status(
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
    allow = {k: v for k, v in headers.items() if k.lower() == "allow"}
    return error, allow


def _on_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ProblemException)
    detail = str(exc.detail or exc.title or "")
    if exc.status == 404:
        detail = request.url.path
    error, headers = _from_status(exc.status, detail, dict(exc.headers or {}))
    return error_response(error, headers)


def _on_http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, HTTPException)
    detail = request.url.path if exc.status_code == 404 else str(exc.detail or "")
    error, headers = _from_status(exc.status_code, detail, dict(exc.headers or {}))
    return error_response(error, headers)


def _on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ContractViolation("Internal server error: the mock failed unexpectedly"))


ERROR_HANDLERS: list[tuple[type[Exception], Any]] = [
    (ApiError, _on_api_error),
    (ProblemException, _on_problem),
    (HTTPException, _on_http_exception),
    (Exception, _on_unexpected),
]
