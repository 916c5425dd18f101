"""Telethon errors -> the service's typed errors, in one table; and the profile statuses an error means.

`REFUSALS` is the one table: each row names Telegram errors (by Telethon class, or by Telegram's own error
name for errors Telethon has no class for) and the API error they become. A row may be limited to the
operations (`send`, `join`, `channel`, `account`) whose callers need another answer for the same error; those
rows come first for that operation, the common rows after them. `app_error(exc, operation)` is the one lookup.

Telegram answers waits with code 420, which is no HTTP status: every wait becomes 429 with `Retry-After`. An
error that says something about the account itself (banned, revoked, frozen, spam-limited) also changes the
profile's status (`status_for`, `restriction_for`), wherever the call was made.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from telethon import errors
from telethon.errors import rpcerrorlist

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
# A 401 that is a step of the login, not a refusal of the account.
NOT_A_REFUSAL: tuple[type[Exception], ...] = (errors.SessionPasswordNeededError,)
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
    ValueError,  # Telethon's "cannot find any entity" (no call was made)
    errors.UsernameNotOccupiedError,
    errors.UsernameInvalidError,
    errors.PeerIdInvalidError,
    errors.UserIdInvalidError,
    errors.ChannelInvalidError,
    errors.ChatIdInvalidError,
)
UNKNOWN_CHANNEL_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    errors.UsernameNotOccupiedError,
    errors.UsernameInvalidError,
    errors.ChannelInvalidError,
)
UNKNOWN_WAIT_S = 60  # a 420 without a length (a FLOOD Telethon does not know): wait a minute
# Telegram's statuses that are HTTP statuses with the same meaning; anything else is not ours to pass on.
_PASSED_THROUGH = (400, 403, 404)

Operation = Literal["any", "send", "join", "channel", "account"]
# Operations whose callers raise the service's own errors inside the mapped block: those pass unchanged.
_KEEPS_APP_ERRORS: frozenset[Operation] = frozenset({"send", "join"})


@cache
def _known_names() -> dict[type[BaseException], str]:
    names: dict[type[BaseException], str] = {cls: name for name, cls in rpcerrorlist.rpc_errors_dict.items()}
    for pattern, cls in rpcerrorlist.rpc_errors_re:
        names.setdefault(cls, pattern.replace(r"_(\d+)", "").replace(r"(\d+)_", ""))
    return names


def rpc_name(exc: BaseException) -> str:
    """Telegram's error name: USER_IS_BLOCKED for UserIsBlockedError, Telegram's own text when Telethon has no class.

    (A Telethon error class carries its base class's `message`, e.g. BAD_REQUEST, not its own name.)
    """
    known = _known_names().get(type(exc))
    if known is not None:
        return known
    if isinstance(exc, errors.RPCError) and "message" in vars(exc):
        return str(exc.message)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__.removesuffix("Error")).upper()


def _seconds(exc: BaseException) -> int:
    return int(getattr(exc, "seconds", 0) or 0) if hasattr(exc, "seconds") else UNKNOWN_WAIT_S


def _stars(exc: BaseException) -> dict[str, int] | None:
    stars = rpc_name(exc).rsplit("_", 1)[-1]
    return {"stars": int(stars)} if stars.isdigit() else None


@dataclass(frozen=True, slots=True)
class Refusal:
    """One row: which Telegram errors, and the API error they become.

    `match`: Telethon classes, or Telegram's error name (`NAME*` for a prefix); `message` and `code` may use
    `{name}` (Telegram's error name, `rpc_name`), `{type}` (Telethon's class name) and `{seconds}` (a wait's
    length). A `TooManyRequests` row answers `Retry-After: {seconds}`.
    """

    match: type[BaseException] | tuple[type[BaseException], ...] | str
    error: type[AppError]
    message: str
    code: str
    operations: tuple[Operation, ...] = ()  # empty: every operation (after the rows of the operation itself)
    unless: tuple[type[BaseException], ...] = ()
    details: Callable[[BaseException], Any] | None = None

    @property
    def classes(self) -> tuple[type[BaseException], ...]:
        """The Telethon classes the row names (none for a row that names Telegram's error text)."""
        if isinstance(self.match, str):
            return ()
        return self.match if isinstance(self.match, tuple) else (self.match,)

    def matches(self, exc: BaseException) -> bool:
        if isinstance(exc, self.unless):
            return False
        if isinstance(self.match, str):
            if not isinstance(exc, errors.RPCError):
                return False
            name = rpc_name(exc)
            return name.startswith(self.match[:-1]) if self.match.endswith("*") else name == self.match
        return isinstance(exc, self.classes)

    def build(self, exc: BaseException) -> AppError:
        seconds = _seconds(exc)
        fields = {"name": rpc_name(exc), "type": type(exc).__name__, "seconds": seconds}
        message, code = self.message.format(**fields), self.code.format(**fields)
        details = self.details(exc) if self.details is not None else None
        if issubclass(self.error, TooManyRequests):
            return self.error(message, retry_after=seconds, code=code, details=details)
        return self.error(message, code=code, details=details)


_WAIT = "Telegram asks to wait {seconds} s before retrying"
_ACCOUNT: tuple[Operation, ...] = ("account", "send")

REFUSALS: tuple[Refusal, ...] = (
    # -- the profile itself refused (a send or read answers with the profile's status) --
    Refusal(BANNED_ERRORS, Conflict, "the profile is banned (Telegram: {type})", "profile_not_active", _ACCOUNT),
    Refusal(
        (*DEAUTHORIZED_ERRORS, errors.AuthKeyNotFound),
        Conflict,
        "the profile is deauthorized (Telegram: {type})",
        "profile_not_active",
        _ACCOUNT,
        unless=NOT_A_REFUSAL,
    ),
    # -- sends and reads --
    Refusal(FORBIDDEN_ERRORS, Forbidden, "Telegram refused: {type}", "{name}", ("send",)),
    Refusal(NOT_FOUND_ERRORS, NotFound, "receiver not found", "peer_not_found", ("send",)),
    Refusal(
        errors.PhoneNotOccupiedError,
        NotFound,
        "Telegram does not reveal an account with this phone number to this profile: there is none, or its "
        "privacy lets only its own contacts find it",
        "peer_not_found",
        ("send",),
    ),
    Refusal(
        (errors.MessageTooLongError, errors.MessageEmptyError),
        ValidationFailed,
        "Telegram refused the text: {name}",
        "{name}",
        ("send",),
    ),
    # -- joining, leaving and reading a monitored channel --
    Refusal(
        (errors.ChannelPrivateError, errors.UserBannedInChannelError),
        Forbidden,
        "the channel is private or the profile is banned from it",
        "{name}",
        ("join",),
    ),
    Refusal(errors.InviteHashExpiredError, Gone, "the invite link has expired", "INVITE_HASH_EXPIRED", ("join",)),
    Refusal(errors.InviteHashInvalidError, NotFound, "the invite link is not valid", "INVITE_HASH_INVALID", ("join",)),
    Refusal(
        errors.ChannelsTooMuchError,
        Conflict,
        "the profile is in too many channels already",
        "CHANNELS_TOO_MUCH",
        ("join",),
    ),
    Refusal(
        errors.InviteRequestSentError,
        Conflict,
        "joining needs an admin's approval; the request was sent",
        "INVITE_REQUEST_SENT",
        ("join",),
    ),
    Refusal(
        (*UNKNOWN_CHANNEL_ERRORS, errors.PeerIdInvalidError),
        NotFound,
        "channel not found",
        "channel_not_found",
        ("join",),
    ),
    # -- resolving a channel to export (anything else is left to the caller) --
    Refusal(UNKNOWN_CHANNEL_ERRORS, NotFound, "channel not found", "channel_not_found", ("channel",)),
    Refusal(
        errors.ChannelPrivateError,
        Forbidden,
        "the channel is private and this profile is not a member",
        "channel_private",
        ("channel",),
    ),
    # -- every operation --
    Refusal(errors.FloodWaitError, TooManyRequests, _WAIT, "FLOOD_WAIT"),
    Refusal(errors.SlowModeWaitError, TooManyRequests, _WAIT, "SLOWMODE_WAIT"),
    Refusal(errors.FloodPremiumWaitError, TooManyRequests, _WAIT, "FLOOD_PREMIUM_WAIT"),
    Refusal(errors.FloodTestPhoneWaitError, TooManyRequests, _WAIT, "FLOOD_WAIT"),
    Refusal(
        errors.FrozenMethodInvalidError, Forbidden, "Telegram froze this account: it can only read", "profile_frozen"
    ),
    Refusal(
        errors.PeerFloodError,
        Forbidden,
        "Telegram limited this account for spam: it may only write to its mutual contacts",
        "peer_flood",
    ),
    Refusal(
        "ALLOW_PAYMENT_REQUIRED*",
        Forbidden,
        "the recipient accepts messages from non-contacts only when paid for in Stars",
        "payment_required",
        details=_stars,
    ),
    Refusal(
        "PRIVACY_PREMIUM_REQUIRED",
        Forbidden,
        "the recipient accepts messages only from Telegram Premium users",
        "premium_required",
    ),
    Refusal(
        errors.PhoneNumberInvalidError, ValidationFailed, "Telegram rejected the phone number", "PHONE_NUMBER_INVALID"
    ),
    Refusal(errors.PhoneCodeInvalidError, BadRequest, "the login code is wrong", "PHONE_CODE_INVALID"),
    Refusal(errors.PhoneCodeEmptyError, BadRequest, "the login code is empty", "PHONE_CODE_EMPTY"),
    Refusal(errors.PhoneCodeExpiredError, Gone, "the login code has expired; start again", "PHONE_CODE_EXPIRED"),
    Refusal(errors.PasswordHashInvalidError, BadRequest, "the 2FA password is wrong", "PASSWORD_HASH_INVALID"),
    Refusal(BANNED_ERRORS, Forbidden, "Telegram has banned this phone number", "PHONE_NUMBER_BANNED"),
    # Telegram's 401 is about the profile's session, not the API caller's token.
    Refusal(
        DEAUTHORIZED_ERRORS,
        Conflict,
        "Telegram no longer accepts this profile's session",
        "profile_not_active",
        unless=NOT_A_REFUSAL,
    ),
    Refusal(
        errors.PhoneNumberUnoccupiedError,
        BadRequest,
        "no Telegram account uses this phone number",
        "PHONE_NUMBER_UNOCCUPIED",
    ),
    # Another wait, without a length Telethon could read.
    Refusal(errors.FloodError, TooManyRequests, "Telegram asks to wait: {name}", "{name}"),
)


@cache
def _rows(operation: Operation) -> tuple[Refusal, ...]:
    own = tuple(row for row in REFUSALS if operation in row.operations)
    return own + tuple(row for row in REFUSALS if not row.operations)


def refusal(exc: BaseException, operation: Operation) -> AppError | None:
    """The API error of the rows that belong to `operation` itself, or None (the common rows are not asked)."""
    for row in REFUSALS:
        if operation in row.operations and row.matches(exc):
            return row.build(exc)
    return None


def app_error(exc: BaseException, operation: Operation = "any") -> AppError:
    """The API error for a Telethon error raised by `operation`: its rows, the common rows, then Telegram's status.

    An RPC error no row names keeps Telegram's status when it is 400/403/404 (else 502) and its name as the code;
    no answer is 503 `telegram_no_answer`; anything else (a dropped connection) is 503 `telegram_unavailable`.
    """
    if isinstance(exc, AppError) and operation in _KEEPS_APP_ERRORS:
        return exc
    for row in _rows(operation):
        if row.matches(exc):
            return row.build(exc)
    if isinstance(exc, errors.RPCError):
        status = exc.code if exc.code in _PASSED_THROUGH else 502
        return AppError(f"Telegram answered {rpc_name(exc)}", code=rpc_name(exc), status=status)
    if isinstance(exc, NoAnswer):
        return ServiceUnavailable(str(exc), code=NO_ANSWER)
    return ServiceUnavailable(f"Telegram is unreachable: {type(exc).__name__}", code="telegram_unavailable")


def to_app_error(exc: Exception) -> AppError:
    """Translate a Telethon error raised during a request into a precise 4xx/503 (the common rows)."""
    return app_error(exc)


def send_error(exc: Exception) -> AppError:
    """Map a Telethon error of a send or read to the API's 4xx (the profile's own refusal as its status)."""
    return app_error(exc, "send")


def account_refusal(exc: BaseException) -> AppError | None:
    """A request refused because Telegram banned or logged out the profile: 409 `profile_not_active`."""
    return refusal(exc, "account")


# -- the profile statuses an error means --------------------------------------------------------------------

_STATUSES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    (BANNED_ERRORS, "banned"),
    ((*DEAUTHORIZED_ERRORS, errors.AuthKeyNotFound), "deauthorized"),
)
_RESTRICTIONS: tuple[tuple[type[BaseException], str], ...] = (
    (errors.FrozenMethodInvalidError, "frozen"),
    (errors.PeerFloodError, "limited"),
)


def status_for(exc: BaseException) -> tuple[str, str] | None:
    """The profile status an error means ('banned'/'deauthorized'), or None for transient errors.

    A login's request for the 2FA password (`SESSION_PASSWORD_NEEDED`, a 401) is a step of the login, never a
    verdict on the account."""
    if isinstance(exc, NOT_A_REFUSAL):
        return None
    for matched, status in _STATUSES:
        if isinstance(exc, matched):
            return status, f"Telegram: {type(exc).__name__}"
    return None


def restriction_for(exc: BaseException) -> str | None:
    """The restricted profile status an error means ('frozen' or 'limited'), or None."""
    for matched, restriction in _RESTRICTIONS:
        if isinstance(exc, matched):
            return restriction
    return None
