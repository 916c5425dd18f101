"""Telethon update handlers: normalise new/edited/deleted/read messages into plain records for the ingest queue.

The feed also takes update-state checkpoints. A checkpoint is a snapshot of the client's MessageBox taken when
every update it covers has already been handed to the queue (no handler of ours is running and no dispatch
task is pending); it travels through the same FIFO queue, so the writer stores it only after the messages
before it are committed. Clients start from the last stored checkpoint with `catch_up=True`, so Telegram's
getDifference returns what arrived while the service was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from telethon import TelegramClient, events, types, utils

from app.telegram.entities import entities_json
from app.telegram.runtime import ProfileCredentials

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChatRef:
    peer_id: int  # Telethon's marked id: users > 0, basic groups < 0, channels -100...
    kind: str  # user | group (basic) | supergroup | channel
    title: str | None = None
    username: str | None = None
    access_hash: int | None = None
    can_post: bool | None = None  # None: the entity did not say (see `can_post`)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    out: bool
    date: datetime
    text: str
    sender_id: int | None = None
    sender_name: str | None = None
    media_type: str | None = None
    media: dict[str, Any] | None = None
    edit_date: datetime | None = None
    reply_to: int | None = None
    text_sanitized: bool = False  # the text held U+0000, replaced (PostgreSQL text cannot store it)
    entities: list[dict[str, Any]] | None = None  # Telegram's formatting (app.telegram.entities)


NUL_REPLACEMENT = "\ufffd"


def without_nul(value: str) -> str:
    """Telegram text may hold U+0000, which PostgreSQL text cannot store: replaced by U+FFFD."""
    return value.replace("\x00", NUL_REPLACEMENT) if "\x00" in value else value


def _clean(value: str | None) -> str | None:
    return without_nul(value) if value else value


def _clean_media(media: dict[str, Any] | None) -> dict[str, Any] | None:
    """Media metadata (file names, page titles) goes to a JSON column, where U+0000 is refused as well."""
    if not media:
        return media
    return {key: without_nul(value) if isinstance(value, str) else value for key, value in media.items()}


@dataclass(frozen=True, slots=True)
class ProfileRef:
    profile_id: UUID
    owner_id: UUID
    phone: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    profile: ProfileRef
    chat: ChatRef
    message: MessageRecord
    received_at: float  # loop time at receipt, for latency figures


@dataclass(frozen=True, slots=True)
class EditedMessage:
    profile: ProfileRef
    chat: ChatRef
    message: MessageRecord
    received_at: float


@dataclass(frozen=True, slots=True)
class DeletedMessages:
    profile: ProfileRef
    channel_peer_id: int | None  # None: private chats and basic groups (ids are unique per account)
    ids: tuple[int, ...]
    received_at: float


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    profile: ProfileRef
    peer_id: int
    max_id: int
    outbox: bool  # True: the peer read our messages; False: we read theirs (on another device)
    still_unread: int | None
    received_at: float


@dataclass(frozen=True, slots=True)
class StoredState:
    """One row of update state: entity 0 is the account, others are channel ids (bare, as Telethon keys them)."""

    entity_id: int
    pts: int
    qts: int = 0
    date: int = 0
    seq: int = 0
    access_hash: int | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    profile: ProfileRef
    states: tuple[StoredState, ...]
    received_at: float


UpdateRecord = NewMessage | EditedMessage | DeletedMessages | ReadReceipt | Checkpoint
Sink = Callable[[UpdateRecord], Awaitable[None]]


def chat_kind(entity: Any) -> str:
    """user, group (a basic group), supergroup (megagroup or gigagroup) or channel (broadcast)."""
    if isinstance(entity, types.Channel):
        return "supergroup" if entity.megagroup or entity.gigagroup else "channel"
    if isinstance(entity, types.ChannelForbidden):
        return "supergroup" if entity.megagroup else "channel"
    if isinstance(entity, (types.Chat, types.ChatForbidden)):
        return "group"
    return "user"


def kind_of_peer_id(peer_id: int) -> str:
    """A guess from the marked id alone: a -100 id may be a supergroup too (see `better_kind`)."""
    if peer_id > 0:
        return "user"
    return "channel" if str(peer_id).startswith("-100") else "group"


def better_kind(stored: str, seen: str) -> str:
    """The kind to keep: an entity that says "supergroup" corrects a "channel" guessed from a bare -100 id (or a
    "group" from before supergroups had a kind of their own)."""
    return seen if seen == "supergroup" and stored in ("channel", "group") else stored


def chat_ref(entity: Any, peer_id: int) -> ChatRef:
    """Describe a Telethon entity (User, Chat, Channel); unknown entities keep just the id."""
    if entity is None:
        return ChatRef(peer_id=peer_id, kind=kind_of_peer_id(peer_id))
    title = utils.get_display_name(entity) or None
    return ChatRef(
        peer_id=peer_id,
        kind=chat_kind(entity),
        title=_clean(title),
        username=_clean(getattr(entity, "username", None)),
        access_hash=getattr(entity, "access_hash", None),
        can_post=can_post(entity),
    )


def can_post(entity: Any) -> bool | None:
    """Whether the account may write in this chat, as the entity describes it; None when it does not say.

    A broadcast channel takes posts from its creator and admins with `post_messages` only; a group from its
    members unless they, or all members, are banned from sending. A `min` entity carries no rights at all.
    """
    if isinstance(entity, (types.ChannelForbidden, types.ChatForbidden)):
        return False
    if not isinstance(entity, (types.Channel, types.Chat)) or getattr(entity, "min", False):
        return None
    admin = entity.admin_rights
    if entity.creator:
        return True
    if getattr(entity, "broadcast", False):
        return bool(admin and admin.post_messages)
    if entity.left or getattr(entity, "deactivated", False):
        return False
    if admin is not None:
        return True
    banned = [getattr(entity, "banned_rights", None), entity.default_banned_rights]
    return not any(rights is not None and rights.send_messages for rights in banned)


_MEDIA_TYPES: dict[type[Any], str] = {
    types.MessageMediaPhoto: "photo",
    types.MessageMediaDocument: "document",
    types.MessageMediaGeo: "geo",
    types.MessageMediaGeoLive: "geo_live",
    types.MessageMediaVenue: "venue",
    types.MessageMediaContact: "contact",
    types.MessageMediaWebPage: "webpage",
    types.MessageMediaPoll: "poll",
    types.MessageMediaDice: "dice",
    types.MessageMediaGame: "game",
    types.MessageMediaInvoice: "invoice",
}


def media_of(media: Any) -> tuple[str | None, dict[str, Any] | None]:
    """The media type and its metadata (no download)."""
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return None, None
    kind = _MEDIA_TYPES.get(type(media), type(media).__name__.removeprefix("MessageMedia").lower())
    meta: dict[str, Any] = {}
    document = getattr(media, "document", None)
    if isinstance(document, types.Document):
        meta.update(id=document.id, mime_type=document.mime_type, size=document.size)
        for attribute in document.attributes:
            if isinstance(attribute, types.DocumentAttributeFilename):
                meta["file_name"] = attribute.file_name
            elif isinstance(attribute, types.DocumentAttributeSticker):
                kind = "sticker"
            elif isinstance(attribute, types.DocumentAttributeAudio):
                kind = "voice" if attribute.voice else "audio"
                meta["duration"] = attribute.duration
            elif isinstance(attribute, types.DocumentAttributeVideo):
                kind = "video"
                meta.update(duration=attribute.duration, width=attribute.w, height=attribute.h)
    photo = getattr(media, "photo", None)
    if isinstance(photo, types.Photo):
        meta["id"] = photo.id
    if isinstance(media, types.MessageMediaGeo) and isinstance(media.geo, types.GeoPoint):
        meta.update(lat=media.geo.lat, long=media.geo.long)
    if isinstance(media, types.MessageMediaContact):
        meta.update(phone=media.phone_number, first_name=media.first_name, user_id=media.user_id)
    if isinstance(media, types.MessageMediaWebPage) and isinstance(media.webpage, types.WebPage):
        meta.update(url=media.webpage.url, title=media.webpage.title)
    return kind, meta


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def message_record(message: Any) -> MessageRecord:
    """Normalise a Telethon custom Message (from an event or from get_messages)."""
    sender = getattr(message, "_sender", None)
    media_type, media = media_of(getattr(message, "media", None))
    media = _clean_media(media)
    if isinstance(message, types.MessageService):
        media_type, media = "service", {"action": type(message.action).__name__}
    reply = message.reply_to
    text = getattr(message, "message", None) or ""
    return MessageRecord(
        id=message.id,
        out=bool(message.out),
        date=_utc(message.date) or datetime.now(UTC),
        text=without_nul(text),
        text_sanitized="\x00" in text,
        sender_id=message.sender_id,
        sender_name=_clean(utils.get_display_name(sender) or None) if sender is not None else None,
        media_type=media_type,
        media=media,
        edit_date=_utc(getattr(message, "edit_date", None)),
        reply_to=getattr(reply, "reply_to_msg_id", None),
        entities=entities_json(getattr(message, "entities", None)),
    )


class UpdateFeed:
    """Registers the message handlers on one profile's client and feeds `sink` (a bounded queue's `put`)."""

    def __init__(self, credentials: ProfileCredentials, client: TelegramClient, sink: Sink, interval_s: float) -> None:
        self.profile = ProfileRef(credentials.profile_id, credentials.owner_id, credentials.phone)
        self.client = client
        self._sink = sink
        self._interval_s = interval_s
        self._inflight = 0
        self._last: tuple[StoredState, ...] = ()
        self._task: asyncio.Task[None] | None = None

    def install(self) -> None:
        """Add the handlers; call before `connect()` so nothing fetched by the catch-up is missed."""
        self.client.add_event_handler(self._on_new, events.NewMessage())
        self.client.add_event_handler(self._on_edit, events.MessageEdited())
        self.client.add_event_handler(self._on_delete, events.MessageDeleted())
        self.client.add_event_handler(
            self._on_read,
            events.Raw(
                types=[types.UpdateReadHistoryInbox, types.UpdateReadHistoryOutbox, types.UpdateReadChannelInbox]
            ),
        )

    def start_checkpoints(self) -> None:
        self._task = asyncio.create_task(self._checkpoints(), name=f"checkpoints-{self.profile.profile_id}")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # -- handlers ----------------------------------------------------------------------------------------------

    async def _guarded(self, work: Callable[[], Awaitable[UpdateRecord | None]]) -> None:
        self._inflight += 1
        try:
            record = await work()
            if record is not None:
                await self._sink(record)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not ingest an update of profile %s", self.profile.profile_id)
        finally:
            self._inflight -= 1

    async def _chat_of(self, event: Any) -> ChatRef:
        chat = event.message.chat if event.message is not None else None
        if chat is None:
            with contextlib.suppress(Exception):
                chat = await event.get_chat()
        return chat_ref(chat, event.chat_id)

    async def _on_new(self, event: events.NewMessage.Event) -> None:
        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            return NewMessage(self.profile, await self._chat_of(event), message_record(event.message), now)

        await self._guarded(work)

    async def _on_edit(self, event: events.MessageEdited.Event) -> None:
        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            return EditedMessage(self.profile, await self._chat_of(event), message_record(event.message), now)

        await self._guarded(work)

    async def _on_delete(self, event: events.MessageDeleted.Event) -> None:
        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            return DeletedMessages(self.profile, event.chat_id, tuple(event.deleted_ids), now)

        await self._guarded(work)

    async def _on_read(self, update: Any) -> None:
        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            if isinstance(update, types.UpdateReadChannelInbox):
                peer_id = utils.get_peer_id(types.PeerChannel(update.channel_id))
                return ReadReceipt(self.profile, peer_id, update.max_id, False, update.still_unread_count, now)
            outbox = isinstance(update, types.UpdateReadHistoryOutbox)
            unread = None if outbox else update.still_unread_count
            return ReadReceipt(self.profile, utils.get_peer_id(update.peer), update.max_id, outbox, unread, now)

        await self._guarded(work)

    # -- checkpoints -------------------------------------------------------------------------------------------

    def snapshot(self) -> tuple[StoredState, ...] | None:
        """The MessageBox state, or None while an update it covers may not have reached the sink yet."""
        client: Any = self.client
        if self._inflight or client._event_handler_tasks:
            return None
        box = client._message_box
        if box.is_empty():
            return None
        account, channels = box.session_state()
        if not account["pts"]:
            return None
        date = account["date"]
        states = [
            StoredState(
                0,
                account["pts"],
                account["qts"] or 0,
                int(date.timestamp()) if isinstance(date, datetime) else int(date or 0),
                account["seq"] or 0,
            )
        ]
        for channel_id, pts in sorted(channels.items()):
            entity = client._mb_entity_cache.get(channel_id)
            states.append(StoredState(channel_id, pts, access_hash=entity.hash if entity is not None else None))
        return tuple(states)

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            if not self.client.is_connected():
                return
            states = self.snapshot()
            if states is None or states == self._last:
                continue
            self._last = states
            await self._sink(Checkpoint(self.profile, states, asyncio.get_running_loop().time()))


def load_update_state(client: TelegramClient, states: list[StoredState]) -> None:
    """Seed a not yet connected client's session with stored state, so `connect()` resumes from it."""
    session: Any = client.session
    for state in states:
        if state.entity_id == 0:
            moment = datetime.fromtimestamp(state.date, UTC)
            session.set_update_state(0, types.updates.State(state.pts, state.qts, moment, state.seq, unread_count=0))
        elif state.access_hash is not None:
            session.process_entities(
                types.contacts.ResolvedPeer(None, [types.InputPeerChannel(state.entity_id, state.access_hash)], [])
            )
            now = datetime.now(UTC)
            session.set_update_state(state.entity_id, types.updates.State(state.pts, 0, now, 0, unread_count=0))


@dataclass
class FeedRegistry:
    """The live feeds of this process, one per connected profile."""

    feeds: dict[UUID, UpdateFeed] = field(default_factory=dict)

    def replace(self, feed: UpdateFeed) -> None:
        old = self.feeds.pop(feed.profile.profile_id, None)
        if old is not None:
            old.stop()
        self.feeds[feed.profile.profile_id] = feed

    def stop_all(self) -> None:
        for feed in self.feeds.values():
            feed.stop()
        self.feeds.clear()
