"""The control API for account states (`dc.control`): frozen, spam-limited, who may write, phone privacy.

These are states, not injected errors: they reach clients only the way Telegram tells them (the answers to their
next calls, help.getAppConfig).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import privacy
from .state import User, now

UserRef = User | int | str

if TYPE_CHECKING:
    from .server import SandboxDC


class AccountControl:
    """Mixed into `Control`; `user()` is Control's lookup (by object, id, phone or @username)."""

    dc: SandboxDC

    def user(self, ref: UserRef) -> User:  # pragma: no cover - provided by Control
        raise NotImplementedError

    def freeze(self, user: UserRef, *, days: int = 30, appeal_url: str = "https://t.me/spambot?start=appeal") -> None:
        """Freeze the account (Telegram 2025): writes answer 420 FROZEN_METHOD_INVALID, reads still work, and
        help.getAppConfig carries freeze_since_date, freeze_until_date and freeze_appeal_url."""
        target = self.user(user)
        target.frozen_since = now()
        target.frozen_until = target.frozen_since + days * 86400
        target.freeze_appeal_url = appeal_url
        self.dc.mark_dirty()

    def unfreeze(self, user: UserRef) -> None:
        target = self.user(user)
        target.frozen_since = target.frozen_until = 0
        target.freeze_appeal_url = ""
        self.dc.mark_dirty()

    def limit_spam(self, user: UserRef, limited: bool = True, *, for_s: int | None = None) -> None:
        """Spam-limit the account: messages to anyone but mutual contacts answer 400 PEER_FLOOD.

        As on Telegram the limit ends by itself: after `for_s` seconds when given (else when lifted here).
        """
        target = self.user(user)
        target.spam_limited = limited
        target.spam_limited_until = now() + for_s if limited and for_s is not None else 0
        self.dc.mark_dirty()

    def set_privacy(self, user: UserRef, *, paid_stars: int = 0, premium_required: bool = False) -> None:
        """Who may write to `user` unasked: non-contacts pay `paid_stars` per message, or must have Premium."""
        target = self.user(user)
        target.paid_messages_stars, target.premium_required = paid_stars, premium_required
        self.dc.mark_dirty()

    def set_phone_privacy(self, user: UserRef, *, visible_to: str | None = None, found_by: str | None = None) -> None:
        """account.setPrivacy for the phone keys: who sees the number ("everybody", "contacts", "nobody") and who
        finds the account by it ("everybody", "contacts"); see `privacy.py`."""
        target = self.user(user)
        if visible_to is not None:
            if visible_to not in (privacy.EVERYBODY, privacy.CONTACTS, privacy.NOBODY):
                raise ValueError(f"unknown phone visibility {visible_to!r}")
            target.phone_visible_to = visible_to
        if found_by is not None:
            if found_by not in (privacy.EVERYBODY, privacy.CONTACTS):
                raise ValueError(f"unknown phone discoverability {found_by!r}")
            target.found_by_phone = found_by
        self.dc.mark_dirty()
