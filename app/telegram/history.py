"""Reading channels for exports: the channels a profile can read, resolving a channel, ascending history pages.

Pages are read with raw `messages.getHistory` calls (Telethon's own paging for `reverse=True`) so that a flood wait
surfaces at once as `FloodWait` instead of being slept through inside an iterator: the caller shows the pause.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telethon import TelegramClient, errors, functions, types, utils

from app.lib.errors import NotFound
from app.telegram.errors import refusal
from app.telegram.peers import PeerRecord
from app.telegram.records import MEDIA_FILE_KEYS, SERVICE, message_info

MAX_PAGE = 100
_LINK = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me)/(?:s/)?([A-Za-z0-9_]{4,64})/?$")


class FloodWait(Exception):
    """Telegram asked to wait `seconds` before the next call."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"FLOOD_WAIT {seconds} s")
        self.seconds = seconds


class HistoryUnavailable(Exception):
    """The channel cannot be read by this profile any more (private, banned, deleted)."""


@dataclass(frozen=True, slots=True)
class ReadableChannel:
    id: int
    access_hash: int | None
    title: str
    username: str | None
    member_count: int | None
    is_member: bool
    kind: str  # channel | megagroup | group

    @property
    def private(self) -> bool:
        return self.username is None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One exported message: its JSON-ready record and the Telethon object (for media downloads)."""

    id: int
    date: datetime
    record: dict[str, Any]
    raw: types.Message | types.MessageService


def _describe(entity: Any) -> ReadableChannel | None:
    if isinstance(entity, types.Channel):
        return ReadableChannel(
            id=entity.id,
            access_hash=entity.access_hash,
            title=entity.title,
            username=entity.username,
            member_count=entity.participants_count,
            is_member=not entity.left,
            kind="channel" if entity.broadcast else "megagroup",
        )
    if isinstance(entity, types.Chat):
        return ReadableChannel(
            id=entity.id,
            access_hash=None,
            title=entity.title,
            username=None,
            member_count=entity.participants_count,
            is_member=not entity.left and not entity.deactivated,
            kind="group",
        )
    return None


async def readable_channels(client: TelegramClient) -> list[ReadableChannel]:
    """Channels and groups among the profile's dialogs."""
    found: list[ReadableChannel] = []
    async for dialog in client.iter_dialogs():
        described = _describe(dialog.entity)
        if described is not None:
            found.append(described)
    return found


def _reference(ref: str) -> str | int:
    ref = ref.strip()
    link = _LINK.match(ref)
    if link:
        return link.group(1)
    if re.fullmatch(r"-?\d+", ref):
        number = int(ref)
        # Bot-API style ids (-100...) name channels too.
        return utils.resolve_id(number)[0] if number < 0 else number
    return ref.removeprefix("@")


async def resolve_channel(
    client: TelegramClient, ref: str, resolve_username: Callable[[str], Awaitable[PeerRecord]] | None = None
) -> ReadableChannel:
    """A channel by @username, t.me link or numeric id (ids are looked up among the dialogs first).

    `resolve_username` (cached and paced, app.telegram.lookups) spares a `contacts.resolveUsername` per call.
    """
    key = _reference(ref)
    entity: Any = None
    try:
        if isinstance(key, int):
            for known in await readable_channels(client):
                if known.id == key:
                    return known
            entity = await client.get_entity(types.PeerChannel(key))
        elif resolve_username is not None:
            entity = await client.get_entity((await resolve_username(key)).input_peer())
        else:
            entity = await client.get_entity(key)
    except Exception as exc:
        refused = refusal(exc, "channel")
        if refused is None:
            raise
        raise refused from None
    described = _describe(entity)
    if described is None:
        raise NotFound("no channel or group has this name", code="channel_not_found")
    return described


def input_peer(
    channel_id: int, access_hash: int | None, *, basic_group: bool = False
) -> types.InputPeerChannel | types.InputPeerChat:
    """The peer to read: a channel or supergroup with its access hash, or a basic group (which has none)."""
    if basic_group:
        return types.InputPeerChat(channel_id)
    return types.InputPeerChannel(channel_id, access_hash or 0)


