"""Channel-monitoring rules: which profile listens, adding and removing monitors.

Services never commit. Reading what the monitors stored is `app.domain.channels.posts` (re-exported here for
the controllers: `to_out_many`, `messages_page`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import (
    CHANNEL_BOX_KINDS,
    AssignmentStatus,
    Channel,
    ChannelAssignment,
    ChannelStatus,
    Chat,
    ProfileStatus,
    TelegramProfile,
)
from app.domain.channels.capture import CAPTURING, channel_payload
from app.domain.channels.posts import messages_page as messages_page  # re-exported for the controllers
from app.domain.channels.posts import to_out_many as to_out_many
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.lib.errors import AppError, Conflict, NotFound
from app.lib.logging import log_event
from app.telegram.channels import ChannelInfo, ChannelRef

# -- loads and eligibility -------------------------------------------------------------------------------------


async def channel_counts(session: AsyncSession, profile_ids: Sequence[UUID]) -> dict[UUID, int]:
    """How many monitored channels each profile listens to now."""
    if not profile_ids:
        return {}
    rows = await session.execute(
        select(Channel.assigned_profile_id, func.count(Channel.id))
        .where(Channel.assigned_profile_id.in_(profile_ids), Channel.status.in_(CAPTURING))
        .group_by(Channel.assigned_profile_id)
    )
    return {profile_id: int(count) for profile_id, count in rows.all() if profile_id is not None}


async def eligible_profiles(
    session: AsyncSession, owner_id: UUID, ref: ChannelRef | None, *, exclude: Sequence[UUID] = ()
) -> list[TelegramProfile]:
    """Active profiles under their `max_channels`: members of the channel first, then the least loaded."""
    profiles = [
        p
        for p in await session.scalars(
            select(TelegramProfile)
            .where(
                TelegramProfile.owner_id == owner_id,
                TelegramProfile.is_active.is_(True),
                TelegramProfile.status == ProfileStatus.ACTIVE.value,
            )
            .order_by(TelegramProfile.created_at)
        )
        if p.id not in exclude
    ]
    counts = await channel_counts(session, [p.id for p in profiles])
    members = await _member_profiles(session, owner_id, ref) if ref is not None else set()
    open_ = [p for p in profiles if counts.get(p.id, 0) < p.max_channels]
    return sorted(open_, key=lambda p: (p.id not in members, counts.get(p.id, 0)))


async def _member_profiles(session: AsyncSession, owner_id: UUID, ref: ChannelRef) -> set[UUID]:
    """Profiles whose stored inbox already has this channel (they receive its posts, so they are members)."""
    if ref.peer_id is not None:
        match = Chat.peer_id == ref.peer_id
    elif ref.username is not None:
        match = func.lower(Chat.username) == ref.username.lower()
    else:
        return set()
    rows = await session.scalars(
        select(Chat.profile_id).where(Chat.owner_id == owner_id, Chat.kind.in_(CHANNEL_BOX_KINDS), match)
    )
    return {r for r in rows if r is not None}


# -- lookups ---------------------------------------------------------------------------------------------------


async def get_owned(session: AsyncSession, owner_id: UUID, channel_id: UUID) -> Channel:
    channel = await session.get(Channel, channel_id)
    if channel is None or channel.owner_id != owner_id:
        raise NotFound("channel not found")
    return channel


async def find_monitored(session: AsyncSession, owner_id: UUID, ref: ChannelRef) -> Channel | None:
    if ref.peer_id is not None:
        where = Channel.peer_id == ref.peer_id
    elif ref.username is not None:
        where = func.lower(Channel.username) == ref.username.lower()
    else:
        return None
    return await session.scalar(select(Channel).where(Channel.owner_id == owner_id, where))


def already_monitored(channel: Channel) -> Conflict:
    return Conflict(
        "this channel is already monitored", code="channel_already_monitored", details={"id": str(channel.id)}
    )


# -- adding, assigning, removing -------------------------------------------------------------------------------


def open_assignment(channel: Channel, profile: TelegramProfile, *, joined: bool) -> ChannelAssignment:
    channel.assigned_profile_id = profile.id
    return ChannelAssignment(
        channel_id=channel.id,
        profile_id=profile.id,
        profile_phone=profile.phone,
        joined=joined,
        assigned_at=datetime.now(UTC),
        status=AssignmentStatus.ACTIVE.value,
    )


async def close_assignments(session: AsyncSession, channel: Channel, status: str, reason: str | None) -> None:
    rows = await session.scalars(
        select(ChannelAssignment).where(
            ChannelAssignment.channel_id == channel.id, ChannelAssignment.ended_at.is_(None)
        )
    )
    now = datetime.now(UTC)
    for row in rows:
        row.ended_at, row.status, row.reason = now, status, (reason or "")[:255] or None


async def create(session: AsyncSession, owner_id: UUID, profile: TelegramProfile, info: ChannelInfo) -> Channel:
    """Record a joined channel and its first assignment, with `channel.joined` (409 when it is monitored)."""
    existing = await find_monitored(session, owner_id, ChannelRef(peer_id=info.peer_id))
    if existing is not None:
        raise already_monitored(existing)
    channel = Channel(
        owner_id=owner_id,
        peer_id=info.peer_id,
        access_hash=info.access_hash,
        username=info.username,
        title=(info.title or "")[:255] or None,
        description=info.description,
        member_count=info.member_count,
        status=ChannelStatus.ACTIVE.value,
    )
    session.add(channel)
    await session.flush()
    session.add(open_assignment(channel, profile, joined=not info.was_member))
    await session.flush()
    await events.emit(
        session,
        user_id=owner_id,
        type=EventType.CHANNEL_JOINED,
        profile=profile.phone,
        data={**channel_payload(channel), "channel_id": str(channel.id), "was_member": info.was_member},
    )
    log_event(
        "info",
        "channels",
        "channel.joined",
        f"monitoring channel {channel.title or channel.peer_id}",
        user_id=owner_id,
        profile_id=profile.id,
        context={"channel_id": str(channel.id), "telegram_id": channel.peer_id},
    )
    return channel


async def resume(session: AsyncSession, channel: Channel, profile: TelegramProfile, info: ChannelInfo) -> Channel:
    """Monitor an orphaned channel again through `profile` (same id and history), with `channel.joined`."""
    await close_assignments(session, channel, AssignmentStatus.REASSIGNED.value, "monitoring resumed")
    channel.access_hash, channel.username = info.access_hash, info.username
    channel.title = (info.title or "")[:255] or channel.title
    channel.member_count = info.member_count
    channel.status, channel.status_reason = ChannelStatus.ACTIVE.value, None
    session.add(open_assignment(channel, profile, joined=not info.was_member))
    await session.flush()
    await events.emit(
        session,
        user_id=channel.owner_id,
        type=EventType.CHANNEL_JOINED,
        profile=profile.phone,
        data={
            **channel_payload(channel),
            "channel_id": str(channel.id),
            "was_member": info.was_member,
            "resumed": True,
        },
    )
    log_event(
        "info",
        "channels",
        "channel.resumed",
        f"monitoring channel {channel.title or channel.peer_id} again",
        user_id=channel.owner_id,
        profile_id=profile.id,
        context={"channel_id": str(channel.id), "telegram_id": channel.peer_id},
    )
    return channel


async def record_join_failure(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    owner_id: UUID,
    profile: TelegramProfile | None,
    channel: str,
    error: AppError,
) -> None:
    """`channel.join_failed` + `alert` and an error line, in their own unit of work (the request rolls back)."""
    text = f"channel {channel} cannot be joined: {error.message}"
    data = {
        "kind": "channel_join_failed",
        "channel": channel,
        "code": error.error_code,
        "status": error.status,
        "message": text,
        "profile_id": str(profile.id) if profile else None,
    }
    phone = profile.phone if profile else None
    log_event(
        "error",
        "channels",
        "channel.join_failed",
        text,
        user_id=owner_id,
        profile_id=profile.id if profile else None,
        context={"channel": channel, "code": error.error_code},
    )
    async with sessionmaker.begin() as session:
        await events.emit(session, user_id=owner_id, type=EventType.CHANNEL_JOIN_FAILED, profile=phone, data=data)
        await events.emit(session, user_id=owner_id, type=EventType.ALERT, profile=phone, data=data)


async def needs_leaving(session: AsyncSession, channel: Channel) -> bool:
    """Whether removing this monitor should leave the channel: we joined it and no other monitor uses it."""
    if channel.assigned_profile_id is None:
        return False
    joined = await session.scalar(
        select(ChannelAssignment.joined)
        .where(
            ChannelAssignment.channel_id == channel.id,
            ChannelAssignment.profile_id == channel.assigned_profile_id,
            ChannelAssignment.ended_at.is_(None),
        )
        .limit(1)
    )
    others = await session.scalar(
        select(func.count(Channel.id)).where(
            Channel.id != channel.id,
            Channel.peer_id == channel.peer_id,
            Channel.assigned_profile_id == channel.assigned_profile_id,
            Channel.status.in_(CAPTURING),
        )
    )
    return bool(joined) and not others


async def remove(session: AsyncSession, channel: Channel) -> None:
    """Stop monitoring: the channel row and its assignment history go; stored posts stay in the inbox."""
    log_event(
        "info",
        "channels",
        "channel.removed",
        f"stopped monitoring channel {channel.title or channel.peer_id}",
        user_id=channel.owner_id,
        profile_id=channel.assigned_profile_id,
        context={"channel_id": str(channel.id)},
    )
    await session.delete(channel)
    await session.flush()


async def list_owned(session: AsyncSession, owner_id: UUID) -> list[Channel]:
    rows = await session.scalars(select(Channel).where(Channel.owner_id == owner_id).order_by(Channel.created_at))
    return list(rows)
