"""Which stored chats are a monitored channel: the event context of `message.*` events, answered by channels.

Channels build on messages (their posts are stored by the inbox writer, backfills through the same upserts),
so messages do not import channels: the channels room's answer is handed over once at start-up by the server
(`connect_rooms`). It runs inside the caller's transaction, exactly as a direct call would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.messages.rows import ChatLike


class ChannelContexts(Protocol):
    """Event context (`channel_id`, `channel`) by chat id for the chats that are a monitored channel; one query."""

    async def __call__(self, session: AsyncSession, chats: Iterable[ChatLike], /) -> dict[UUID, dict[str, Any]]: ...


_connected: list[ChannelContexts] = []


def connect_channel_contexts(contexts: ChannelContexts) -> None:
    """Hand over the channels room's answer (idempotent: every app of a process hands over the same one)."""
    _connected[:] = [contexts]


async def channel_contexts(session: AsyncSession, chats: Iterable[ChatLike]) -> dict[UUID, dict[str, Any]]:
    if not _connected:
        raise RuntimeError("messages are not connected to channels: the server's connect_rooms() runs at start-up")
    return await _connected[0](session, chats)
