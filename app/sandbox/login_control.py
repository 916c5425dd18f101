"""The control API for logins (`dc.control`): the codes the sandbox "sent", how it sends them, expiring them.

Tests read a number's code with `last_code(phone)`; `set_code_delivery` makes a number get its codes by SMS,
email, not at all until it sets up a login email, or only after a payment (see `login_codes.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .login_codes import DELIVERIES
from .state import User, normalize_phone, now

if TYPE_CHECKING:
    from .server import SandboxDC


class LoginControl:
    """Mixed into `Control`, which sets the attributes below in its constructor."""

    dc: SandboxDC
    _codes: dict[str, str]
    code_deliveries: dict[str, str]
    code_listeners: list[Callable[[str, str], None]]
    registration_listeners: list[Callable[[User], None]]
    pending_emails: dict[int, tuple[str, str]]

    def set_code_delivery(self, phone: str | int, delivery: str | None) -> None:
        """How the number's next login codes are sent: app, sms, email, setup_email, payment (None: Telegram's way)."""
        if delivery is not None and delivery not in DELIVERIES:
            raise ValueError(f"delivery must be one of {DELIVERIES}")
        digits = normalize_phone(phone)
        if delivery is None:
            self.code_deliveries.pop(digits, None)
        else:
            self.code_deliveries[digits] = delivery

    def expire_code(self, phone: str | int) -> None:
        """Let the number's pending login code run out now (signIn answers PHONE_CODE_EXPIRED)."""
        login = self.dc.state.login_codes.get(normalize_phone(phone))
        if login is not None:
            login.expires = now() - 1
            self.dc.mark_dirty()

    def record_code(self, phone: str, code: str) -> None:
        self._codes[phone] = code
        for listener in self.code_listeners:
            listener(phone, code)

    def last_code(self, phone: str | int) -> str | None:
        return self._codes.get(normalize_phone(phone))

    def notify_registered(self, user: User) -> None:
        for listener in self.registration_listeners:
            listener(user)

    def recovery_email_code(self, user: User) -> str | None:
        """The code "emailed" to the 2FA recovery address `user` set last (account.confirmPasswordEmail)."""
        pending = self.pending_emails.get(user.id)
        return pending[1] if pending else None

    def scan_login_token(self, user: User, token: bytes) -> None:
        """`user`'s logged-in phone scans a QR login token (auth.acceptLoginToken), as a Telegram app would."""
        from .handlers.qr_login import accept

        accept(self.dc, user.id, token)
