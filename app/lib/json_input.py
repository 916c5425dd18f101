"""Request JSON that every backend and Telegram can take: checked once, centrally, before any schema.

- not UTF-8, not JSON, or nested deeper than MAX_DEPTH: 400 `invalid_json`;
- a string (or key) with U+0000, which PostgreSQL text cannot store: 422 `validation_error`;
- an integer outside 64 bits, which no column or Telegram field holds: 422 `validation_error`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.lib.errors import BadRequest, ValidationFailed

MAX_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MAX = 2**31 - 1  # Telegram message ids, offsets and limits are 32-bit


def fits_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def decode_request_json(body: bytes) -> Any:
    """Decode a request body, raising a 400/422 AppError for anything the service must not take."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not valid UTF-8", code="invalid_json") from None
    try:
        value = msgspec.json.decode(body or b"null")
    except RecursionError:
        raise BadRequest(f"request body is nested deeper than {MAX_DEPTH} levels", code="invalid_json") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"request body is not valid JSON ({exc})", code="invalid_json") from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """Walk a decoded JSON value (iteratively: depth is bounded, not the interpreter's stack)."""
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"request body is nested deeper than {MAX_DEPTH} levels", code="invalid_json")
        if isinstance(item, str):
            if "\x00" in item:
                raise _refused(where, "must not contain NUL characters (U+0000)")
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not fits_int64(item):
                raise _refused(where, "is outside the 64-bit integer range")
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    raise _refused(where, "has a key with a NUL character (U+0000)")
                stack.append((child, f"{where}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{n}]", depth + 1) for n, child in enumerate(item))


def check_text(value: str, field: str) -> None:
    """One text outside JSON (form fields, query values): no U+0000."""
    if "\x00" in value:
        raise _refused(field, "must not contain NUL characters (U+0000)")


def _refused(where: str, problem: str) -> ValidationFailed:
    field = where.removeprefix("$.").removeprefix("$")
    return ValidationFailed(f"{field or 'body'} {problem}", details=[{"field": field or "body"}])
