"""Writing the stored inbox: idempotent upserts keyed by (chat, Telegram message id), with their events.

Used by the ingest writer (updates) and by sending (own messages). Nothing here commits; a replayed update
finds its row and changes nothing, so it emits nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ACCOUNT_BOX_KINDS, Chat, Message, MessageEdit, MessageStatus, TelegramProfile
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.domain.messages.channel_context import channel_contexts
from app.domain.messages.rows import ChatLike, MessageLike, MessageRow, content_of, message_row
from app.telegram.records import EDIT_FOLLOWERS, EDITABLE_FIELDS, EVENT_FIELDS, MessageInfo, PeerInfo, better_kind
from app.telegram.updates import (
    DeletedMessages,
    EditedMessage,
    NewMessage,
    ProfileRef,
    ReadReceipt,
)

ChatCache = dict[tuple[UUID, int], Chat]


async def upsert_chat(
    session: AsyncSession, profile: ProfileRef, ref: PeerInfo, cache: ChatCache | None = None
) -> Chat:
    """The profile's chat with this peer, created on first sight; names and access hash follow Telegram."""
    key = (profile.profile_id, ref.peer_id)
    chat = cache.get(key) if cache is not None else None
    if chat is None:
        chat = await session.scalar(
            select(Chat).where(Chat.profile_id == profile.profile_id, Chat.peer_id == ref.peer_id)
        )
    if chat is None:
        chat = Chat(
            owner_id=profile.owner_id,
            profile_id=profile.profile_id,
            profile_phone=profile.phone,
            peer_id=ref.peer_id,
            kind=ref.kind,
            unread_count=0,
            read_outbox_max_id=0,
        )
        session.add(chat)
    chat.kind = better_kind(chat.kind, ref.kind)
    if ref.title is not None:
        chat.title = ref.title[:255]
    if ref.username is not None:
        chat.username = ref.username
    if ref.access_hash is not None:
        chat.access_hash = ref.access_hash
    if ref.can_post is not None:
        chat.can_post = ref.can_post
    if cache is not None:
        cache[key] = chat
    return chat


def message_event(chat: ChatLike, message: MessageLike | MessageRow, **extra: Any) -> dict[str, Any]:
    """The data of a `message.*` event: the message's place and state, and its `EVENT_FIELDS`."""
    return {
        "conversation_id": str(chat.id),
        "message_id": str(message.id),
        "peer": {"id": chat.peer_id, "kind": chat.kind, "title": chat.title, "username": chat.username},
        "telegram_message_id": message.telegram_message_id,
        "direction": message.direction,
        "status": message.status,
        **{name: _event_value(content_of(message, name)) for name in EVENT_FIELDS},
        **extra,
    }


def _event_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _new_row(chat: Chat, record: MessageInfo) -> Message:
    """The ORM row of a message from Telegram (the single-record paths; the bulk path inserts `MessageRow`s)."""
    return Message(**message_row(chat, record).insert_values(datetime.now(UTC)))


async def _find(session: AsyncSession, chat: Chat, telegram_id: int) -> Message | None:
    if chat.id is None:
        return None
    return await session.scalar(
        select(Message).where(Message.chat_id == chat.id, Message.telegram_message_id == telegram_id)
    )


async def adopt_pending(session: AsyncSession, chat: ChatLike, record: MessageInfo) -> Message | None:
    """An outgoing message of ours whose send result was never recorded (a crash between send and commit)."""
    row = await session.scalar(
        select(Message)
        .where(
            Message.chat_id == chat.id,
            Message.telegram_message_id.is_(None),
            Message.direction == "out",
            Message.status.in_((MessageStatus.PENDING.value, MessageStatus.FAILED.value)),
            Message.text == record.text,
        )
        .order_by(Message.created_at)
        .limit(1)
    )
    if row is not None:
        row.telegram_message_id, row.status, row.error = record.id, MessageStatus.SENT.value, None
        row.date = record.date
    return row


def _touch(chat: Chat, moment: datetime) -> None:
    if chat.last_message_at is None or chat.last_message_at < moment:
        chat.last_message_at = moment


async def record_new(session: AsyncSession, update: NewMessage, cache: ChatCache | None = None) -> Message | None:
    """Store a new message (incoming, or outgoing from another device); None when it was already stored."""
    chat = await upsert_chat(session, update.profile, update.chat, cache)
    await session.flush()
    record = update.message
    if await _find(session, chat, record.id) is not None:
        return None
    if record.out and await adopt_pending(session, chat, record) is not None:
        return None
    row = _new_row(chat, record)
    session.add(row)
    _touch(chat, record.date)
    if not record.out:
        chat.unread_count += 1
    await session.flush()
    kind = EventType.MESSAGE_SENT if record.out else EventType.MESSAGE_RECEIVED
    channel = (await channel_contexts(session, [chat])).get(chat.id, {})
    await events.emit(
        session,
        user_id=update.profile.owner_id,
        type=kind,
        profile=update.profile.phone,
        data=message_event(chat, row, origin="telegram", **channel),
    )
    return row


