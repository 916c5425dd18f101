"""Every error leaves the service as `{"error": {"code", "message", "details"}}` with the right status."""

from __future__ import annotations

import traceback
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.lib.errors import AppError
from app.lib.logging import log_event

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def _app_error(_: Request, exc: AppError) -> Response[dict[str, Any]]:
    return error_response(exc.status, exc.error_code, exc.message, exc.details, exc.headers)


def _validation_error(_: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else None
    detail = str(exc.detail)
    if "malformed" in detail.lower() or "decode" in detail.lower():
        return error_response(400, "invalid_json", "request body is not valid JSON", extra)
    fields = [
        {"field": item.get("key"), "source": item.get("source"), "message": item.get("message")}
        for item in extra or []
        if isinstance(item, dict)
    ]
    return error_response(422, "validation_error", detail, fields or None)


def _http_error(_: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException):
        status = 401
    message = str(exc.detail) if exc.detail else HTTPStatus(status).phrase
    code = _CODES.get(status, "error")
    if status == 413:
        message = "request body is too large"
    elif status == 400 and "JSON is malformed" in message:
        code, message = "invalid_json", f"request body is not valid JSON ({message.partition(': ')[2]})"
    return error_response(status, code, message, exc.extra or None, exc.headers)


def _pool_exhausted(_: Request, exc: PoolTimeout) -> Response[dict[str, Any]]:
    """Every database connection is busy: overload, answered at once so clients back off and retry."""
    log_event("warning", "server", "database.pool_exhausted", "no database connection free within the pool timeout")
    return error_response(
        503, "database_busy", "the service is overloaded; retry shortly", headers={"Retry-After": "1"}
    )


def _unexpected(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    log_event(
        "error",
        "server",
        "request.unhandled_exception",
        f"{type(exc).__name__} while handling {request.method} {request.url.path}",
        context={"exception": type(exc).__name__, "traceback": "".join(traceback.format_exception(exc))[-4000:]},
    )
    return error_response(500, "internal_error", "internal server error; the request id identifies it in logs")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    AppError: _app_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    PoolTimeout: _pool_exhausted,
    Exception: _unexpected,
}
