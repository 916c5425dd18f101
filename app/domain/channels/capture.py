"""Channel capture on top of the inbox ingest: channel context for message events, backfill and gap catch-up.

Posts of a monitored channel are stored by the inbox writer in the assigned profile's chat with that channel
(one row per (chat, Telegram message id)); nothing here writes a second copy. The store asks
`channel_contexts()` which chats belong to a monitored channel, so `message.received/edited/deleted` of those
chats carry `channel_id` and `channel`. Backfill (after adding) and catch-up (after a failover) fetch history
through the assigned profile and store it through the same upserts, so a post seen twice is stored once.
The messages store reaches `channel_contexts()` through the hook the server connects at start-up
(`app.domain.messages.channel_context`), since messages do not import channels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import CHANNEL_BOX_KINDS, Channel, ChannelStatus, Chat, ChatKind, Message, TelegramProfile
from app.db.shielded import ShieldedTransactions
from app.domain.messages import bulk_store
from app.domain.messages.rows import ChatLike
from app.lib.logging import log_event
from app.telegram.commands import ProfileCommands
from app.telegram.records import PeerInfo
from app.telegram.updates import NewMessage, ProfileRef

CAPTURING = (ChannelStatus.ACTIVE.value, ChannelStatus.PAUSED.value)


def channel_payload(channel: Channel) -> dict[str, Any]:
    return {
        "id": str(channel.id),
        "telegram_id": channel.peer_id,
        "title": channel.title,
        "username": channel.username,
        "assigned_profile_id": str(channel.assigned_profile_id) if channel.assigned_profile_id else None,
    }


async def channel_contexts(session: AsyncSession, chats: Iterable[ChatLike]) -> dict[UUID, dict[str, Any]]:
    """Event context for chats that are a monitored channel or supergroup of their profile (by chat id); one query.

    Only the assigned profile's chat counts: another member profile's copy stays a plain inbox message, so a
    post is announced with channel context once. `last_message_at` of the channel follows its chat.
    """
    wanted: dict[tuple[UUID, int], ChatLike] = {
        (chat.profile_id, chat.peer_id): chat
        for chat in chats
        if chat.kind in CHANNEL_BOX_KINDS and chat.profile_id is not None
    }
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Channel).where(
            Channel.assigned_profile_id.in_({key[0] for key in wanted}),
            Channel.peer_id.in_({key[1] for key in wanted}),
            Channel.status.in_(CAPTURING),
        )
    )
    contexts: dict[UUID, dict[str, Any]] = {}
    for channel in rows:
        if channel.assigned_profile_id is None:
            continue
        chat = wanted.get((channel.assigned_profile_id, channel.peer_id))
        if chat is None or chat.owner_id != channel.owner_id:
            continue
        moment = chat.last_message_at
        if moment is not None and (channel.last_message_at is None or channel.last_message_at < moment):
            channel.last_message_at = moment
        contexts[chat.id] = {"channel_id": str(channel.id), "channel": channel_payload(channel)}
    return contexts


async def newest_stored_id(session: AsyncSession, channel: Channel, profile_id: UUID | None = None) -> int:
    """The highest Telegram message id stored for the channel (under one profile, or under any)."""
    where = [Chat.owner_id == channel.owner_id, Chat.peer_id == channel.peer_id]
    if profile_id is not None:
        where.append(Chat.profile_id == profile_id)
    newest = await session.scalar(
        select(func.max(Message.telegram_message_id)).join(Chat, Chat.id == Message.chat_id).where(*where)
    )
    return int(newest or 0)


async def fetch_and_store(
    sessionmaker: async_sessionmaker[AsyncSession],
    commands: ProfileCommands,
    channel_id: UUID,
    *,
    min_id: int,
    limit: int,
    transactions: ShieldedTransactions | None = None,
) -> int:
    """Fetch the channel's messages above `min_id` through its assigned profile and store them; returns how many.

    Live updates may store the same posts meanwhile: the upserts skip what exists, and a unique-key race is
    retried (the retry finds the rows). A background service passes its `transactions`, so that stopping it
    never cuts the write short.
    """
    async with sessionmaker() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None or channel.assigned_profile_id is None:
            return 0
        profile = await session.get(TelegramProfile, channel.assigned_profile_id)
        if profile is None:
            return 0
        ref = ProfileRef(profile.id, profile.owner_id, profile.phone)
        kind = await session.scalar(
            select(Chat.kind).where(Chat.profile_id == profile.id, Chat.peer_id == channel.peer_id)
        )  # a supergroup's chat says so once an update named it; a bare id can only say "channel"
        peer_id, title, username = channel.peer_id, channel.title, channel.username
    if kind is None:  # the first read, before any update named the chat: ask Telegram what it is
        kind = await _kind_at_telegram(commands, ref.profile_id, peer_id)
    # No access hash: the channel row's may belong to the profile it was assigned to before (hashes are per
    # account); the assigned profile addresses the channel with its own (app.telegram.peers).
    chat = PeerInfo(peer_id, kind, title, username)
    messages = await commands.channel_messages(ref.profile_id, chat.peer_id, min_id=min_id, limit=limit)
    if not messages:
        return 0
    updates = [NewMessage(ref, chat, m, 0.0) for m in messages]
    for attempt in range(5):
        try:
            if transactions is not None:
                stored = await transactions.run(lambda session: bulk_store.record_new_many(session, updates))
            else:
                async with sessionmaker.begin() as session:
                    stored = await bulk_store.record_new_many(session, updates)
            return len(stored)
        except IntegrityError:
            await asyncio.sleep(0.05 * (attempt + 1))
    log_event(
        "error",
        "channels",
        "channel.catch_up_failed",
        "could not store fetched channel history",
        user_id=ref.owner_id,
        profile_id=ref.profile_id,
        context={"channel_id": str(channel_id)},
    )
    return 0


_KINDS = {"megagroup": ChatKind.SUPERGROUP.value, "group": ChatKind.GROUP.value}


async def _kind_at_telegram(commands: ProfileCommands, profile_id: UUID, peer_id: int) -> str:
    """`supergroup` or `channel`, as the profile's entity says (the live ingest may create the chat at the same
    moment: both must name it alike, or the first event says "channel" for a supergroup); a guess if unknown."""
    try:
        readable = await commands.resolve_channel(profile_id, str(peer_id))
    except Exception:  # the read below reports what is wrong with the profile or the channel
        return ChatKind.CHANNEL.value
    return _KINDS.get(readable.kind, ChatKind.CHANNEL.value)
