"""Connexion's exception handlers: every failure leaves as SAP's OCC error body.

Handlers are registered on exception classes (not status codes): the domain's ApiError tree,
Connexion's ProblemException, Starlette's HTTPException and, last, any other Exception — which is
a bug, logged with its traceback and answered as a 500 in the same format, never as a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from asm_mock.domain.errors import ApiError
from asm_mock.http.errors import (
    challenge_headers,
    error_body,
    error_for_status,
    unexpected_failure,
)

__all__ = ["error_handlers", "error_response"]

logger = logging.getLogger("asm_mock.errors")


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status_code,
        mimetype="application/json",
        body=error_body(error),
        headers={**challenge_headers(error), **(headers or {})},
    )


def _on_api_error(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ApiError)
    if exc.status_code >= 500:
        logger.error("%s: %s", exc.error_type, exc.message)
    return error_response(exc)


def _on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(unexpected_failure())


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
        error, kept = error_for_status(status, detail, extra)
        return error_response(error, kept)

    return [
        (ApiError, _on_api_error),
        (ProblemException, on_problem),
        (HTTPException, on_http_exception),
        (Exception, _on_unexpected),
    ]
