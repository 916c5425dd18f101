"""The sandbox's data model: users, keys, authorizations, per-user message boxes, channels and update logs.

Everything here is plain dataclasses so `persistence.py` can write it to JSON. Behaviour that emits updates lives
in `actions.py`; this module only stores and looks things up.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from dataclasses import dataclass, field

from .files import StoredFile
from .group_state import BasicGroup, GroupMember

# Older log entries are dropped; a client further behind gets DifferenceTooLong.
UPDATE_LOG_LIMIT = 2000
MAX_CHANNELS_PER_USER = 500


def now() -> int:
    return int(time.time())


def random_long() -> int:
    return random.getrandbits(63) or 1


def hash_for_viewer(seed: int, viewer_id: int) -> int:
    """The access hash one account sees for a peer: Telegram's hashes are per (account, peer), never 0."""
    digest = hashlib.blake2b(f"{seed}:{viewer_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") & (2**63 - 1)) or 1


def normalize_phone(phone: str | int) -> str:
    """Phones are stored as digits only; '+1 555-0001' and '15550001' are the same number."""
    return "".join(ch for ch in str(phone) if ch.isdigit())


@dataclass
class PasswordRecord:
    """2FA: the SRP verifier v = g^x mod p plus the salts the client needs to recompute x."""

    salt1: bytes
    salt2: bytes
    verifier: bytes
    hint: str = ""


@dataclass
class LogEntry:
    """One pts step in a user's or channel's update log (kinds: see `updates.py`)."""

    pts: int
    pts_count: int
    kind: str
    date: int
    ids: list[int] = field(default_factory=list)
    peer_id: int = 0
    max_id: int = 0
    peer_kind: str = "user"  # what `peer_id` names: "user", or "chat" (a basic group)


@dataclass
class StoredMessage:
    """One copy of a message: private messages and basic group messages exist once per participant (in each
    account's own message box), channel and supergroup messages once per channel."""

    id: int
    peer_kind: str  # "user", "chat" (a basic group) or "channel"
    peer_id: int
    from_id: int
    date: int
    text: str
    out: bool = False
    edit_date: int | None = None
    reply_to: int | None = None
    entities: list[bytes] = field(default_factory=list)  # serialised MessageEntity objects, as sent
    # The other participant's copy of a private message: (owner user id, message id).
    twin_owner: int = 0
    twin_id: int = 0
    # A basic group message: its number in the group (`BasicGroup.copies` maps it to every member's copy).
    group_seq: int = 0
    # A service message (messageService): the action and its arguments (see `render.service_action`).
    action: str = ""
    action_users: list[int] = field(default_factory=list)
    action_title: str = ""
    action_peer: int = 0  # the channel of chat_migrate_to, the basic group of channel_migrate_from
    media_id: int = 0  # the photo or document (`SandboxState.files`) the message carries, 0: none
    grouped_id: int = 0  # the album it belongs to (messages.sendMultiMedia), 0: none


@dataclass
class PrivateDialog:
    read_inbox_max_id: int = 0
    read_outbox_max_id: int = 0


@dataclass
class UpdateLog:
    """A pts counter with its bounded log; `floor` is the oldest pts a difference can start from."""

    pts: int = 1
    floor: int = 1
    entries: list[LogEntry] = field(default_factory=list)
    last_date: int = 0

    def append(self, kind: str, pts_count: int = 1, **fields: object) -> LogEntry:
        self.pts += pts_count
        self.last_date = now()
        entry = LogEntry(pts=self.pts, pts_count=pts_count, kind=kind, date=self.last_date, **fields)  # type: ignore[arg-type]
        self.entries.append(entry)
        if len(self.entries) > UPDATE_LOG_LIMIT:
            dropped = self.entries[: len(self.entries) - UPDATE_LOG_LIMIT]
            del self.entries[: len(dropped)]
            self.floor = dropped[-1].pts
        return entry

    def since(self, pts: int) -> list[LogEntry] | None:
        """Entries after `pts`, or None when the log no longer reaches back that far."""
        if pts < self.floor:
            return None
        return [entry for entry in self.entries if entry.pts > pts]


