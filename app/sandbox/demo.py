"""The demo world (contacts, a channel, a group) and a traffic generator so a fresh sandbox has something live."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .images import solid_png
from .rpc import RpcError
from .state import Channel, User

if TYPE_CHECKING:
    from .server import SandboxDC

log = logging.getLogger(__name__)

DEMO_CONTACTS = (("42000001", "Ada", "Demo", "demo_ada"), ("42000002", "Linus", "Demo", "demo_linus"))
NEWS_USERNAME = "sandbox_news"
LOUNGE_USERNAME = "sandbox_lounge"
TEAM_TITLE = "Sandbox Team"  # a basic group made for each new account
KEEP_POSTS = 20
# An account with a 2FA password, so the login's password step can be tried offline (README, sandbox section).
DEMO_2FA_PHONE = "9996629999"
DEMO_2FA_PASSWORD = "sandbox-2fa"
DEMO_2FA_HINT = "sandbox-2fa (see the README)"


def seed_demo_world(dc: SandboxDC) -> None:
    """Create the demo contacts and channels once (idempotent), and welcome every newly registered user."""
    control = dc.control
    contacts = []
    for phone, first, last, username in DEMO_CONTACTS:
        user = dc.state.user_by_phone(phone) or control.create_user(phone, first, last, username=username)
        contacts.append(user)
    ada, linus = contacts
    if dc.state.channel_by_username(NEWS_USERNAME) is None:
        news = control.create_channel("Sandbox News", username=NEWS_USERNAME, creator=ada, broadcast=True)
        for text in ("Welcome to the Telegram sandbox.", "Everything here is offline and fake."):
            dc.actions.post(ada, news, text)
    if dc.state.channel_by_username(LOUNGE_USERNAME) is None:
        control.create_channel(
            "Sandbox Lounge", username=LOUNGE_USERNAME, creator=linus, broadcast=False, members=[ada]
        )
    if dc.state.user_by_phone(DEMO_2FA_PHONE) is None:
        secured = control.create_user(DEMO_2FA_PHONE, "Demo", "2FA", password=DEMO_2FA_PASSWORD, hint=DEMO_2FA_HINT)
        welcome(dc, secured)
    if not getattr(dc, "_demo_welcome_installed", False):
        control.registration_listeners.append(lambda user: welcome(dc, user))
        dc._demo_welcome_installed = True  # type: ignore[attr-defined]


def demo_users(dc: SandboxDC) -> list[User]:
    return [u for phone, *_ in DEMO_CONTACTS if (u := dc.state.user_by_phone(phone)) is not None]


def welcome(dc: SandboxDC, user: User) -> None:
    """Join a new account to the demo channels, add the demo contacts, say hello, and make it a basic group."""
    contacts = demo_users(dc)
    for username in (NEWS_USERNAME, LOUNGE_USERNAME):
        channel = dc.state.channel_by_username(username)
        if channel is not None:
            dc.control.add_member(channel, user)
    for contact in contacts:
        dc.control.add_contact(user, contact)
        dc.control.add_contact(contact, user)
    if contacts:
        dc.actions.send_private(contacts[0], user, f"Hi {user.first_name}! I am a demo contact in the sandbox.")
    if len(contacts) >= 2:
        # A basic group of its own (messages.createChat), so every account meets one: members, service messages.
        ada, linus = contacts[:2]
        result = dc.actions.create_group(ada, TEAM_TITLE, [linus, user])
        team = next(chat.id for chat in result.updates.chats if chat.id in dc.state.groups)
        dc.actions.post_group(linus, dc.state.groups[team], "Welcome to the team! This is a basic group.")


@dataclass
class TrafficStats:
    posts: int = 0
    edits: int = 0
    deletes: int = 0
    private_messages: int = 0


class DemoTraffic:
    """Every `interval` seconds: post to the demo channel (sometimes edit or delete), and have a demo contact
    write to every account that is currently logged in."""

    def __init__(self, dc: SandboxDC, interval: float) -> None:
        self.dc = dc
        self.interval = interval
        self.stats = TrafficStats()
        self._task: asyncio.Task[None] | None = None
        self._counter = itertools.count(1)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sandbox-demo-traffic")

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        self.cancel()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.tick()
            except Exception:
                log.exception("demo traffic step failed")

    def tick(self) -> None:
        """One step of traffic (public so tests can drive it without waiting)."""
        step = next(self._counter)
        news = self.dc.state.channel_by_username(NEWS_USERNAME)
        contacts = demo_users(self.dc)
        if news is None or not contacts:
            return
        author = self.dc.state.users[news.creator_id]
        self._channel_step(step, news, author)
        sender = contacts[step % len(contacts)]
        demo_ids = {c.id for c in contacts}
        for user_id in self._logged_in_user_ids() - demo_ids:
            try:
                self.dc.actions.send_private(
                    sender, self.dc.state.users[user_id], f"Ping #{step} from {sender.first_name}"
                )
                self.stats.private_messages += 1
            except RpcError as exc:
                log.debug("demo message to %s failed: %s", user_id, exc.message)

    def _channel_step(self, step: int, news: Channel, author: User) -> None:
        if step % 5 == 4:  # now and then a photo (a small solid PNG whose colour changes with the step)
            colour = ((step * 40) % 256, (step * 90) % 256, 200)
            self.dc.control.send_photo(author, news, solid_png(320, 200, colour), caption=f"Sandbox photo #{step}")
        else:
            self.dc.actions.post(author, news, f"Sandbox news #{step}")
        self.stats.posts += 1
        latest = max(news.messages)
        if step % 3 == 0 and not news.messages[latest].media_id:
            self.dc.actions.edit_channel_message(author, news, latest, f"Sandbox news #{step} (edited)")
            self.stats.edits += 1
        if len(news.messages) > KEEP_POSTS:
            self.dc.actions.delete_channel_messages(author, news, [min(news.messages)])
            self.stats.deletes += 1

    def _logged_in_user_ids(self) -> set[int]:
        return {
            record.authorization.user_id
            for record in self.dc.state.auth_keys.values()
            if record.authorization is not None and not record.authorization.password_pending
        }
