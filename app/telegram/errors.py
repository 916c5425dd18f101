"""Maps Telethon errors to the service's typed errors and to profile statuses.

Telegram answers waits with code 420, which is no HTTP status: every wait becomes 429 with `Retry-After`. An
error that says something about the account itself (banned, revoked, frozen, spam-limited) also changes the
profile's status (`status_for`, `restriction_for`), wherever the call was made.
"""

from __future__ import annotations

import re

from telethon import errors

from app.lib.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    ValidationFailed,
)

NO_ANSWER = "telegram_no_answer"


class NoAnswer(ConnectionError):
    """Telegram kept the connection open but did not answer a request within TELEGRAM_REQUEST_TIMEOUT_S.

    Whether Telegram acted on the request is unknown (a send may have been delivered).
    """


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


def account_refusal(exc: BaseException) -> AppError | None:
    """A request refused because Telegram banned or logged out the profile: 409 `profile_not_active`."""
    verdict = None if isinstance(exc, errors.SessionPasswordNeededError) else status_for(exc)
    if verdict is None:
        return None
    return Conflict(f"the profile is {verdict[0]} ({verdict[1]})", code="profile_not_active")


def status_for(exc: BaseException) -> tuple[str, str] | None:
    """The profile status an error means ('banned'/'deauthorized'), or None for transient errors."""
    name = type(exc).__name__
    if isinstance(exc, BANNED_ERRORS):
        return "banned", f"Telegram: {name}"
    if isinstance(exc, (*DEAUTHORIZED_ERRORS, errors.AuthKeyNotFound)):
        return "deauthorized", f"Telegram: {name}"
    return None


# Waits Telegram names with their length (code 420); the API's code for each.
_WAITS: tuple[tuple[type[Exception], str], ...] = (
    (errors.FloodWaitError, "FLOOD_WAIT"),
    (errors.SlowModeWaitError, "SLOWMODE_WAIT"),
    (errors.FloodPremiumWaitError, "FLOOD_PREMIUM_WAIT"),
    (errors.FloodTestPhoneWaitError, "FLOOD_WAIT"),
)
UNKNOWN_WAIT_S = 60  # a 420 without a length (a FLOOD Telethon does not know): wait a minute
# Telegram's statuses that are HTTP statuses with the same meaning; anything else is not ours to pass on.
_PASSED_THROUGH = (400, 403, 404)


def restriction_for(exc: BaseException) -> str | None:
    """The restricted profile status an error means ('frozen' or 'limited'), or None."""
    if isinstance(exc, errors.FrozenMethodInvalidError):
        return "frozen"
    if isinstance(exc, errors.PeerFloodError):
        return "limited"
    return None


def _refusal(exc: errors.RPCError) -> AppError | None:
    """Refusals about the account or the recipient, each with a code that says so."""
    if isinstance(exc, errors.FrozenMethodInvalidError):
        return Forbidden("Telegram froze this account: it can only read", code="profile_frozen")
    if isinstance(exc, errors.PeerFloodError):
        return Forbidden(
            "Telegram limited this account for spam: it may only write to its mutual contacts", code="peer_flood"
        )
    name = str(exc.message)  # Telegram's own text for errors Telethon does not know by name
    if name.startswith("ALLOW_PAYMENT_REQUIRED"):
        stars = name.rsplit("_", 1)[-1]
        return Forbidden(
            "the recipient accepts messages from non-contacts only when paid for in Stars",
            code="payment_required",
            details={"stars": int(stars)} if stars.isdigit() else None,
        )
    if name == "PRIVACY_PREMIUM_REQUIRED":
        return Forbidden("the recipient accepts messages only from Telegram Premium users", code="premium_required")
    return None


def to_app_error(exc: Exception) -> AppError:
    """Translate a Telethon RPC error raised during a request into a precise 4xx/503."""
    for wait_type, code in _WAITS:
        if isinstance(exc, wait_type):
            seconds = int(getattr(exc, "seconds", 0) or 0)
            return TooManyRequests(f"Telegram asks to wait {seconds} s before retrying", retry_after=seconds, code=code)
    if isinstance(exc, errors.RPCError) and (refused := _refusal(exc)) is not None:
        return refused
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
    if isinstance(exc, DEAUTHORIZED_ERRORS) and not isinstance(exc, errors.SessionPasswordNeededError):
        # Telegram's 401 is about the profile's session, not the API caller's token.
        return Conflict("Telegram no longer accepts this profile's session", code="profile_not_active")
    if isinstance(exc, errors.PhoneNumberUnoccupiedError):
        return BadRequest("no Telegram account uses this phone number", code="PHONE_NUMBER_UNOCCUPIED")
    if isinstance(exc, errors.FloodError):  # another wait, without a length Telethon could read
        return TooManyRequests(
            f"Telegram asks to wait: {exc.message}", retry_after=UNKNOWN_WAIT_S, code=str(exc.message)
        )
    if isinstance(exc, errors.RPCError):
        status = exc.code if exc.code in _PASSED_THROUGH else 502
        return AppError(f"Telegram answered {exc.message}", code=str(exc.message), status=status)
    if isinstance(exc, NoAnswer):
        return ServiceUnavailable(str(exc), code=NO_ANSWER)
    return ServiceUnavailable(f"Telegram is unreachable: {type(exc).__name__}", code="telegram_unavailable")


FORBIDDEN_ERRORS: tuple[type[Exception], ...] = (
    errors.UserIsBlockedError,
    errors.YouBlockedUserError,
    errors.ChatWriteForbiddenError,
    errors.ChatAdminRequiredError,
    errors.ChannelPrivateError,
    errors.UserPrivacyRestrictedError,
    errors.ChatRestrictedError,
    errors.UserBannedInChannelError,
)
NOT_FOUND_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    errors.UsernameNotOccupiedError,
    errors.UsernameInvalidError,
    errors.PeerIdInvalidError,
    errors.UserIdInvalidError,
    errors.ChannelInvalidError,
    errors.ChatIdInvalidError,
)


def rpc_name(exc: Exception) -> str:
    """Telegram's error name, e.g. USER_IS_BLOCKED for UserIsBlockedError."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__.removesuffix("Error")).upper()


def send_error(exc: Exception) -> AppError:
    """Map a Telethon error of a send or read to the API's 4xx."""
    if isinstance(exc, AppError):
        return exc
    if (refused := account_refusal(exc)) is not None:  # the profile's own status was recorded by its watch
        return refused
    if isinstance(exc, FORBIDDEN_ERRORS):
        return Forbidden(f"Telegram refused: {type(exc).__name__}", code=rpc_name(exc))
    if isinstance(exc, NOT_FOUND_ERRORS):
        return NotFound("receiver not found", code="peer_not_found")
    if isinstance(exc, (errors.MessageTooLongError, errors.MessageEmptyError)):
        return ValidationFailed(f"Telegram refused the text: {exc.message}", code=exc.message)
    return to_app_error(exc)
