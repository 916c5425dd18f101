"""Writing the stored inbox: idempotent upserts keyed by (chat, Telegram message id), with their events.

Used by the ingest writer (updates) and by sending (own messages). Nothing here commits; a replayed update
finds its row and changes nothing, so it emits nothing twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import Table, and_, bindparam, case, delete, insert, or_, select
from sqlalchemy import update as update_statement
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ACCOUNT_BOX_KINDS, Chat, Message, MessageEdit, MessageStatus, UpdateState
from app.domain.channels.capture import channel_contexts
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.domain.messages.rows import ChatLike, ChatRow, MessageLike, MessageRow
from app.telegram.records import MessageInfo, PeerInfo, better_kind
from app.telegram.updates import (
    DeletedMessages,
    EditedMessage,
    NewMessage,
    ProfileRef,
    ReadReceipt,
    StoredState,
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


def message_event(chat: ChatLike, message: MessageLike, **extra: Any) -> dict[str, Any]:
    return {
        "conversation_id": str(chat.id),
        "message_id": str(message.id),
        "peer": {"id": chat.peer_id, "kind": chat.kind, "title": chat.title, "username": chat.username},
        "telegram_message_id": message.telegram_message_id,
        "direction": message.direction,
        "status": message.status,
        "sender_id": message.sender_id,
        "sender_name": message.sender_name,
        "text": message.text,
        "entities": message.entities,
        "media_type": message.media_type,
        "date": message.date.isoformat(),
        **extra,
    }


def _new_row(chat: Chat, record: MessageInfo) -> Message:
    """The ORM row of a message from Telegram (the single-record paths; the bulk path inserts `MessageRow`s)."""
    return Message(**_message_row(chat, record).insert_values(datetime.now(UTC)))


async def _find(session: AsyncSession, chat: Chat, telegram_id: int) -> Message | None:
    if chat.id is None:
        return None
    return await session.scalar(
        select(Message).where(Message.chat_id == chat.id, Message.telegram_message_id == telegram_id)
    )


async def _adopt_pending(session: AsyncSession, chat: ChatLike, record: MessageInfo) -> Message | None:
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
    if record.out and await _adopt_pending(session, chat, record) is not None:
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


async def record_new_many(session: AsyncSession, updates: list[NewMessage]) -> list[UUID]:
    """Store a run of new messages with a handful of bulk statements (the ingest writer's hot path).

    Chats and messages are written with Core statements from plain rows, not as ORM objects: a batch costs
    a few statements, not a unit of work per row. Chats this touches are then expunged from the session, so
    a later ORM read in the same transaction loads their new counters. Returns the ids of the stored rows.
    """
    if not updates:
        return []
    await session.flush()
    now = datetime.now(UTC)
    chats = await _chat_rows(session, updates)
    created: dict[UUID, ChatRow] = {}
    renamed: dict[UUID, ChatRow] = {}
    for update in updates:
        key = (update.profile.profile_id, update.chat.peer_id)
        chat = chats.get(key)
        if chat is None:
            chat = chats[key] = _chat_row(update.profile, update.chat)
            created[chat.id] = chat
        elif _rename(chat, update.chat) and chat.id not in created:
            renamed[chat.id] = chat
    if created:
        await session.execute(_INSERT_CHATS, [chat.insert_values(now) for chat in created.values()])
    if renamed:
        await session.execute(_RENAME, [_rename_params(chat, now) for chat in renamed.values()])
    seen = await _stored_ids(session, [chat.id for chat in chats.values() if chat.id not in created], updates)
    stored: list[tuple[NewMessage, ChatRow, MessageRow]] = []
    for update in updates:
        chat, record = chats[(update.profile.profile_id, update.chat.peer_id)], update.message
        if (chat.id, record.id) in seen:
            continue
        seen.add((chat.id, record.id))
        if record.out and chat.id not in created and await _adopt_pending(session, chat, record) is not None:
            continue
        stored.append((update, chat, _message_row(chat, record)))
    if not stored:
        return []
    await session.execute(_INSERT_MESSAGES, [row.insert_values(now) for _, _, row in stored])
    await session.execute(_COUNT, _count_params(stored, now))
    touched = {chat.id: chat for _, chat, _ in stored}
    _expunge_chats(session, touched.keys() | renamed.keys())
    channels = await channel_contexts(session, touched.values())
    await events.emit_many(
        session,
        [
            events.NewEvent(
                user_id=update.profile.owner_id,
                type=EventType.MESSAGE_SENT if update.message.out else EventType.MESSAGE_RECEIVED,
                data=message_event(chat, row, origin="telegram", **channels.get(chat.id, {})),
                profile=update.profile.phone,
            )
            for update, chat, row in stored
        ],
    )
    return [row.id for _, _, row in stored]


# Built once: SQLAlchemy then reuses each statement's cache key instead of recomputing it per batch.
_CHATS = cast(Table, Chat.__table__)
_MESSAGES = cast(Table, Message.__table__)
_INSERT_CHATS = insert(_CHATS)
_INSERT_MESSAGES = insert(_MESSAGES)
_RENAME = (
    update_statement(_CHATS)
    .where(_CHATS.c.id == bindparam("b_id"))
    .values(
        kind=bindparam("b_kind"),
        title=bindparam("b_title"),
        username=bindparam("b_username"),
        access_hash=bindparam("b_access_hash"),
        can_post=bindparam("b_can_post"),
        updated_at=bindparam("b_now", type_=_CHATS.c.updated_at.type),
    )
)
_NEWEST = bindparam("b_at", type_=_CHATS.c.last_message_at.type)
_COUNT = (
    update_statement(_CHATS)
    .where(_CHATS.c.id == bindparam("b_id"))
    .values(
        unread_count=_CHATS.c.unread_count + bindparam("b_unread"),
        last_message_at=case(
            (or_(_CHATS.c.last_message_at.is_(None), _CHATS.c.last_message_at < _NEWEST), _NEWEST),
            else_=_CHATS.c.last_message_at,
        ),
        updated_at=bindparam("b_now", type_=_CHATS.c.updated_at.type),
    )
)


async def _chat_rows(session: AsyncSession, updates: list[NewMessage]) -> dict[tuple[UUID, int], ChatRow]:
    params = {
        "profile_ids": list({u.profile.profile_id for u in updates}),
        "peer_ids": list({u.chat.peer_id for u in updates}),
    }
    return {(row.profile_id, row.peer_id): ChatRow(*row) for row in await session.execute(_CHATS_OF, params)}


_CHATS_OF = select(*(_CHATS.c[field.name] for field in fields(ChatRow))).where(
    _CHATS.c.profile_id.in_(bindparam("profile_ids", expanding=True)),
    _CHATS.c.peer_id.in_(bindparam("peer_ids", expanding=True)),
)


def _chat_row(profile: ProfileRef, ref: PeerInfo) -> ChatRow:
    return ChatRow(
        id=uuid7(),
        owner_id=profile.owner_id,
        profile_id=profile.profile_id,
        profile_phone=profile.phone,
        peer_id=ref.peer_id,
        kind=ref.kind,
        title=ref.title[:255] if ref.title is not None else None,
        username=ref.username,
        access_hash=ref.access_hash,
        last_message_at=None,
        can_post=ref.can_post,
    )


def _rename(chat: ChatRow, ref: PeerInfo) -> bool:
    """Follow Telegram's kind, names and access hash (what it left out stays); True when something changed."""
    kind = better_kind(chat.kind, ref.kind)
    title = ref.title[:255] if ref.title is not None else chat.title
    username = ref.username if ref.username is not None else chat.username
    access_hash = ref.access_hash if ref.access_hash is not None else chat.access_hash
    can_post = ref.can_post if ref.can_post is not None else chat.can_post
    seen = (kind, title, username, access_hash, can_post)
    if seen == (chat.kind, chat.title, chat.username, chat.access_hash, chat.can_post):
        return False
    chat.kind, chat.title, chat.username, chat.access_hash, chat.can_post = seen
    return True


def _rename_params(chat: ChatRow, now: datetime) -> dict[str, Any]:
    return {
        "b_id": chat.id,
        "b_kind": chat.kind,
        "b_title": chat.title,
        "b_username": chat.username,
        "b_access_hash": chat.access_hash,
        "b_can_post": chat.can_post,
        "b_now": now,
    }


async def _stored_ids(
    session: AsyncSession, chat_ids: list[UUID], updates: list[NewMessage]
) -> set[tuple[UUID, int | None]]:
    if not chat_ids:
        return set()
    params = {"chat_ids": chat_ids, "telegram_ids": list({u.message.id for u in updates})}
    return {(row[0], row[1]) for row in await session.execute(_STORED, params)}


_STORED = select(_MESSAGES.c.chat_id, _MESSAGES.c.telegram_message_id).where(
    _MESSAGES.c.chat_id.in_(bindparam("chat_ids", expanding=True)),
    _MESSAGES.c.telegram_message_id.in_(bindparam("telegram_ids", expanding=True)),
)


def _message_row(chat: ChatLike, record: MessageInfo) -> MessageRow:
    return MessageRow(
        id=uuid7(),
        chat_id=chat.id,
        telegram_message_id=record.id,
        direction="out" if record.out else "in",
        status=MessageStatus.SENT.value if record.out else MessageStatus.RECEIVED.value,
        sender_id=record.sender_id,
        sender_name=record.sender_name[:255] if record.sender_name else None,
        text=record.text,
        media_type=record.media_type,
        media=record.media,
        date=record.date,
        edit_date=record.edit_date,
        reply_to=record.reply_to,
        text_sanitized=record.text_sanitized,
        entities=record.entities,
    )


def _count_params(stored: list[tuple[NewMessage, ChatRow, MessageRow]], now: datetime) -> list[dict[str, Any]]:
    """Per chat: how many new incoming messages, and the newest date (also kept on the row for channels)."""
    params: dict[UUID, dict[str, Any]] = {}
    for _, chat, row in stored:
        entry = params.setdefault(chat.id, {"b_id": chat.id, "b_unread": 0, "b_at": row.date, "b_now": now})
        entry["b_unread"] += row.direction == "in"
        entry["b_at"] = max(entry["b_at"], row.date)
        if chat.last_message_at is None or chat.last_message_at < row.date:
            chat.last_message_at = row.date
    return list(params.values())


def _expunge_chats(session: AsyncSession, chat_ids: Collection[UUID]) -> None:
    """Drop ORM copies of chats changed by Core statements, so nothing reads or writes their stale values."""
    for instance in list(session.sync_session.identity_map.values()):
        if isinstance(instance, Chat) and instance.id in chat_ids:
            session.expunge(instance)


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
        unchanged = row.text == record.text and row.entities == record.entities
        if unchanged and row.edit_date == record.edit_date and row.media_type == record.media_type:
            return None
        if row.text != record.text:
            previous = row.text
            session.add(MessageEdit(message_id=row.id, previous_text=row.text, edited_at=record.edit_date))
        row.text, row.media_type, row.media = record.text, record.media_type, record.media
        row.text_sanitized = record.text_sanitized
        row.entities = record.entities
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


async def save_states(session: AsyncSession, states_by_profile: Mapping[UUID, tuple[StoredState, ...]]) -> None:
    """Advance the stored update state of these profiles (never backwards); one query for all of them."""
    if not states_by_profile:
        return
    existing = {
        (row.profile_id, row.entity_id): row
        for row in await session.scalars(_STATES_OF, {"profile_ids": list(states_by_profile)})
    }
    for profile_id, states in states_by_profile.items():
        for state in states:
            row = existing.get((profile_id, state.entity_id))
            if row is None:
                session.add(state_row(profile_id, state))
            elif state.pts >= row.pts:
                row.pts, row.qts, row.seq = state.pts, max(row.qts, state.qts), state.seq
                row.date = max(row.date, state.date)
                if state.access_hash is not None:
                    row.access_hash = state.access_hash


_STATES_OF = select(UpdateState).where(UpdateState.profile_id.in_(bindparam("profile_ids", expanding=True)))


async def load_states(session: AsyncSession, profile_id: UUID) -> list[StoredState]:
    rows = await session.scalars(select(UpdateState).where(UpdateState.profile_id == profile_id))
    return [StoredState(r.entity_id, r.pts, r.qts, r.date, r.seq, r.access_hash) for r in rows]


async def forget_duplicate(session: AsyncSession, chat_id: UUID, telegram_id: int, keep: UUID) -> None:
    """Drop a row that an update stored for a message this service sent itself (the sent row wins)."""
    await session.execute(
        delete(Message).where(
            Message.chat_id == chat_id, Message.telegram_message_id == telegram_id, Message.id != keep
        )
    )


def state_row(profile_id: UUID, state: StoredState) -> UpdateState:
    """The stored row of one update state (entity 0 is the account, others are channels)."""
    return UpdateState(
        profile_id=profile_id,
        entity_id=state.entity_id,
        pts=state.pts,
        qts=state.qts,
        date=state.date,
        seq=state.seq,
        access_hash=state.access_hash,
    )
