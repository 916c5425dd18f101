"""Reading what channel monitors stored: a channel's post counts, its API shape, and its pages of posts.

A channel's stored posts are the messages of its profiles' chats with the channel (one chat per profile that
ever listened to it, named by `channel_assignments`); a post kept by two of them is shown once, preferring the
copy of the profile assigned now.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Channel, ChannelAssignment, Chat, Message, MessageEdit, TelegramProfile
from app.domain.channels.schemas import AssignmentOut, ChannelMessageOut, ChannelMessagePage, ChannelOut, EditOut
from app.lib.errors import ValidationFailed
from app.lib.json_input import INT32_MAX
from app.telegram.records import CONTENT_FIELDS


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
        is_deleted=message.is_deleted,
        deleted_at=message.deleted_at,
        phone=phone,
        edits=edits,
        **{name: getattr(message, name) for name in CONTENT_FIELDS},
    )
