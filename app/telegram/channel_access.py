"""Noticing that a profile lost a channel it listens to: kicked, banned, or the channel deleted.

Telegram tells a member with `updateChannel` (and shows the channel as `channelForbidden`, or with `left` set);
nothing else arrives, the posts just stop. Each profile's client gets a handler for `updateChannel`; for a
channel the profile monitors, it asks `channels.getChannels` what the profile may still see and reports a loss.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from telethon import TelegramClient, errors, events, functions, types, utils

from app.lib.logging import log_event
from app.telegram.runtime_contract import ProfileCredentials

REMOVED = "the profile was removed from the channel"
FORBIDDEN = "the channel is forbidden to the profile (banned from it, or the channel was deleted)"
INVALID = "Telegram no longer knows the channel (deleted)"

Monitored = Callable[[UUID, int], Awaitable[bool]]  # (profile, marked id) -> whether the profile monitors it
Lost = Callable[[UUID, int, str], Awaitable[None]]  # (profile, marked id, reason)


async def lost_reason(client: TelegramClient, peer_id: int) -> str | None:
    """Why the account can no longer read the channel, or None while it still can (or when it cannot tell).

    Only the account's own access hash is used (the updateChannel that started this put it in the client's
    cache): hashes are per account, and another account's would make any channel look unknown.
    """
    real_id, _ = utils.resolve_id(peer_id)
    try:
        cached = await client.get_input_entity(peer_id)
    except ValueError:
        return None
    access_hash = getattr(cached, "access_hash", None)
    if access_hash is None:
        return None
    try:
        found = await client(functions.channels.GetChannelsRequest([types.InputChannel(real_id, access_hash)]))
    except errors.ChannelPrivateError:
        return FORBIDDEN
    except errors.ChannelInvalidError:
        return INVALID
    chat = found.chats[0] if found.chats else None
    if isinstance(chat, types.ChannelForbidden):
        return FORBIDDEN
    if isinstance(chat, types.Channel) and chat.left:
        return REMOVED
    return None


class ChannelAccessWatch:
    """A runtime prepare hook: each client reports lost monitored channels to `lost`."""

    def __init__(self, monitored: Monitored, lost: Lost) -> None:
        self._monitored = monitored
        self._lost = lost
        self._checks: set[asyncio.Task[None]] = set()

    async def prepare(self, credentials: ProfileCredentials, client: TelegramClient) -> None:
        handler = functools.partial(self._on_update, credentials.profile_id, client)
        client.add_event_handler(handler, events.Raw(types.UpdateChannel))

    async def _on_update(self, profile_id: UUID, client: TelegramClient, update: Any) -> None:
        # Checked in a task of its own: updates are dispatched one at a time and must not wait for Telegram.
        task = asyncio.create_task(self._check(profile_id, client, update.channel_id))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _check(self, profile_id: UUID, client: TelegramClient, channel_id: int) -> None:
        peer_id = utils.get_peer_id(types.PeerChannel(channel_id))
        try:
            if not await self._monitored(profile_id, peer_id):
                return
            reason = await lost_reason(client, peer_id)
            if reason is not None:
                await self._lost(profile_id, peer_id, reason)
        except Exception as exc:  # the next updateChannel or failover sweep tries again
            log_event(
                "warning",
                "channels",
                "channel.access_check_failed",
                f"could not check access to a channel: {type(exc).__name__}",
                profile_id=profile_id,
                context={"telegram_id": peer_id},
            )
