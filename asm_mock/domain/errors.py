"""The one exception tree of asm-mock: every error it raises on purpose, whichever layer raises it.

    AsmMockError
    ├── ApiError                        answered as SAP's OCC `{"errors": [...]}` body
    │   ├── ValidationError             400
    │   ├── UnknownIdentifierError      400  (SAP's answer to an unknown base site)
    │   ├── UnauthorizedError           401
    │   ├── InvalidTokenError           401
    │   ├── ForbiddenError              403
    │   ├── OriginNotAllowedError       403  ForbiddenError, saying which origin was refused
    │   ├── NotFoundError               404
    │   ├── MethodNotAllowedError       405
    │   ├── ScenarioError               409  (an invalid scenario, or one clashing with the world)
    │   ├── PayloadTooLargeError        413
    │   ├── UnsupportedMediaTypeError   415
    │   ├── ContractViolation           500  (the mock's own bug, found by its checks)
    │   ├── ServiceUnavailableError     503  (injected by --error-rate)
    │   │   ├── StoreUnavailableError   503  the shared store (Redis) is down, slow or refusing
    │   │   └── TenantLimitError        503  --max-tenants tenants are live; a new one must wait
    │   ├── BadGatewayError             502  the proxy's upstream refused or unreachable, or its
    │   │                                    answer outside the contract (--strict)
    │   └── GatewayTimeoutError         504  the proxy's upstream did not answer in time
    ├── OAuthError                      the token endpoint's, in OAuth2's flat form
    ├── FixtureError                    an unreadable or invalid fixture or scenario file
    └── InvalidContractError            a document that is not valid OpenAPI 3.1

Each `ApiError` carries what the OCC body needs (`type`, `message`, `reason`, `subject`,
`subjectType`) and its HTTP status, so the HTTP layer renders all of them with one handler and
never needs to know the concrete class. `ERROR_TYPES` is the one map from a status to the class
SAP answers it with, for answers made from a bare status (Connexion's own errors, `Prefer: code`).
"""

from __future__ import annotations

__all__ = [
    "ERROR_TYPES",
    "AsmMockError",
    "ApiError",
    "BadGatewayError",
    "ContractViolation",
    "FixtureError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "InvalidContractError",
    "InvalidTokenError",
    "MethodNotAllowedError",
    "NotFoundError",
    "OAuthError",
    "OriginNotAllowedError",
    "PayloadTooLargeError",
    "ScenarioError",
    "ServiceUnavailableError",
    "StoreUnavailableError",
    "TenantLimitError",
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


class OriginNotAllowedError(ApiError):
    status_code = 403
    error_type = "ForbiddenError"

    def __init__(self, origin: str) -> None:
        super().__init__(f"Origin {origin} is not allowed by --cors-origins")


class NotFoundError(ApiError):
    status_code = 404
    error_type = "NotFoundError"


class MethodNotAllowedError(ApiError):
    status_code = 405
    error_type = "HttpRequestMethodNotSupportedError"


class PayloadTooLargeError(ApiError):
    status_code = 413
    error_type = "PayloadTooLargeError"


class UnsupportedMediaTypeError(ApiError):
    status_code = 415
    error_type = "UnsupportedMediaTypeError"


class ServiceUnavailableError(ApiError):
    status_code = 503
    error_type = "ServiceUnavailableError"


class StoreUnavailableError(ServiceUnavailableError):
    """The shared store did not answer within its timeout, or refused: the request had no
    effect that anyone can see. Its message names the store without its password."""


class TenantLimitError(ServiceUnavailableError):
    """Every one of the --max-tenants tenants is live: a new tenant is refused, never grown."""


class BadGatewayError(ApiError):
    """`asm-mock proxy`'s own answer when its upstream could not be asked (refused, unreachable,
    TLS refused) or, with --strict, answered outside the contract: the message says which."""

    status_code = 502
    error_type = "BadGatewayError"


class GatewayTimeoutError(ApiError):
    """`asm-mock proxy`'s own answer when its upstream did not answer within
    --upstream-timeout."""

    status_code = 504
    error_type = "GatewayTimeoutError"


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


class ScenarioError(ApiError):
    """A scenario file is invalid, or the scenario clashes with the current world."""

    status_code = 409
    error_type = "ScenarioError"

    def __init__(self, error: FixtureError) -> None:
        super().__init__(str(error), reason="invalid", subject=error.file, subject_type="scenario")


class InvalidContractError(AsmMockError):
    """The document is not a valid OpenAPI 3.1 document."""


# SAP's error class for a status; 409 is left out on purpose: SAP has no one class for it.
ERROR_TYPES: dict[int, type[ApiError]] = {
    error.status_code: error
    for error in (
        ValidationError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        ServiceUnavailableError,
    )
}
