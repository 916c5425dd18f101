"""The one vocabulary from Telegram to the writer: who a peer is, what a message says, which account is ours.

A Telethon object is normalised here once (`peer_info`, `message_info`, `account_info`); live updates, history
reads, sends and the command bus all carry these msgspec Structs, which the inbox writer maps to its stored
rows and the API to its schemas. Text that Telegram may fill with U+0000 is cleaned here, for every path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from telethon import types, utils

from app.telegram import internals
from app.telegram.entities import entities_json


class PeerInfo(msgspec.Struct, frozen=True):
    peer_id: int  # Telethon's marked id: users > 0, basic groups < 0, channels -100...
    kind: str  # user | group (basic) | supergroup | channel
    title: str | None = None
    username: str | None = None
    access_hash: int | None = None
    can_post: bool | None = None  # None: the entity did not say (see `can_post`)


class MessageContent(msgspec.Struct, frozen=True, kw_only=True):
    """What a message says, as every path carries it: declared once, here.

    A field added here is stored (a `messages` column of the same name; tests/domain/messages/test_message_fields.py
    checks that the model has one), returned by the stored inbox's API (`StoredMessage` extends this), by the
    channel posts API (`ChannelMessageOut` extends this) and by Telegram reads (`MessageInfo`). `EDITABLE_FIELDS`
    and `EVENT_FIELDS` below say whether an edit changes it and whether `message.*` events carry it.
    """

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


class MessageInfo(MessageContent, frozen=True, kw_only=True):
    """A message as Telegram has it: its id in its chat, whether the account sent it, and what it says."""

    id: int
    out: bool


CONTENT_FIELDS: tuple[str, ...] = MessageContent.__struct_fields__  # each stored in the column of its name
# What an edit replaces on the stored row. An edit is recorded when one of them other than `EDIT_FOLLOWERS`
# (details that follow another field: the flag follows the text, media details follow the media type) or the
# edit date changed.
EDITABLE_FIELDS: tuple[str, ...] = ("text", "text_sanitized", "media_type", "media", "entities")
EDIT_FOLLOWERS: frozenset[str] = frozenset({"text_sanitized", "media"})
# What `message.*` events carry of a message, in this order (dates as ISO 8601).
EVENT_FIELDS: tuple[str, ...] = ("sender_id", "sender_name", "text", "entities", "media_type", "media", "date")


class AccountInfo(msgspec.Struct, frozen=True):
    """The Telegram account a session is logged in as."""

    id: int
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


NUL_REPLACEMENT = "\ufffd"
SERVICE = "service"  # the media_type of a service message (a join, a pin, a title change...)


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


def marked_channel_id(channel_id: int) -> int:
    """The marked id (-100…, as stored chats and updates name a channel) of a bare channel id (as its entity has it)."""
    return utils.get_peer_id(types.PeerChannel(channel_id))


def bare_id(peer_id: int) -> int:
    """The bare id (as export lines and entities carry it) of a marked peer id."""
    return int(utils.resolve_id(peer_id)[0])


def better_kind(stored: str, seen: str) -> str:
    """The kind to keep: an entity that says "supergroup" corrects a "channel" guessed from a bare -100 id (or a
    "group" from before supergroups had a kind of their own)."""
    return seen if seen == "supergroup" and stored in ("channel", "group") else stored


def peer_info(entity: Any, peer_id: int | None = None) -> PeerInfo:
    """Describe a Telethon entity (User, Chat, Channel); an unknown entity (None) keeps just `peer_id`."""
    if entity is None:
        assert peer_id is not None
        return PeerInfo(peer_id=peer_id, kind=kind_of_peer_id(peer_id))
    title = utils.get_display_name(entity) or None
    return PeerInfo(
        peer_id=utils.get_peer_id(entity) if peer_id is None else peer_id,
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


# The one shape of a message's media metadata (every path: inbox, channel posts, archives, events). A file's keys
# are always present (None when Telegram does not say); geo, contact and web page media add theirs.
MEDIA_FILE_KEYS: tuple[str, ...] = (
    "type",
    "mime_type",
    "size",
    "file_name",
    "width",
    "height",
    "duration",
    "has_thumbnail",
)


def media_of(media: Any) -> tuple[str | None, dict[str, Any] | None]:
    """The media type and its metadata (no download), in the shape of `MEDIA_FILE_KEYS`."""
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return None, None
    kind = _MEDIA_TYPES.get(type(media), type(media).__name__.removeprefix("MessageMedia").lower())
    meta: dict[str, Any] = dict.fromkeys(MEDIA_FILE_KEYS)
    meta["has_thumbnail"] = False
    document = getattr(media, "document", None)
    if isinstance(document, types.Document):
        meta.update(id=document.id, mime_type=document.mime_type, size=document.size)
        meta["has_thumbnail"] = bool(document.thumbs)
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
            elif isinstance(attribute, types.DocumentAttributeImageSize):
                meta.update(width=attribute.w, height=attribute.h)
    photo = getattr(media, "photo", None)
    if isinstance(photo, types.Photo):
        sized = [size for size in photo.sizes if isinstance(size, types.PhotoSize | types.PhotoSizeProgressive)]
        largest = max(sized, key=lambda size: size.w * size.h, default=None)
        meta.update(id=photo.id, mime_type="image/jpeg", has_thumbnail=len(photo.sizes) > 1)
        if largest is not None:
            size = largest.size if isinstance(largest, types.PhotoSize) else max(largest.sizes)
            meta.update(width=largest.w, height=largest.h, size=size)
    if isinstance(media, types.MessageMediaGeo) and isinstance(media.geo, types.GeoPoint):
        meta.update(lat=media.geo.lat, long=media.geo.long)
    if isinstance(media, types.MessageMediaContact):
        meta.update(phone=media.phone_number, first_name=media.first_name, user_id=media.user_id)
    if isinstance(media, types.MessageMediaWebPage) and isinstance(media.webpage, types.WebPage):
        meta.update(url=media.webpage.url, title=media.webpage.title)
    meta["type"] = kind
    return kind, meta


def service_details(action: Any) -> dict[str, Any]:
    """A service message's action (a join, a pin, a title change, an upgrade...) as JSON: its TL name and plain
    arguments, e.g. {"action": "MessageActionChatAddUser", "users": [42]} or
    {"action": "MessageActionChatMigrateTo", "channel_id": 7} (nested objects such as photos are left out)."""
    details: dict[str, Any] = {"action": type(action).__name__}
    for key, value in action.to_dict().items():
        if key == "_":
            continue
        if isinstance(value, str):
            details[key] = without_nul(value)
        elif isinstance(value, bool | int | float) or (
            isinstance(value, list) and all(isinstance(item, int) for item in value)
        ):
            details[key] = value
    return details


def migration_of(chat: PeerInfo, record: MessageInfo) -> tuple[int, int] | None:
    """(the basic group's marked id, the supergroup's marked id) when `record`, a message of `chat`, tells of an
    upgrade (messageActionChatMigrateTo in the group, messageActionChannelMigrateFrom in the supergroup)."""
    if record.media_type != SERVICE or not record.media:
        return None
    action, media = record.media.get("action"), record.media
    if action == "MessageActionChatMigrateTo" and isinstance(media.get("channel_id"), int):
        return chat.peer_id, marked_channel_id(media["channel_id"])
    if action == "MessageActionChannelMigrateFrom" and isinstance(media.get("chat_id"), int):
        return -int(media["chat_id"]), chat.peer_id
    return None


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def message_info(message: Any) -> MessageInfo:
    """Normalise a Telethon custom Message (from an event or from get_messages)."""
    sender = internals.cached_sender(message)
    media_type, media = media_of(getattr(message, "media", None))
    media = _clean_media(media)
    if isinstance(message, types.MessageService):
        media_type, media = SERVICE, service_details(message.action)
    reply = message.reply_to
    text = getattr(message, "message", None) or ""
    return MessageInfo(
        id=message.id,
        out=bool(message.out),
        date=utc(message.date) or datetime.now(UTC),
        text=without_nul(text),
        text_sanitized="\x00" in text,
        sender_id=message.sender_id,
        sender_name=_clean(utils.get_display_name(sender) or None) if sender is not None else None,
        media_type=media_type,
        media=media,
        edit_date=utc(getattr(message, "edit_date", None)),
        reply_to=getattr(reply, "reply_to_msg_id", None),
        entities=entities_json(getattr(message, "entities", None)),
    )


def account_info(user: types.User) -> AccountInfo:
    return AccountInfo(
        id=user.id, username=user.username, first_name=user.first_name, last_name=user.last_name, phone=user.phone
    )
