"""Channel-monitoring rules: which profile listens, adding and removing monitors, and reading what they stored.

Services never commit. A channel's stored posts are the messages of its profiles' chats with the channel (one
chat per profile that ever listened to it, named by `channel_assignments`); a post kept by two of them is shown
once, preferring the copy of the profile assigned now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import (
    CHANNEL_BOX_KINDS,
    AssignmentStatus,
    Channel,
    ChannelAssignment,
    ChannelStatus,
    Chat,
    Message,
    MessageEdit,
    ProfileStatus,
    TelegramProfile,
)
from app.domain.channels.capture import CAPTURING, channel_payload
from app.domain.channels.schemas import (
    AssignmentOut,
    ChannelMessageOut,
    ChannelMessagePage,
    ChannelOut,
    EditOut,
)
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.lib.errors import AppError, Conflict, NotFound, ValidationFailed
from app.lib.json_input import INT32_MAX
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


# -- reading ---------------------------------------------------------------------------------------------------


async def message_stats(session: AsyncSession, channel_ids: Sequence[UUID]) -> dict[UUID, tuple[int, int]]:
    """(distinct posts, distinct deleted posts) per channel."""
    if not channel_ids:
        return {}
    tg_id = Message.telegram_message_id
    rows = await session.execute(
        select(
            Channel.id,
            func.count(func.distinct(tg_id)),
            func.count(func.distinct(case((Message.is_deleted.is_(True), tg_id), else_=None))),
        )
        .select_from(Channel)
        .join(ChannelAssignment, ChannelAssignment.channel_id == Channel.id)
        .join(
            Chat,
            and_(
                Chat.profile_id == ChannelAssignment.profile_id,
                Chat.owner_id == Channel.owner_id,
                Chat.peer_id == Channel.peer_id,
            ),
        )
        .join(Message, Message.chat_id == Chat.id)
        .where(Channel.id.in_(channel_ids))
        .group_by(Channel.id)
    )
    return {channel_id: (int(total), int(deleted)) for channel_id, total, deleted in rows.all()}


async def to_out_many(session: AsyncSession, channels: Sequence[Channel], *, detail: bool = False) -> list[ChannelOut]:
    stats = await message_stats(session, [c.id for c in channels])
    profile_ids = {c.assigned_profile_id for c in channels if c.assigned_profile_id is not None}
    phones: dict[UUID, str] = {}
    if profile_ids:
        rows = await session.execute(
            select(TelegramProfile.id, TelegramProfile.phone).where(TelegramProfile.id.in_(profile_ids))
        )
        phones = {row[0]: row[1] for row in rows.all()}
    history: dict[UUID, list[AssignmentOut]] = {}
    if detail:
        for row in await session.scalars(
            select(ChannelAssignment)
            .where(ChannelAssignment.channel_id.in_([c.id for c in channels]))
            .order_by(ChannelAssignment.assigned_at, ChannelAssignment.created_at)
        ):
            history.setdefault(row.channel_id, []).append(
                AssignmentOut(
                    profile_id=row.profile_id,
                    phone=row.profile_phone,
                    status=row.status,
                    assigned_at=row.assigned_at,
                    ended_at=row.ended_at,
                    reason=row.reason,
                    joined=row.joined,
                )
            )
    return [
        ChannelOut(
            id=c.id,
            telegram_id=c.peer_id,
            username=c.username,
            title=c.title,
            description=c.description,
            member_count=c.member_count,
            status=c.status,
            status_reason=c.status_reason,
            profile_id=c.assigned_profile_id,
            phone=phones.get(c.assigned_profile_id) if c.assigned_profile_id else None,
            last_message_at=c.last_message_at,
            message_count=stats.get(c.id, (0, 0))[0],
            deleted_count=stats.get(c.id, (0, 0))[1],
            created_at=c.created_at,
            assignments=history.get(c.id, []) if detail else None,
        )
        for c in channels
    ]


async def list_owned(session: AsyncSession, owner_id: UUID) -> list[Channel]:
    rows = await session.scalars(select(Channel).where(Channel.owner_id == owner_id).order_by(Channel.created_at))
    return list(rows)


def _cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed("cursor is not valid", details=[{"field": "cursor"}]) from None
    if not 0 < value <= INT32_MAX:  # a Telegram message id
        raise ValidationFailed("cursor is not valid", details=[{"field": "cursor"}])
    return value


async def messages_page(
    session: AsyncSession, channel: Channel, *, cursor: str | None, limit: int, include_deleted: bool
) -> ChannelMessagePage:
    """Newest first, one entry per Telegram message id, with previous texts; `next_cursor` continues older."""
    before = _cursor(cursor)
    tg_id = Message.telegram_message_id
    ids_query = (
        select(tg_id)
        .select_from(Message)
        .join(Chat, Chat.id == Message.chat_id)
        .join(ChannelAssignment, ChannelAssignment.profile_id == Chat.profile_id)
        .where(
            ChannelAssignment.channel_id == channel.id,
            Chat.owner_id == channel.owner_id,
            Chat.peer_id == channel.peer_id,
            tg_id.is_not(None),
        )
        .group_by(tg_id)
        .order_by(tg_id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        ids_query = ids_query.where(tg_id < before)
    if not include_deleted:
        ids_query = ids_query.having(func.sum(case((Message.is_deleted.is_(True), 1), else_=0)) == 0)
    ids = [int(i) for i in await session.scalars(ids_query) if i is not None]
    more = len(ids) > limit
    ids = ids[:limit]
    if not ids:
        return ChannelMessagePage(items=[], next_cursor=None)
    rows = (
        await session.execute(
            select(Message, Chat.profile_id, Chat.profile_phone)
            .join(Chat, Chat.id == Message.chat_id)
            .where(
                Chat.owner_id == channel.owner_id,
                Chat.peer_id == channel.peer_id,
                Chat.profile_id.in_(
                    select(ChannelAssignment.profile_id).where(ChannelAssignment.channel_id == channel.id)
                ),
                tg_id.in_(ids),
            )
        )
    ).all()
    rank = await _profile_rank(session, channel)
    chosen: dict[int, tuple[Message, str]] = {}
    for message, _profile_id, phone in sorted(rows, key=lambda r: rank.get(r[1], -1)):
        chosen[int(message.telegram_message_id or 0)] = (message, phone)  # the best-ranked copy comes last
    edits: dict[UUID, list[EditOut]] = {}
    for edit in await session.scalars(
        select(MessageEdit)
        .where(MessageEdit.message_id.in_([m.id for m, _ in chosen.values()]))
        .order_by(MessageEdit.created_at)
    ):
        edits.setdefault(edit.message_id, []).append(EditOut(text=edit.previous_text, edited_at=edit.edited_at))
    items = [_message_out(*chosen[i], edits.get(chosen[i][0].id, [])) for i in ids if i in chosen]
    return ChannelMessagePage(items=items, next_cursor=str(ids[-1]) if more else None)


async def _profile_rank(session: AsyncSession, channel: Channel) -> dict[UUID | None, int]:
    """Later assignments rank higher; the assigned profile highest."""
    rows = await session.scalars(
        select(ChannelAssignment.profile_id)
        .where(ChannelAssignment.channel_id == channel.id)
        .order_by(ChannelAssignment.assigned_at, ChannelAssignment.created_at)
    )
    rank = {profile_id: position for position, profile_id in enumerate(rows)}
    rank[channel.assigned_profile_id] = len(rank) + 1
    return rank


def _message_out(message: Message, phone: str, edits: list[EditOut]) -> ChannelMessageOut:
    return ChannelMessageOut(
        id=message.id,
        telegram_message_id=message.telegram_message_id,
        text=message.text,
        date=message.date,
        sender_id=message.sender_id,
        sender_name=message.sender_name,
        media_type=message.media_type,
        media=message.media,
        edit_date=message.edit_date,
        is_deleted=message.is_deleted,
        deleted_at=message.deleted_at,
        phone=phone,
        edits=edits,
        entities=message.entities,
    )