async def read_after(
    client: TelegramClient,
    peer: types.TypeInputPeer,
    *,
    after_id: int,
    since: datetime | None = None,
    limit: int = MAX_PAGE,
) -> list[HistoryItem]:
    """Up to `limit` messages with ids above `after_id`, oldest first (from `since` when starting at 0)."""
    limit = max(1, min(limit, MAX_PAGE))
    from_date = since if after_id == 0 and since is not None else None
    request = functions.messages.GetHistoryRequest(
        peer=peer,
        offset_id=0 if from_date is not None else after_id + 1,
        offset_date=from_date,
        add_offset=-limit,
        limit=limit,
        max_id=0,
        min_id=after_id,
        hash=0,
    )
    try:
        result = await client(request, flood_sleep_threshold=0)
    except errors.FloodWaitError as exc:
        raise FloodWait(exc.seconds) from None
    except (
        errors.ChannelPrivateError,
        errors.ChannelInvalidError,
        errors.ChannelBannedError,
        errors.PeerIdInvalidError,
        errors.ChatIdInvalidError,
    ) as exc:
        raise HistoryUnavailable(f"Telegram answered {type(exc).__name__}") from None
    items = [history_item(message, peer) for message in getattr(result, "messages", [])]
    return sorted((i for i in items if i is not None and i.id > after_id), key=lambda i: i.id)


def _peer_id(peer: Any) -> int | None:
    if peer is None:
        return None
    return int(utils.get_peer_id(peer, add_mark=False))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def archive_record(
    *,
    id: int,
    channel_id: int | None,
    date: datetime | None,
    text: str,
    sender_id: int | None,
    media_type: str | None,
    media: dict[str, Any] | None = None,
    edit_date: datetime | None = None,
    reply_to: int | None = None,
    deleted_at: datetime | None = None,
    is_deleted: bool = False,
    post_author: str | None = None,
    views: int | None = None,
    forwards: int | None = None,
    grouped_id: int | None = None,
    pinned: bool = False,
    service_action: str | None = None,
) -> dict[str, Any]:
    """One line of an export: the one shape of both Telegram's messages and the stored deleted ones.

    `media_type` is the one classification of app.telegram.records (`media_of`); a service message's
    (`service`) has no media: `service_action` names its action. `sender_id` is the bare id of the sender
    Telegram names (none for a channel's own posts).
    """
    service = media_type == SERVICE
    return {
        "id": id,
        "channel_id": channel_id,
        "date": _iso(date),
        "edit_date": _iso(edit_date),
        "is_edited": edit_date is not None,
        "is_deleted": is_deleted,
        "deleted_at": _iso(deleted_at),
        "text": text,
        "sender_id": sender_id,
        "post_author": post_author,
        "reply_to": reply_to,
        "views": views,
        "forwards": forwards,
        "grouped_id": grouped_id,
        "pinned": pinned,
        "service_action": service_action,
        "media": _media_shape(media_type, media) if media_type and not service else None,
    }


def _media_shape(media_type: str, media: dict[str, Any] | None) -> dict[str, Any]:
    """The message's media metadata as every path has it (`records.media_of`); rows stored before it was
    complete get its keys with None."""
    shape: dict[str, Any] = dict.fromkeys(MEDIA_FILE_KEYS)
    shape["has_thumbnail"] = False
    shape.update(media or {})
    shape["type"] = media_type
    return shape


def history_item(message: Any, peer: Any) -> HistoryItem | None:
    """An export item of a raw history message (None for an empty one)."""
    if not isinstance(message, types.Message | types.MessageService):
        return None
    info = message_info(message)
    service = isinstance(message, types.MessageService)
    record = archive_record(
        id=info.id,
        channel_id=getattr(peer, "channel_id", None) or _peer_id(message.peer_id),
        date=info.date,
        edit_date=info.edit_date,
        text=info.text,
        sender_id=_peer_id(message.from_id),
        reply_to=info.reply_to,
        media_type=info.media_type,
        media=info.media,
        post_author=None if service else message.post_author,
        views=None if service else message.views,
        forwards=None if service else message.forwards,
        grouped_id=None if service else message.grouped_id,
        pinned=bool(message.pinned),
        service_action=type(message.action).__name__ if service else None,
    )
    return HistoryItem(id=info.id, date=info.date, record=record, raw=message)


async def download_media(client: TelegramClient, item: HistoryItem) -> tuple[bytes, str] | None:
    """The message's media as bytes and a file name (`<id><ext>`), or None when it has nothing downloadable."""
    if isinstance(item.raw, types.MessageService) or item.raw.media is None:
        return None
    try:
        data = await client.download_media(item.raw, file=bytes)
    except errors.FloodWaitError as exc:
        raise FloodWait(exc.seconds) from None
    if not isinstance(data, bytes):
        return None
    return data, f"{item.id}{utils.get_extension(item.raw.media) or '.bin'}"
