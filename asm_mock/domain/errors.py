"""The one exception tree of asm-mock.

Every failure the domain can report is an `AsmMockError`. Each carries what SAP's OCC error
body needs (`type`, `message`, `reason`, `subject`, `subjectType`) and its HTTP status, so the
HTTP layer renders all of them with one handler and never needs to know the concrete class.
OAuth token-endpoint failures are `OAuthError`s: SAP answers those in OAuth2's flat form.
"""

from __future__ import annotations

__all__ = [
    "AsmMockError",
    "ApiError",
    "ContractViolation",
    "FixtureError",
    "ForbiddenError",
    "InvalidTokenError",
    "NotFoundError",
    "OAuthError",
    "PayloadTooLargeError",
    "UnauthorizedError",
    "UnknownIdentifierError",
    "UnsupportedMediaTypeError",
    "ValidationError",
]


class AsmMockError(Exception):
    """Base of every error asm-mock raises on purpose."""


class ApiError(AsmMockError):
    """An error answered to an API client as SAP's `{"errors": [...]}` body."""

    status_code: int = 400
    error_type: str = "Error"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        subject: str | None = None,
        subject_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.subject = subject
        self.subject_type = subject_type

    def to_dict(self) -> dict[str, str]:
        error = {"type": self.error_type, "message": self.message}
        for key, value in (
            ("reason", self.reason),
            ("subject", self.subject),
            ("subjectType", self.subject_type),
        ):
            if value is not None:
                error[key] = value
        return error


class ValidationError(ApiError):
    status_code = 400
    error_type = "ValidationError"


class UnknownIdentifierError(ApiError):
    """SAP answers an unknown base site (and other unknown identifiers) with 400, not 404."""

    status_code = 400
    error_type = "UnknownIdentifierError"


class UnauthorizedError(ApiError):
    status_code = 401
    error_type = "UnauthorizedError"

    def __init__(self) -> None:
        super().__init__("Full authentication is required to access this resource")


class InvalidTokenError(ApiError):
    status_code = 401
    error_type = "InvalidTokenError"

    def __init__(self, token: str) -> None:
        super().__init__(f"Invalid access token: {token}")


class ForbiddenError(ApiError):
    status_code = 403
    error_type = "ForbiddenError"

    def __init__(self) -> None:
        super().__init__("Access is denied")


class NotFoundError(ApiError):
    status_code = 404
    error_type = "NotFoundError"


class PayloadTooLargeError(ApiError):
    status_code = 413
    error_type = "PayloadTooLargeError"


class UnsupportedMediaTypeError(ApiError):
    status_code = 415
    error_type = "UnsupportedMediaTypeError"


class ContractViolation(ApiError):
    """The mock itself produced an answer outside the contract: a bug, answered as 500."""

    status_code = 500
    error_type = "InternalServerError"


class OAuthError(AsmMockError):
    """A token-endpoint failure, answered as `{"error": ..., "error_description": ...}`."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code

    def to_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class FixtureError(AsmMockError):
    """A fixture file is unreadable or invalid; the message names the file, the path and why."""

    def __init__(self, file: str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path or '<root>'}: {problem}")
        self.file = file
        self.path = path
        self.problem = problem