@dataclass
class User:
    id: int
    access_hash: int  # a seed: each account sees its own hash of this user (`access_hash_for`)
    phone: str
    first_name: str
    last_name: str = ""
    username: str | None = None
    password: PasswordRecord | None = None
    banned: bool = False
    deleted: bool = False
    # Frozen (Telegram 2025): writes answer 420 FROZEN_METHOD_INVALID; help.getAppConfig carries the dates.
    frozen_since: int = 0
    frozen_until: int = 0
    freeze_appeal_url: str = ""
    spam_limited: bool = False  # sends to anyone but mutual contacts answer 400 PEER_FLOOD
    spam_limited_until: int = 0  # unix time Telegram lifts the limit by itself (0: only `limit_spam(False)`)
    premium: bool = False
    # Who may write to this user: non-contacts pay this many Stars per message (0: free) ...
    paid_messages_stars: int = 0
    # ... or must have Premium.
    premium_required: bool = False
    about: str = ""  # the bio (account.updateProfile), shown by users.getFullUser
    # Privacy (account.setPrivacy): who sees the number, and who finds the account by it ("privacy.py").
    phone_visible_to: str = "contacts"
    found_by_phone: str = "everybody"
    # The account's home data-center (0: the sandbox's first DC); other DCs answer PHONE_MIGRATE / USER_MIGRATE.
    dc_id: int = 0
    created: int = field(default_factory=now)
    next_message_id: int = 1
    log: UpdateLog = field(default_factory=UpdateLog)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    dialogs: dict[int, PrivateDialog] = field(default_factory=dict)
    contacts: list[int] = field(default_factory=list)

    def allocate_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1

    def access_hash_for(self, viewer_id: int) -> int:
        return hash_for_viewer(self.access_hash, viewer_id)


@dataclass
class ChannelMember:
    joined: int = field(default_factory=now)
    read_inbox_max_id: int = 0
    admin: bool = False
    last_post: int = 0  # when this member last wrote (slow mode counts from here)


@dataclass
class Channel:
    id: int
    access_hash: int  # a seed, as for users
    title: str
    creator_id: int
    broadcast: bool = True
    username: str | None = None
    private: bool = False
    about: str = ""
    date: int = field(default_factory=now)
    next_message_id: int = 1
    log: UpdateLog = field(default_factory=UpdateLog)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    members: dict[int, ChannelMember] = field(default_factory=dict)
    # Pending join requests (user id -> date), made through invite links that need an admin's approval.
    join_requests: dict[int, int] = field(default_factory=dict)
    banned: list[int] = field(default_factory=list)  # users an admin banned: they see channelForbidden
    deleted: bool = False  # deleted by its creator: everyone sees channelForbidden
    slowmode_seconds: int = 0  # supergroups: a non-admin member writes once per this many seconds
    migrated_from: int = 0  # the basic group this supergroup was upgraded from (messages.migrateChat)

    @property
    def megagroup(self) -> bool:
        return not self.broadcast

    def access_hash_for(self, viewer_id: int) -> int:
        return hash_for_viewer(self.access_hash, viewer_id)

    def forbidden_to(self, user_id: int) -> bool:
        """Whether `user_id` sees only channelForbidden: deleted, banned, or private and not a member."""
        return self.deleted or user_id in self.banned or (self.private and user_id not in self.members)

    def allocate_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1


@dataclass
class InviteLink:
    """An invite link (t.me/+hash) to a channel; `usage` counts the users who joined through it."""

    hash: str
    channel_id: int
    admin_id: int
    date: int = field(default_factory=now)
    request_needed: bool = False
    expire_date: int | None = None
    usage_limit: int | None = None
    usage: int = 0
    revoked: bool = False
    permanent: bool = False
    title: str | None = None

    @property
    def link(self) -> str:
        return f"https://t.me/+{self.hash}"

    def exhausted(self) -> bool:
        """Expired or used up: Telegram answers INVITE_HASH_EXPIRED for both."""
        expired = self.expire_date is not None and self.expire_date <= now()
        return expired or (self.usage_limit is not None and self.usage >= self.usage_limit)


@dataclass(frozen=True)
class ClientInit:
    """What a connection said about its client in initConnection (shown by account.getAuthorizations)."""

    api_id: int
    device_model: str
    system_version: str
    app_version: str
    lang_code: str
    system_lang_code: str


@dataclass
class Authorization:
    """A logged-in (or password-pending) user bound to one auth key."""

    id: int
    user_id: int
    password_pending: bool = False
    created: int = field(default_factory=now)
    api_id: int = 0
    device_model: str = ""
    app_version: str = ""
    system_version: str = ""
    lang_code: str = ""

    def describe(self, init: ClientInit) -> None:
        """Telegram shows a session with what its latest initConnection said."""
        self.api_id, self.device_model, self.system_version = init.api_id, init.device_model, init.system_version
        self.app_version, self.lang_code = init.app_version, init.lang_code


@dataclass
class AuthKeyRecord:
    key_id: int
    key: bytes
    created: int = field(default_factory=now)
    authorization: Authorization | None = None
    duplicated: bool = False  # used from two places at once: dead (AUTH_KEY_DUPLICATED) for good
    dc_id: int = 0  # the data-center the key was created on (0: the sandbox's first DC); unknown to the others


