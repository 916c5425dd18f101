"""Maps Telethon errors to the service's typed errors and to profile statuses."""

from __future__ import annotations

from telethon import errors

from app.lib.errors import AppError, BadRequest, Forbidden, Gone, ServiceUnavailable, TooManyRequests, ValidationFailed

BANNED_ERRORS: tuple[type[Exception], ...] = (
    errors.UserDeactivatedBanError,
    errors.UserDeactivatedError,
    errors.PhoneNumberBannedError,
)
DEAUTHORIZED_ERRORS: tuple[type[Exception], ...] = (
    errors.AuthKeyUnregisteredError,
    errors.SessionRevokedError,
    errors.SessionExpiredError,
    errors.AuthKeyDuplicatedError,
    errors.AuthKeyInvalidError,
    errors.AuthKeyError,
    errors.UnauthorizedError,
)


def status_for(exc: BaseException) -> tuple[str, str] | None:
    """The profile status an error means ('banned'/'deauthorized'), or None for transient errors."""
    name = type(exc).__name__
    if isinstance(exc, BANNED_ERRORS):
        return "banned", f"Telegram: {name}"
    if isinstance(exc, (*DEAUTHORIZED_ERRORS, errors.AuthKeyNotFound)):
        return "deauthorized", f"Telegram: {name}"
    return None


def to_app_error(exc: Exception) -> AppError:
    """Translate a Telethon RPC error raised during a request into a precise 4xx/503."""
    if isinstance(exc, errors.FloodWaitError):
        return TooManyRequests(
            f"Telegram asks to wait {exc.seconds} s before retrying", retry_after=exc.seconds, code="FLOOD_WAIT"
        )
    if isinstance(exc, errors.PhoneNumberInvalidError):
        return ValidationFailed("Telegram rejected the phone number", code="PHONE_NUMBER_INVALID")
    if isinstance(exc, errors.PhoneCodeInvalidError):
        return BadRequest("the login code is wrong", code="PHONE_CODE_INVALID")
    if isinstance(exc, errors.PhoneCodeEmptyError):
        return BadRequest("the login code is empty", code="PHONE_CODE_EMPTY")
    if isinstance(exc, errors.PhoneCodeExpiredError):
        return Gone("the login code has expired; start again", code="PHONE_CODE_EXPIRED")
    if isinstance(exc, errors.PasswordHashInvalidError):
        return BadRequest("the 2FA password is wrong", code="PASSWORD_HASH_INVALID")
    if isinstance(exc, BANNED_ERRORS):
        return Forbidden("Telegram has banned this phone number", code="PHONE_NUMBER_BANNED")
    if isinstance(exc, errors.PhoneNumberUnoccupiedError):
        return BadRequest("no Telegram account uses this phone number", code="PHONE_NUMBER_UNOCCUPIED")
    if isinstance(exc, errors.RPCError):
        status = exc.code if isinstance(exc.code, int) and 400 <= exc.code < 500 else 502
        return AppError(f"Telegram answered {exc.message}", code=str(exc.message), status=status)
    return ServiceUnavailable(f"Telegram is unreachable: {type(exc).__name__}", code="telegram_unavailable")
