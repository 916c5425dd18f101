"""The Python control API for tests and the demo: seed the world, act as users, inject failures, read counters."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from telethon.crypto import AuthKey
from telethon.tl.tlobject import TLObject

from . import srp
from .account_control import AccountControl
from .crypto import auth_key_id
from .dcs import home_dc, phone_home_dc
from .faults import Counters
from .group_control import GroupControl
from .login_control import LoginControl
from .media_control import MediaControl
from .state import (
    Authorization,
    BasicGroup,
    Channel,
    ChannelMember,
    ClientInit,
    User,
    normalize_phone,
    now,
    random_long,
)

if TYPE_CHECKING:
    from .server import SandboxDC

log = logging.getLogger(__name__)

UserRef = User | int | str
PeerRef = User | Channel | BasicGroup | int | str
SYSTEM_PHONE = "42777"


class Actor:
    """Acts as one user through the same code path as that user's own RPCs (so pts and pushes are real)."""

    def __init__(self, control: Control, user: User) -> None:
        self._control = control
        self.user = user

    async def send_message(
        self,
        peer: PeerRef,
        text: str,
        reply_to: int | None = None,
        *,
        lose_update: bool = False,
        entities: list[TLObject] | None = None,
    ) -> int:
        """Send as this user; `lose_update` (private chats) hides it from both sides' updates: a silent gap."""
        target = self._control.peer(peer)
        actions = self._control.dc.actions
        if isinstance(target, BasicGroup):
            msg_id, _ = actions.post_group(self.user, target, text, reply_to=reply_to, entities=entities)
        elif isinstance(target, Channel):
            msg_id, _ = actions.post(self.user, target, text, reply_to=reply_to, entities=entities)
        else:
            msg_id, _ = actions.send_private(
                self.user, target, text, reply_to=reply_to, lose_update=lose_update, entities=entities
            )
        return msg_id

    async def post(self, channel: PeerRef, text: str, reply_to: int | None = None) -> int:
        return await self.send_message(channel, text, reply_to=reply_to)

    async def edit_message(self, peer: PeerRef, msg_id: int, text: str) -> None:
        target = self._control.peer(peer)
        if isinstance(target, BasicGroup):
            self._control.dc.actions.edit_group_message(self.user, target, msg_id, text)
        elif isinstance(target, Channel):
            self._control.dc.actions.edit_channel_message(self.user, target, msg_id, text)
        else:
            self._control.dc.actions.edit_private(self.user, msg_id, text)

    async def delete_messages(self, peer: PeerRef, msg_ids: list[int], revoke: bool = True) -> None:
        target = self._control.peer(peer)
        if isinstance(target, Channel):
            self._control.dc.actions.delete_channel_messages(self.user, target, msg_ids)
        else:
            self._control.dc.actions.delete_private(self.user, msg_ids, revoke=revoke)

    async def read_history(self, peer: PeerRef, max_id: int = 0) -> None:
        target = self._control.peer(peer)
        if isinstance(target, BasicGroup):
            self._control.dc.actions.read_group(self.user, target, max_id)
        elif isinstance(target, Channel):
            self._control.dc.actions.read_channel(self.user, target, max_id)
        else:
            self._control.dc.actions.read_private(self.user, target, max_id)

    async def join(self, channel: PeerRef) -> None:
        self._control.dc.actions.join(self.user, self._control.channel(channel))

    async def leave(self, channel: PeerRef) -> None:
        self._control.dc.actions.leave(self.user, self._control.channel(channel))


