"""The one table of Telethon errors -> API errors (app.telegram.errors), walked with Telethon's real error classes."""

from __future__ import annotations

import pytest
from telethon import errors

from app.lib.errors import AppError, NotFound, TooManyRequests
from app.telegram.errors import (
    REFUSALS,
    NoAnswer,
    Operation,
    Refusal,
    account_refusal,
    app_error,
    refusal,
    rpc_name,
    send_error,
    status_for,
    to_app_error,
)

MAPPED: tuple[Operation, ...] = ("any", "send", "join")  # the operations `app_error` answers in full


def _instance(cls: type[BaseException], name: str = "SOME_ERROR_7") -> BaseException:
    """A Telethon error as Telethon raises it (its constructor's own arguments)."""
    if not issubclass(cls, errors.RPCError):
        try:
            return cls("Telethon's own words")
        except TypeError:
            return cls()  # AuthKeyNotFound
    if cls in set(errors.base_errors.values()) or cls is errors.RPCError:
        return cls(request=None, message=name, code=cls.code or 400)  # an error Telethon has no class for
    try:
        return cls(request=None)
    except TypeError:
        return cls(request=None, capture=7)  # FLOOD_WAIT_7 and its kind


def _cases() -> list[tuple[int, Refusal, BaseException]]:
    cases: list[tuple[int, Refusal, BaseException]] = []
    for index, row in enumerate(REFUSALS):
        if isinstance(row.match, str):
            name = row.match[:-1] + "_25" if row.match.endswith("*") else row.match
            cases.append((index, row, errors.RPCError(request=None, message=name, code=400)))
        else:
            cases.extend((index, row, _instance(cls)) for cls in row.classes)
    return cases


CASES = _cases()


@pytest.mark.parametrize(("index", "row", "exc"), CASES, ids=[f"{i}-{type(e).__name__}" for i, _, e in CASES])
def test_every_row_answers_a_client_error_or_503_never_500(index: int, row: Refusal, exc: BaseException) -> None:
    built = row.build(exc)
    assert isinstance(built, AppError)
    assert 400 <= built.status < 500 or built.status == 503, (row, built.status)
    assert built.error_code
    assert "{" not in built.error_code
    assert "{" not in built.message
    if isinstance(built, TooManyRequests):
        assert int(built.headers["Retry-After"]) >= 0


@pytest.mark.parametrize(("index", "row", "exc"), CASES, ids=[f"{i}-{type(e).__name__}" for i, _, e in CASES])
def test_no_row_is_shadowed_by_an_earlier_one(index: int, row: Refusal, exc: BaseException) -> None:
    """The operation a row belongs to (or every operation, for a common row) answers what the row says."""
    if isinstance(exc, row.unless):
        pytest.skip("excluded by the row itself")
    for operation in row.operations or MAPPED:
        if row.operations:
            answered = refusal(exc, operation)  # the operation's own rows
        elif refusal(exc, operation) is not None:
            continue  # the operation's own row answers first, on purpose
        else:
            answered = app_error(exc, operation)
        assert answered is not None
        expected = row.build(exc)
        assert (type(answered), answered.error_code, answered.message) == (
            type(expected),
            expected.error_code,
            expected.message,
        ), (operation, row)


def test_errors_no_row_names_keep_telegram_status_and_name() -> None:
    unknown = errors.RPCError(request=None, message="SOMETHING_NEW", code=400)
    assert (app_error(unknown).status, app_error(unknown).error_code) == (400, "SOMETHING_NEW")
    internal = errors.ServerError(request=None, message="INTERNAL_SERVER_ERROR", code=500)
    assert app_error(internal).status == 502  # Telegram's 500 is not ours: a bad gateway
    known = errors.UserNotMutualContactError(request=None)
    assert app_error(known).error_code == "USER_NOT_MUTUAL_CONTACT"  # the name, not its base class's BAD_REQUEST
    assert (app_error(NoAnswer("silent")).status, app_error(NoAnswer("silent")).error_code) == (
        503,
        "telegram_no_answer",
    )
    assert app_error(ConnectionResetError()).error_code == "telegram_unavailable"


def test_operations_choose_their_own_answers_for_the_same_error() -> None:
    private = errors.ChannelPrivateError(request=None)
    assert (send_error(private).status, send_error(private).error_code) == (403, "CHANNEL_PRIVATE")
    assert app_error(private, "join").error_code == "CHANNEL_PRIVATE"
    assert app_error(private, "channel").error_code == "channel_private"
    assert app_error(private).status == 400  # passed through: nothing else names it
    banned = errors.UserDeactivatedBanError(request=None)
    assert (send_error(banned).status, send_error(banned).error_code) == (409, "profile_not_active")
    assert send_error(banned).message == "the profile is banned (Telegram: UserDeactivatedBanError)"
    assert (to_app_error(banned).status, to_app_error(banned).error_code) == (403, "PHONE_NUMBER_BANNED")
    assert account_refusal(errors.SessionPasswordNeededError(request=None)) is None  # a 2FA prompt
    assert account_refusal(errors.AuthKeyNotFound()) is not None
    assert status_for(errors.SessionPasswordNeededError(request=None)) is None  # a 401, but not a logout
    assert status_for(errors.AuthKeyUnregisteredError(request=None)) == (
        "deauthorized",
        "Telegram: AuthKeyUnregisteredError",
    )
    assert app_error(ValueError("no entity"), "send").error_code == "peer_not_found"
    assert app_error(ValueError("no entity"), "join").error_code == "channel_not_found"
    assert refusal(errors.FloodWaitError(request=None, capture=3), "channel") is None  # left to the caller
    mine = NotFound("x", code="mine")
    assert send_error(mine) is mine
    assert app_error(mine, "join") is mine


def test_waits_and_paid_messages_carry_their_numbers() -> None:
    wait = to_app_error(errors.FloodWaitError(request=None, capture=42))
    assert (wait.status, wait.error_code, wait.headers["Retry-After"]) == (429, "FLOOD_WAIT", "42")
    slow = to_app_error(errors.SlowModeWaitError(request=None, capture=5))
    assert (slow.error_code, slow.headers["Retry-After"]) == ("SLOWMODE_WAIT", "5")
    unnamed = to_app_error(errors.FloodError(request=None, message="FLOOD_SOMETHING", code=420))
    assert (unnamed.status, unnamed.error_code, unnamed.headers["Retry-After"]) == (429, "FLOOD_SOMETHING", "60")
    paid = send_error(errors.RPCError(request=None, message="ALLOW_PAYMENT_REQUIRED_25", code=400))
    assert (paid.status, paid.error_code, paid.details) == (403, "payment_required", {"stars": 25})


def test_rpc_names_are_telegrams() -> None:
    assert rpc_name(errors.UserIsBlockedError(request=None)) == "USER_IS_BLOCKED"
    assert rpc_name(errors.FloodWaitError(request=None, capture=1)) == "FLOOD_WAIT"
    assert rpc_name(errors.RPCError(request=None, message="NEW_ONE", code=400)) == "NEW_ONE"
