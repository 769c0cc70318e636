"""Every failure leaves as SAP's OCC error body: `{"errors": [{"type", "message", ...}]}`.

Handlers are registered on exception classes (not status codes): the domain's ApiError tree,
Connexion's ProblemException, Starlette's HTTPException and, last, any other Exception — which is
a bug, logged with its traceback and answered as a 500 in the same format, never as a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from jsonschema.exceptions import ValidationError as SchemaError
from starlette.exceptions import HTTPException
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

__all__ = [
    "MethodNotAllowedError",
    "error_body",
    "error_headers",
    "error_handlers",
    "error_response",
    "response_violation",
    "send_error",
    "undocumented_status",
    "unexpected_failure",
]

logger = logging.getLogger("asm_mock.errors")
_contract_logger = logging.getLogger("asm_mock.contract")


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


def error_headers(error: ApiError) -> list[tuple[bytes, bytes]]:
    """Headers an error answer carries besides its content type and length."""
    return [(k.lower().encode(), v.encode()) for k, v in _challenge(error).items()]


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
    allow_header = next((v for k, v in headers.items() if k.lower() == "allow"), None)
    return error, ({"Allow": allow_header} if allow_header is not None else {})


def error_handlers(
    allow: Callable[[str], str | None] = lambda _path: None,
) -> list[tuple[type[Exception], Any]]:
    """The handlers, by exception class; `allow(path)` gives a 405's complete Allow header."""

    def on_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, ProblemException)
        return _http_error(request, exc.status, str(exc.detail or exc.title or ""), exc.headers)

    def on_http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, HTTPException)
        return _http_error(request, exc.status_code, str(exc.detail or ""), exc.headers)

    def _http_error(
        request: ConnexionRequest, status: int, detail: str, headers: Mapping[str, str] | None
    ) -> ConnexionResponse:
        extra = dict(headers or {})
        if status == 404:
            detail = request.url.path
        if status == 405:
            extra["Allow"] = allow(request.url.path) or extra.get("Allow", extra.get("allow", ""))
        error, kept = _from_status(status, detail, extra)
        return error_response(error, kept)

    return [
        (ApiError, _on_api_error),
        (ProblemException, on_problem),
        (HTTPException, on_http_exception),
        (Exception, _on_unexpected),
    ]


def _on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(unexpected_failure())


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
