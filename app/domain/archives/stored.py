"""What the messaging domain stored about a channel, merged into an export batch.

Telegram's history no longer returns deleted messages. When the owner's profiles received the channel live, the
messaging domain kept them (`messages.is_deleted`, `deleted_at`), so the archive can still say they existed and
when they were deleted. Without stored rows, every exported line says `is_deleted: false`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CHANNEL_BOX_KINDS, Chat, ChatKind, Message
from app.telegram.history import archive_record
from app.telegram.records import SERVICE, bare_id, marked_channel_id


async def deleted_between(
    session: AsyncSession,
    owner_id: UUID,
    channel_id: int,
    after_id: int,
    up_to_id: int,
    *,
    basic_group_of: UUID | None = None,
) -> list[dict[str, Any]]:
    """Export records of stored, deleted messages of the channel (its bare id) with ids in (after_id, up_to_id].

    A basic group's messages are numbered in each profile's own box: `basic_group_of` names the reading profile,
    whose stored chat of the group is `-id`.
    """
    channel_peer = -channel_id if basic_group_of is not None else marked_channel_id(channel_id)
    chat = (  # stored chats and senders carry marked ids
        [Chat.profile_id == basic_group_of, Chat.peer_id == channel_peer, Chat.kind == ChatKind.GROUP.value]
        if basic_group_of is not None
        else [Chat.peer_id == channel_peer, Chat.kind.in_(CHANNEL_BOX_KINDS)]
    )
    rows = await session.scalars(
        select(Message)
        .join(Chat, Message.chat_id == Chat.id)
        .where(
            Chat.owner_id == owner_id,
            *chat,
            Message.telegram_message_id > after_id,
            Message.telegram_message_id <= up_to_id,
            Message.is_deleted.is_(True),
        )
        .order_by(Message.telegram_message_id)
    )
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        assert row.telegram_message_id is not None
        sender = row.sender_id
        found.setdefault(
            row.telegram_message_id,
            archive_record(
                id=row.telegram_message_id,
                channel_id=channel_id,
                date=row.date,
                edit_date=row.edit_date,
                text=row.text,
                # Telegram's lines name no sender for the channel's own posts, and other senders by bare id.
                sender_id=None if sender is None or sender == channel_peer else bare_id(sender),
                reply_to=row.reply_to,
                media_type=row.media_type,
                media=row.media,
                is_deleted=True,
                deleted_at=row.deleted_at,
                service_action=(row.media or {}).get("action") if row.media_type == SERVICE else None,
            ),
        )
    return list(found.values())


def merge(exported: list[dict[str, Any]], deleted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Telegram's lines plus stored deletions Telegram no longer returns, in message-id order."""
    present = {record["id"] for record in exported}
    extra = [record for record in deleted if record["id"] not in present]
    if not extra:
        return exported
    return sorted([*exported, *extra], key=lambda record: int(record["id"]))