@dataclass
class LoginCode:
    phone: str
    code: str
    phone_code_hash: str
    expires: int
    delivery: str = (
        "app"  # how it was sent (login_codes.DELIVERIES): an email code is signed in with email_verification
    )


@dataclass
class SandboxState:
    """The whole persisted world."""

    users: dict[int, User] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    auth_keys: dict[int, AuthKeyRecord] = field(default_factory=dict)
    login_codes: dict[str, LoginCode] = field(default_factory=dict)
    invites: dict[str, InviteLink] = field(default_factory=dict)
    groups: dict[int, BasicGroup] = field(default_factory=dict)
    files: dict[int, StoredFile] = field(default_factory=dict)  # photos and documents (contents: files.FileStore)
    # What file references are signed with; bumping the epoch expires every reference handed out (media.py).
    file_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    file_epoch: int = 0
    next_user_id: int = 1_000_001
    next_channel_id: int = 2_000_000_001
    next_group_id: int = 4_000_001

    # Lookups -------------------------------------------------------------------------------------------------
    def user_by_phone(self, phone: str | int) -> User | None:
        digits = normalize_phone(phone)
        return next((u for u in self.users.values() if u.phone == digits), None)

    def user_by_username(self, username: str) -> User | None:
        name = username.lower().lstrip("@")
        return next((u for u in self.users.values() if u.username and u.username.lower() == name), None)

    def channel_by_username(self, username: str) -> Channel | None:
        name = username.lower().lstrip("@")
        return next((c for c in self.channels.values() if c.username and c.username.lower() == name), None)

    def channels_of(self, user_id: int) -> list[Channel]:
        return [c for c in self.channels.values() if user_id in c.members]

    def groups_of(self, user_id: int) -> list[BasicGroup]:
        """The basic groups `user_id` knows: member of, left, or removed from."""
        return [g for g in self.groups.values() if g.known_to(user_id)]

    def authorizations_of(self, user_id: int) -> list[tuple[AuthKeyRecord, Authorization]]:
        return [
            (record, record.authorization)
            for record in self.auth_keys.values()
            if record.authorization is not None and record.authorization.user_id == user_id
        ]

    # Creation ------------------------------------------------------------------------------------------------
    def add_user(self, phone: str | int, first_name: str, last_name: str = "", username: str | None = None) -> User:
        digits = normalize_phone(phone)
        if self.user_by_phone(digits) is not None:
            raise ValueError(f"phone {digits} is already registered")
        if username and (self.user_by_username(username) or self.channel_by_username(username)):
            raise ValueError(f"username {username} is taken")
        user = User(
            id=self.next_user_id,
            access_hash=random_long(),
            phone=digits,
            first_name=first_name,
            last_name=last_name,
            username=username,
        )
        self.next_user_id += 1
        self.users[user.id] = user
        return user

    def add_channel(
        self, title: str, creator: User, *, username: str | None, broadcast: bool, private: bool
    ) -> Channel:
        if username and (self.user_by_username(username) or self.channel_by_username(username)):
            raise ValueError(f"username {username} is taken")
        if private and username:
            raise ValueError("a private channel has no username (it is reached through invite links only)")
        channel = Channel(
            id=self.next_channel_id,
            access_hash=random_long(),
            title=title,
            creator_id=creator.id,
            broadcast=broadcast,
            username=username,
            private=private,
        )
        channel.members[creator.id] = ChannelMember(admin=True)
        self.next_channel_id += 1
        self.channels[channel.id] = channel
        return channel

    def add_group(self, title: str, creator: User) -> BasicGroup:
        group = BasicGroup(id=self.next_group_id, title=title, creator_id=creator.id)
        group.members[creator.id] = GroupMember(inviter_id=creator.id, admin=True)
        self.next_group_id += 1
        self.groups[group.id] = group
        return group

    def add_auth_key(self, key_id: int, key: bytes, dc_id: int = 0) -> AuthKeyRecord:
        record = AuthKeyRecord(key_id=key_id, key=key, dc_id=dc_id)
        self.auth_keys[key_id] = record
        return record

    def add_invite(self, channel: Channel, admin: User, **options: object) -> InviteLink:
        # Telegram's hashes are 16 url-safe characters; `+` links carry them verbatim.
        invite = InviteLink(hash=secrets.token_urlsafe(12), channel_id=channel.id, admin_id=admin.id, **options)  # type: ignore[arg-type]
        self.invites[invite.hash] = invite
        return invite

    def new_login_code(self, phone: str, code: str, ttl: int = 600, delivery: str = "app") -> LoginCode:
        login = LoginCode(
            phone=phone, code=code, phone_code_hash=secrets.token_hex(9), expires=now() + ttl, delivery=delivery
        )
        self.login_codes[phone] = login
        return login