async def record_edit(session: AsyncSession, update: EditedMessage, cache: ChatCache | None = None) -> Message | None:
    """Apply an edit, keeping the previous text; None when this edit is already stored."""
    chat = await upsert_chat(session, update.profile, update.chat, cache)
    await session.flush()
    record = update.message
    row = await _find(session, chat, record.id)
    previous: str | None = None
    if row is None:
        row = _new_row(chat, record)
        session.add(row)
        _touch(chat, record.date)
    else:
        compared = [name for name in EDITABLE_FIELDS if name not in EDIT_FOLLOWERS]
        unchanged = all(getattr(row, name) == getattr(record, name) for name in compared)
        if unchanged and row.edit_date == record.edit_date:
            return None
        if row.text != record.text:
            previous = row.text
            session.add(MessageEdit(message_id=row.id, previous_text=row.text, edited_at=record.edit_date))
        for name in EDITABLE_FIELDS:
            setattr(row, name, getattr(record, name))
        row.edit_date = record.edit_date or datetime.now(UTC)
    await session.flush()
    channel = (await channel_contexts(session, [chat])).get(chat.id, {})
    await events.emit(
        session,
        user_id=update.profile.owner_id,
        type=EventType.MESSAGE_EDITED,
        profile=update.profile.phone,
        data=message_event(chat, row, previous_text=previous, **channel),
    )
    return row


async def record_deleted(session: AsyncSession, update: DeletedMessages) -> list[Message]:
    """Mark messages deleted (content kept).

    An id-only deletion (`updateDeleteMessages`) names ids of the account's own message box, which only private
    chats and basic groups share; supergroups and channels number their messages separately and their
    deletions always name the chat, so an id-only deletion never touches them.
    """
    where = [Chat.profile_id == update.profile.profile_id]
    if update.channel_peer_id is not None:
        where.append(Chat.peer_id == update.channel_peer_id)
    else:
        where.append(Chat.kind.in_(ACCOUNT_BOX_KINDS))
    rows = (
        await session.execute(
            select(Message, Chat)
            .join(Chat, and_(Chat.id == Message.chat_id, *where))
            .where(Message.telegram_message_id.in_(update.ids), Message.is_deleted.is_(False))
        )
    ).all()
    now = datetime.now(UTC)
    by_chat: dict[UUID, tuple[Chat, list[Message]]] = {}
    for message, chat in rows:
        message.is_deleted, message.deleted_at = True, now
        by_chat.setdefault(chat.id, (chat, []))[1].append(message)
    await session.flush()
    channels = await channel_contexts(session, [chat for chat, _ in by_chat.values()])
    for chat, messages in by_chat.values():
        await events.emit(
            session,
            user_id=update.profile.owner_id,
            type=EventType.MESSAGE_DELETED,
            profile=update.profile.phone,
            data={
                "conversation_id": str(chat.id),
                "peer": {"id": chat.peer_id, "kind": chat.kind, "title": chat.title},
                "message_ids": [str(m.id) for m in messages],
                "telegram_message_ids": sorted(m.telegram_message_id or 0 for m in messages),
                "deleted_at": now.isoformat(),
                **channels.get(chat.id, {}),
            },
        )
    return [m for _, ms in by_chat.values() for m in ms]


async def record_read(session: AsyncSession, update: ReadReceipt) -> None:
    """Our reads (another device) reset the unread count; the peer's reads of ours become `message.read`."""
    chat = await session.scalar(
        select(Chat).where(Chat.profile_id == update.profile.profile_id, Chat.peer_id == update.peer_id)
    )
    if chat is None:
        return
    if not update.outbox:
        if update.still_unread is not None:
            chat.unread_count = update.still_unread
        return
    if update.max_id <= chat.read_outbox_max_id:
        return
    chat.read_outbox_max_id = update.max_id
    await session.flush()
    await events.emit(
        session,
        user_id=update.profile.owner_id,
        type=EventType.MESSAGE_READ,
        profile=update.profile.phone,
        data={
            "conversation_id": str(chat.id),
            "peer": {"id": chat.peer_id, "kind": chat.kind, "title": chat.title},
            "max_id": update.max_id,
        },
    )


async def forget_duplicate(session: AsyncSession, chat_id: UUID, telegram_id: int, keep: UUID) -> None:
    """Drop a row that an update stored for a message this service sent itself (the sent row wins)."""
    await session.execute(
        delete(Message).where(
            Message.chat_id == chat_id, Message.telegram_message_id == telegram_id, Message.id != keep
        )
    )


async def own_sender(session: AsyncSession, profile_id: UUID, message: MessageInfo) -> tuple[int | None, str | None]:
    """Who sent a message of ours: as Telegram's answer names it, else the profile's own account."""
    if message.sender_id is not None:
        return message.sender_id, message.sender_name[:255] if message.sender_name else None
    own = await session.get(TelegramProfile, profile_id)
    if own is None:
        return None, None
    name = " ".join(part for part in (own.first_name, own.last_name) if part) or own.username
    return own.telegram_user_id, name[:255] if name else None
