"""Typed application errors: each carries a stable code and an HTTP status, mapped once in the server."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every expected error; `status` and `code` become the JSON error body."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.error_code = code or self.code
        self.details = details
        self.headers = headers or {}


class BadRequest(AppError):
    status: int = 400
    code: str = "bad_request"


class Unauthorized(AppError):
    status: int = 401
    code: str = "unauthorized"


class Forbidden(AppError):
    status: int = 403
    code: str = "forbidden"


class NotFound(AppError):
    status: int = 404
    code: str = "not_found"


class Conflict(AppError):
    status: int = 409
    code: str = "conflict"


class Gone(AppError):
    status: int = 410
    code: str = "gone"


class ValidationFailed(AppError):
    status: int = 422
    code: str = "validation_error"


class TooManyRequests(AppError):
    status: int = 429
    code: str = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None, details: Any = None) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(message, code=code, details=details, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(AppError):
    status: int = 503
    code: str = "service_unavailable"
