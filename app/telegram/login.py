"""The Telegram side of binding a profile: one short-lived client per login step, under the flow's lease.

The profiles domain keeps the flow (app.domain.profiles.login); a `LoginStep` is what it may ask Telegram
during one step: send the code, sign in with the code or the 2FA password, read the update state to start from.
Telethon's answers and errors become plain results and the API's errors here.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from telethon import TelegramClient, errors, functions, types

from app.lib.devices import DeviceIdentity
from app.lib.errors import AppError, Conflict
from app.lib.proxies import ProxySpec
from app.telegram.checkpoints import StoredState, binding_checkpoint
from app.telegram.connector import TelegramConnector, session_string
from app.telegram.errors import to_app_error
from app.telegram.leases import LeaseStore
from app.telegram.records import AccountInfo, account_info

STEP_LEASE_MS = 60_000


@dataclass(frozen=True, slots=True)
class LoginCode:
    """Telegram sent a login code."""

    phone_code_hash: str
    code_type: str  # app, sms, email, call, flashcall, missedcall, fragmentsms, ... (Telegram's SentCodeType)
    code_length: int | None
    timeout: int | None
    email_pattern: str | None = None  # an emailed code: the masked address it went to


def sent_code_outcome(sent: object) -> LoginCode:
    """What `auth.sendCode` answered, as a LoginCode or the API's error for a login that cannot go on here."""
    if isinstance(sent, types.auth.SentCodePaymentRequired):
        price = f"{sent.amount / 100:.2f} {sent.currency}"
        raise AppError(
            "Telegram sends a login code to this number only after a purchase in an official Telegram app "
            f"({price}); log in there, or use another number",
            code="login_payment_required",
            status=402,
        )
    if not isinstance(sent, types.auth.SentCode):
        raise Conflict("Telegram logged in without a code; start again", code="login_incomplete")
    if isinstance(sent.type, types.auth.SentCodeTypeSetUpEmailRequired):
        raise Conflict(
            "Telegram requires a login email for this number first: log in once in an official Telegram app, "
            "which asks for one, then start again",
            code="email_setup_required",
        )
    kind = type(sent.type).__name__.removeprefix("SentCodeType").removesuffix("Code").lower()
    pattern = sent.type.email_pattern if isinstance(sent.type, types.auth.SentCodeTypeEmailCode) else None
    return LoginCode(sent.phone_code_hash, kind, getattr(sent.type, "length", None), sent.timeout, pattern)


@dataclass(frozen=True, slots=True)
class PasswordNeeded:
    """The account has 2FA: the next step is the password."""

    hint: str | None


class LoginStep:
    """One connected, not yet (or just) authorised client of a login flow."""

    def __init__(self, client: TelegramClient) -> None:
        self._client = client

    def session_string(self) -> str:
        return session_string(self._client)

    async def send_code(self, phone: str) -> LoginCode:
        """auth.sendCode (Telethon follows PHONE_MIGRATE to the number's home DC, which the session then names)."""
        client = self._client
        request = functions.auth.SendCodeRequest(phone, client.api_id, client.api_hash, types.CodeSettings())
        try:
            try:
                sent = await client(request)
            except errors.AuthRestartError:
                sent = await client(request)  # Telegram's "restart the login": once, as its apps do
        except Exception as exc:
            raise to_app_error(exc) from None
        return sent_code_outcome(sent)

    async def sign_in_with_code(
        self, phone: str, code: str, phone_code_hash: str, *, emailed: bool = False
    ) -> AccountInfo | PasswordNeeded:
        """auth.signIn with the code; an emailed one goes as `email_verification`, as Telegram wants it."""
        try:
            if emailed:
                answer = await self._client(
                    functions.auth.SignInRequest(
                        phone, phone_code_hash, email_verification=types.EmailVerificationCode(code)
                    )
                )
                me = answer.user if isinstance(answer, types.auth.Authorization) else answer
            else:
                me = await self._client.sign_in(phone, code, phone_code_hash=phone_code_hash)
        except errors.SessionPasswordNeededError:
            try:
                password = await self._client(functions.account.GetPasswordRequest())
            except Exception as exc:
                raise to_app_error(exc) from None
            return PasswordNeeded(password.hint)
        except Exception as exc:
            raise to_app_error(exc) from None
        if not isinstance(me, types.User):
            raise Conflict(
                "this phone number has no Telegram account yet; sign up in a Telegram app first",
                code="PHONE_NUMBER_UNOCCUPIED",
            )
        return account_info(me)

    async def sign_in_with_password(self, password: str) -> AccountInfo:
        try:
            me = await self._client.sign_in(password=password)
        except Exception as exc:
            raise to_app_error(exc) from None
        if not isinstance(me, types.User):
            raise Conflict("Telegram did not complete the login", code="login_incomplete")
        return account_info(me)

    async def checkpoint(self) -> tuple[StoredState, ...]:
        """The account's update state now: its first connection catches up from here."""
        try:
            return await binding_checkpoint(self._client)
        except Exception as exc:
            raise to_app_error(exc) from None


@contextlib.asynccontextmanager
async def login_step(
    connector: TelegramConnector,
    leases: LeaseStore,
    lease: str,
    session: str | None,
    api_id: int,
    api_hash: str,
    identity: DeviceIdentity | None = None,
    proxy: ProxySpec | None = None,
) -> AsyncIterator[LoginStep]:
    """A connected client for one step; 409 while another step of the same login holds its lease."""
    holder = uuid.uuid4().hex
    if not await leases.acquire(lease, holder, STEP_LEASE_MS):
        raise Conflict("another step of this login is in progress", code="login_step_in_progress")
    client = connector.client(
        session, api_id=api_id, api_hash=api_hash, receive_updates=False, identity=identity, proxy=proxy
    )
    try:
        try:
            await client.connect()
        except Exception as exc:
            raise to_app_error(exc) from None
        yield LoginStep(client)
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()
        await leases.release(lease, holder)
