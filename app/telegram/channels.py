"""Channel actions on a live client: resolve (@username, t.me link, invite link, numeric id), join, leave, history.

Telegram's refusals become precise 4xx errors (the mapping is documented in README "Channels"):
CHANNEL_PRIVATE / USER_BANNED_IN_CHANNEL -> 403, unknown channel or INVITE_HASH_INVALID -> 404,
CHANNELS_TOO_MUCH / INVITE_REQUEST_SENT / INVITE_WEBVIEW_REQUIRED -> 409, INVITE_HASH_EXPIRED -> 410,
FLOOD_WAIT -> 429.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from telethon import TelegramClient, errors, functions, types, utils

from app.lib.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from app.lib.json_input import fits_int64
from app.lib.logging import log_event
from app.telegram.errors import app_error
from app.telegram.peers import PeerRecord

# Resolves a username for the profile whose client is used (cached and paced: app.telegram.lookups).
UsernameResolver = Callable[[str], Awaitable[PeerRecord]]

_INVITE = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:\+|joinchat/)([A-Za-z0-9_-]+)/?$",
    re.IGNORECASE,
)
_LINK = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?@?([A-Za-z][A-Za-z0-9_]{3,31})(?:/\d+)?/?$",
    re.IGNORECASE,
)
_USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
_NUMERIC = re.compile(r"^-?\d+$")


class ChannelRef(msgspec.Struct, frozen=True):
    """What the caller named: exactly one of username, invite hash or marked peer id."""

    username: str | None = None
    invite_hash: str | None = None
    peer_id: int | None = None


class ChannelInfo(msgspec.Struct, frozen=True):
    peer_id: int  # marked (-100...)
    access_hash: int | None
    title: str | None
    username: str | None
    description: str | None
    member_count: int | None
    was_member: bool  # the profile was a member before this call (nothing was joined)


def parse_channel(value: str | int) -> ChannelRef:
    """@username, username, t.me/name, t.me/+hash, t.me/joinchat/hash, -100123 or 123 (a bare channel id)."""
    if isinstance(value, int):
        return ChannelRef(peer_id=_marked(value))
    text = value.strip()
    if _NUMERIC.match(text):
        return ChannelRef(peer_id=_marked(int(text)))
    invite = _INVITE.match(text)
    if invite:
        return ChannelRef(invite_hash=invite.group(1))
    link = _LINK.match(text) or _USERNAME.match(text)
    if link:
        return ChannelRef(username=link.group(1).lower())
    raise ValidationFailed(
        "channel must be an @username, a t.me link, an invite link or a numeric id",
        code="channel_invalid",
        details=[{"field": "channel"}],
    )


def _marked(number: int) -> int:
    """Channel ids are accepted bare (123) or marked (-100123); either must fit Telegram's 64-bit ids."""
    marked = utils.get_peer_id(types.PeerChannel(number)) if 0 < number <= 2**63 else number
    if not fits_int64(marked):
        raise ValidationFailed("a numeric channel id must fit in 64 bits", details=[{"field": "channel"}])
    return marked


def join_error(exc: Exception) -> AppError:
    """A join/resolve refusal as the API's precise 4xx (the `join` rows of app.telegram.errors)."""
    return app_error(exc, "join")


async def _resolve(client: TelegramClient, ref: ChannelRef, resolve_username: UsernameResolver) -> Any:
    """The channel entity, addressed with this profile's own access hash (never 0, never another account's)."""
    if ref.username is not None:
        record = await resolve_username(ref.username)
        if record.kind == "user":
            raise NotFound("this is not a channel", code="not_a_channel")
        peer = record.input_peer()
    else:
        assert ref.peer_id is not None
        peer = await input_channel(client, ref.peer_id)
    found = await client(functions.channels.GetChannelsRequest([utils.get_input_channel(peer)]))
    return found.chats[0]


async def _join_by_invite(client: TelegramClient, invite_hash: str) -> tuple[Any, bool]:
    """The channel behind an invite link and whether the account was a member; imports the link when not."""
    invite = await client(functions.messages.CheckChatInviteRequest(invite_hash))
    if isinstance(invite, types.ChatInviteAlready):
        return invite.chat, True
    try:
        result = await client(functions.messages.ImportChatInviteRequest(invite_hash))
    except errors.UserAlreadyParticipantError:
        # Joined between the check and the import (by another call or another app): a member, not our join.
        again = await client(functions.messages.CheckChatInviteRequest(invite_hash))
        if isinstance(again, types.ChatInviteAlready):
            return again.chat, True
        raise
    return _joined_channel(result), False


