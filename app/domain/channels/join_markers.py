"""Durable join markers: which joins this service asked Telegram for and has not recorded yet.

A join is two steps that cannot share a transaction: Telegram's `channels.joinChannel` /
`messages.importChatInvite`, then the commit that records the monitor. When the process dies between them,
a retry finds the profile a member already and would record `was_member=true`, so removing the monitor would
never leave. A marker committed before the join call closes that window: a retry that finds its marker knows the
membership is ours. The marker goes with the commit that records the monitor, when the join definitely failed,
or when Telegram says the profile was a member before any attempt of ours.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import ChannelJoinMarker
from app.telegram.channels import ChannelRef


def ref_key(ref: ChannelRef) -> str:
    """The channel as the caller named it (a retry names it the same way)."""
    if ref.invite_hash is not None:
        return f"i:{ref.invite_hash}"[:200]
    if ref.username is not None:
        return f"u:{ref.username.lower()}"
    return f"p:{ref.peer_id}"


async def mark(sessionmaker: async_sessionmaker[AsyncSession], profile_id: UUID, ref: ChannelRef) -> bool:
    """Commit a marker for this join attempt; returns whether an earlier attempt left one."""
    key = ref_key(ref)
    async with sessionmaker.begin() as session:
        found = await session.scalar(
            select(ChannelJoinMarker.id).where(
                ChannelJoinMarker.profile_id == profile_id, ChannelJoinMarker.ref_key == key
            )
        )
        if found is not None:
            return True
    try:
        async with sessionmaker.begin() as session:
            session.add(ChannelJoinMarker(profile_id=profile_id, ref_key=key))
    except IntegrityError:
        return True  # a concurrent attempt marked it first
    return False


async def clear(session: AsyncSession, profile_id: UUID, ref: ChannelRef) -> None:
    """Drop the marker inside the caller's unit of work (the one that records the monitor)."""
    await session.execute(
        delete(ChannelJoinMarker).where(
            ChannelJoinMarker.profile_id == profile_id, ChannelJoinMarker.ref_key == ref_key(ref)
        )
    )


async def clear_now(sessionmaker: async_sessionmaker[AsyncSession], profile_id: UUID, ref: ChannelRef) -> None:
    """Drop the marker in its own unit of work (the join failed, or joined nothing)."""
    async with sessionmaker.begin() as session:
        await clear(session, profile_id, ref)