class Control(AccountControl, GroupControl, LoginControl, MediaControl):
    """Entry point for tests and the demo: `dc.control` (account states: `AccountControl`, basic groups:
    `GroupControl`, logins: `LoginControl`, files: `MediaControl`)."""

    def __init__(self, dc: SandboxDC) -> None:
        self.dc = dc
        self._codes: dict[str, str] = {}
        self.code_attempts: dict[str, int] = {}
        self.code_deliveries: dict[str, str] = {}  # see LoginControl.set_code_delivery
        self.pending_emails: dict[int, tuple[str, str]] = {}  # 2FA recovery emails awaiting their code, by user
        self.code_listeners: list[Callable[[str, str], None]] = []
        self.registration_listeners: list[Callable[[User], None]] = []

    @property
    def counters(self) -> Counters:
        return self.dc.counters

    # Users and channels --------------------------------------------------------------------------------------
    def create_user(
        self,
        phone: str | int,
        first_name: str,
        last_name: str = "",
        username: str | None = None,
        password: str | None = None,
        hint: str = "",
        dc_id: int | None = None,
    ) -> User:
        """A registered account; `dc_id` is its home data-center (default: where its number lives, dcs.py)."""
        if dc_id is not None and dc_id not in self.dc.dc_ids:
            raise ValueError(f"this sandbox serves DCs {self.dc.dc_ids}, not {dc_id}")
        home = dc_id or phone_home_dc(self.dc, normalize_phone(phone))
        user = self.dc.state.add_user(phone, first_name, last_name, username)
        user.dc_id = home
        if password:
            user.password = srp.make_password(password, hint)
        self.dc.mark_dirty()
        return user

    def set_password(self, user: UserRef, password: str | None, hint: str = "") -> None:
        self.user(user).password = srp.make_password(password, hint) if password else None
        self.dc.mark_dirty()

    def add_contact(self, user: UserRef, contact: UserRef) -> None:
        owner, other = self.user(user), self.user(contact)
        if other.id not in owner.contacts:
            owner.contacts.append(other.id)
            self.dc.mark_dirty()

    def create_channel(
        self,
        title: str,
        username: str | None = None,
        creator: UserRef | None = None,
        broadcast: bool = True,
        private: bool = False,
        members: list[UserRef] | tuple[UserRef, ...] = (),
    ) -> Channel:
        owner = self.user(creator) if creator is not None else self._system_user()
        channel = self.dc.state.add_channel(title, owner, username=username, broadcast=broadcast, private=private)
        for member in members:
            self.add_member(channel, member)
        self.dc.mark_dirty()
        return channel

    def add_member(self, channel: PeerRef, user: UserRef, admin: bool = False) -> None:
        """Add a member without the join checks (private channels, the 500-channel limit)."""
        target, member = self.channel(channel), self.user(user)
        target.members.setdefault(member.id, ChannelMember(admin=admin))
        self.dc.mark_dirty()

    def export_invite(
        self,
        channel: PeerRef,
        *,
        request_needed: bool = False,
        expire_in: int | None = None,
        usage_limit: int | None = None,
    ) -> str:
        """A new invite link (https://t.me/+hash) made by the channel's creator, as messages.exportChatInvite."""
        target = self.channel(channel)
        invite = self.dc.state.add_invite(
            target,
            self.user(target.creator_id),
            request_needed=request_needed,
            expire_date=now() + expire_in if expire_in is not None else None,
            usage_limit=usage_limit,
        )
        self.dc.mark_dirty()
        return invite.link

    def join_requests(self, channel: PeerRef) -> list[int]:
        """User ids waiting for an admin's approval (made through request_needed invite links)."""
        return sorted(self.channel(channel).join_requests)

    def approve_join_request(self, channel: PeerRef, user: UserRef) -> None:
        self.dc.actions.settle_join_request(self.user(user), self.channel(channel), approved=True)

    def set_slowmode(self, channel: PeerRef, seconds: int) -> None:
        """Slow mode of a supergroup: a member who is not an admin writes once per `seconds` (420 SLOWMODE_WAIT_X)."""
        self.channel(channel).slowmode_seconds = seconds
        self.dc.mark_dirty()

    def remove_member(self, channel: PeerRef, user: UserRef, *, ban: bool = False) -> None:
        """Kick `user` from the channel (with `ban`: for good); they get updateChannel, as on Telegram."""
        self.dc.actions.remove_member(self.channel(channel), self.user(user), ban=ban)

    def unban_member(self, channel: PeerRef, user: UserRef) -> None:
        """An admin lifts a ban (channels.editBanned with no rights removed): the user may join again."""
        target, who = self.channel(channel), self.user(user)
        if who.id in target.banned:
            target.banned.remove(who.id)
            self.dc.mark_dirty()

    def delete_channel(self, channel: PeerRef) -> None:
        """Delete the channel: every member gets updateChannel and sees channelForbidden from now on."""
        self.dc.actions.delete_channel(self.channel(channel))

    def _system_user(self) -> User:
        return self.dc.state.user_by_phone(SYSTEM_PHONE) or self.create_user(SYSTEM_PHONE, "Sandbox")

    def user(self, ref: UserRef) -> User:
        """Find a user by object, id, phone (with or without '+') or @username."""
        state = self.dc.state
        found: User | None = None
        if isinstance(ref, User):
            found = state.users.get(ref.id)
        elif isinstance(ref, int):
            found = state.users.get(ref)
        else:
            found = state.user_by_username(ref) if not normalize_phone(ref) else state.user_by_phone(ref)
            found = found or state.user_by_username(ref)
        if found is None:
            raise KeyError(f"no sandbox user {ref!r}")
        return found

    def channel(self, ref: PeerRef) -> Channel:
        state = self.dc.state
        found = None
        if isinstance(ref, Channel):
            found = state.channels.get(ref.id)
        elif isinstance(ref, int):
            found = state.channels.get(ref)
        elif isinstance(ref, str):
            found = state.channel_by_username(ref)
        if found is None:
            raise KeyError(f"no sandbox channel {ref!r}")
        return found

    def peer(self, ref: PeerRef) -> User | Channel | BasicGroup:
        if isinstance(ref, BasicGroup | Channel):
            return self.group(ref) if isinstance(ref, BasicGroup) else self.channel(ref)
        if isinstance(ref, int) and ref in self.dc.state.groups:
            return self.dc.state.groups[ref]
        if isinstance(ref, int) and ref in self.dc.state.channels:
            return self.dc.state.channels[ref]
        if isinstance(ref, str) and self.dc.state.channel_by_username(ref):
            return self.channel(ref)
        return self.user(ref)

    def as_user(self, ref: UserRef) -> Actor:
        return Actor(self, self.user(ref))

    # Login codes ---------------------------------------------------------------------------------------------
    # Failure injection ---------------------------------------------------------------------------------------
    def ban(self, user: UserRef) -> None:
        """Every call by this user now fails with 401 USER_DEACTIVATED_BAN; sendCode with PHONE_NUMBER_BANNED.

        Like Telegram, nothing is pushed: a client learns it from the answer to its next call.
        """
        self.user(user).banned = True
        self.dc.mark_dirty()

    def push_updates_too_long(self, user: UserRef) -> None:
        """Send the user's live clients `updatesTooLong`, as Telegram does when it drops pending updates."""
        self.dc.hub.push_too_long(self.user(user).id)

    def unban(self, user: UserRef) -> None:
        self.user(user).banned = False
        self.dc.mark_dirty()

    def revoke(self, user: UserRef) -> int:
        """Drop all of the user's authorizations (keys stay); a live client learns it at its next call (401)."""
        target = self.user(user)
        dropped = 0
        for record, _auth in self.dc.state.authorizations_of(target.id):
            record.authorization = None
            dropped += 1
        self.dc.mark_dirty()
        for conn in self.dc.connections(target.id):
            self.dc.detach_user(conn)
        return dropped

    def forget_auth_key(self, key_id: int) -> None:
        """Forget a key entirely: its clients get transport error -404 (Telethon: AuthKeyNotFound)."""
        self.dc.state.auth_keys.pop(key_id, None)
        self.dc.mark_dirty()

    def drop_connections(self, user: UserRef | None = None) -> int:
        """Close sockets (all, or one user's); Telethon reconnects on its own."""
        target = self.user(user).id if user is not None else None
        conns = self.dc.connections(target)
        for conn in conns:
            conn.close()
        return len(conns)

    def fail_next(
        self,
        request: type[TLObject] | str,
        code: int,
        message: str,
        times: int = 1,
        user: UserRef | None = None,
    ) -> None:
        """Answer the next `times` calls of `request` (class or 'messages.SendMessage') with an rpc_error."""
        user_id = self.user(user).id if user is not None else None
        self.dc.injector.add(request, code, message, times, user_id)

    def hold_next(self, request: type[TLObject] | str, times: int = 1, user: UserRef | None = None) -> None:
        """Leave the next `times` calls of `request` unanswered (connection open) until `release_held()`."""
        user_id = self.user(user).id if user is not None else None
        self.dc.injector.hold(request, times, user_id)

    def release_held(self) -> None:
        """Answer every held call now (and drop the hold rules not used yet)."""
        self.dc.injector.release()

    def login_session(self, user: UserRef, host: str | None = None, port: int | None = None) -> str:
        """A logged-in Telethon StringSession for `user`, minted server-side (no handshake, no login round trips).

        Fast fixture for tests that need an authorized client but are not about logging in.
        """
        from telethon.sessions import StringSession

        target = self.user(user)
        key = os.urandom(256)
        home = home_dc(self.dc, target)
        record = self.dc.state.add_auth_key(auth_key_id(key), key, home)
        record.authorization = Authorization(id=random_long(), user_id=target.id, device_model="login_session")
        self.dc.mark_dirty()
        session = StringSession()
        listener_host, listener_port = self.dc.address(home)
        session.set_dc(home, host or listener_host, port or listener_port)
        session.auth_key = AuthKey(key)
        return str(session.save())

    def authorizations(self, user: UserRef) -> list[Authorization]:
        return [auth for _record, auth in self.dc.state.authorizations_of(self.user(user).id)]

    def client_inits(self, user: UserRef) -> list[ClientInit]:
        """Every initConnection, in order, made on an auth key that is now (or was last) logged in as `user`."""
        keys = {record.key_id for record, _auth in self.dc.state.authorizations_of(self.user(user).id)}
        return [init for key_id, init in self.dc.client_inits if key_id in keys]