def _joined_channel(result: Any) -> Any:
    """The channel from a join answer: messages.ChatInviteJoinResult at the pinned layer (Updates before it)."""
    if isinstance(result, types.messages.ChatInviteJoinResultWebView):
        raise Conflict("joining needs a confirmation in a bot's web view", code="INVITE_WEBVIEW_REQUIRED")
    updates = result.updates if isinstance(result, types.messages.ChatInviteJoinResultOk) else result
    channels = [chat for chat in getattr(updates, "chats", []) if isinstance(chat, types.Channel)]
    if not channels:
        raise NotFound("the invite link does not lead to a channel", code="not_a_channel")
    return channels[0]


async def _entity_and_membership(
    client: TelegramClient, ref: ChannelRef, resolve_username: UsernameResolver
) -> tuple[Any, bool]:
    """The channel entity and whether the account is (now) a member; joins when it is not."""
    if ref.invite_hash is not None:
        return await _join_by_invite(client, ref.invite_hash)
    entity = await _resolve(client, ref, resolve_username)
    if isinstance(entity, types.ChannelForbidden):
        raise Forbidden("the channel is private or the profile is banned from it", code="CHANNEL_PRIVATE")
    if not isinstance(entity, types.Channel):
        raise NotFound("this is not a channel", code="not_a_channel")
    if not entity.left:
        return entity, True
    return _joined_channel(await client(functions.channels.JoinChannelRequest(entity))), False


async def join(client: TelegramClient, ref: ChannelRef, resolve_username: UsernameResolver) -> ChannelInfo:
    """Join (or confirm membership of) a channel and read its metadata.

    Once the join itself succeeded the answer reports it even when reading the metadata fails: a refusal then
    would make the caller retry, see a member, and record `was_member=true`, so removing the monitor would never
    leave the channel the service joined.
    """
    try:
        entity, was_member = await _entity_and_membership(client, ref, resolve_username)
    except AppError:
        raise
    except Exception as exc:
        raise join_error(exc) from None
    chat: Any = None
    try:
        chat = (await client(functions.channels.GetFullChannelRequest(entity))).full_chat
    except Exception as exc:
        if was_member:
            raise join_error(exc) from None
        log_event(
            "warning",
            "channels",
            "channel.details_unavailable",
            f"joined the channel but could not read its details: {type(exc).__name__}",
            context={"telegram_id": utils.get_peer_id(entity)},
        )
    return ChannelInfo(
        peer_id=utils.get_peer_id(entity),
        access_hash=getattr(entity, "access_hash", None),
        title=getattr(entity, "title", None),
        username=getattr(entity, "username", None),
        description=getattr(chat, "about", None) or None,
        member_count=getattr(chat, "participants_count", None) or getattr(entity, "participants_count", None),
        was_member=was_member,
    )


async def input_channel(client: TelegramClient, peer_id: int) -> Any:
    """The channel as this profile may address it: from its peers, else from its own dialogs (a common dialog)."""
    try:
        return await client.get_input_entity(peer_id)
    except ValueError:
        pass
    async for dialog in client.iter_dialogs():
        if dialog.id == peer_id:
            return dialog.input_entity
    raise NotFound("channel not found: this profile has never seen it", code="channel_not_found")


async def leave(client: TelegramClient, peer_id: int) -> bool:
    """Leave the channel; False when the account was not a member (nothing to do)."""
    try:
        await client(functions.channels.LeaveChannelRequest(await input_channel(client, peer_id)))
    except errors.UserNotParticipantError:
        return False
    except Exception as exc:
        raise join_error(exc) from None
    return True


async def messages_after(client: TelegramClient, peer_id: int, *, min_id: int, limit: int) -> list[Any]:
    """The newest `limit` messages with ids above `min_id`, oldest first."""
    try:
        entity = await input_channel(client, peer_id)
        found = [
            m
            async for m in client.iter_messages(entity, limit=limit, min_id=min_id)
            if not isinstance(m, types.MessageEmpty)
        ]
    except Exception as exc:
        raise join_error(exc) from None
    found.reverse()
    return found
