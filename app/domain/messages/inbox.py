"""Reading the stored inbox: conversations grouped by profile, and keyset-paginated messages."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Label, RowMapping, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import Chat, ChatKind, Message, MessageEdit, TelegramProfile
from app.domain.messages import upgrades
from app.domain.messages.schemas import (
    ConversationOut,
    ConversationsOut,
    MessagePage,
    ProfileConversations,
    StoredMessage,
)
from app.domain.messages.send_rules import stored
from app.domain.profiles import services as profiles
from app.lib.errors import Conflict, NotFound, ValidationFailed


async def get_conversation(session: AsyncSession, owner_id: UUID, conversation_id: UUID) -> Chat:
    chat = await session.get(Chat, conversation_id)
    if chat is None or chat.owner_id != owner_id:
        raise NotFound("conversation not found")
    return await upgrades.resolve(session, chat)  # a basic group's id before its upgrade answers as its conversation


def conversation_out(chat: Chat, last: Message | None = None) -> ConversationOut:
    return ConversationOut(
        id=chat.id,
        profile_id=chat.profile_id,
        phone=chat.profile_phone,
        peer_id=chat.peer_id,
        kind=chat.kind,
        title=chat.title,
        username=chat.username,
        unread_count=chat.unread_count,
        last_message_at=chat.last_message_at,
        last_message=stored(last) if last is not None else None,
        can_post=chat_can_post(chat),
    )


def chat_can_post(chat: Chat) -> bool:
    """What Telegram last said; before it said anything, a broadcast channel is for its admins only."""
    return _can_post(chat.can_post, chat.kind)


def _can_post(said: bool | None, kind: str) -> bool:
    return said if said is not None else kind != ChatKind.CHANNEL.value


async def list_conversations(
    session: AsyncSession, owner_id: UUID, phone: str | None, *, per_profile: int = 200
) -> ConversationsOut:
    """The caller's conversations grouped by profile, newest first, with unread counts."""
    mine = [Chat.owner_id == owner_id, Chat.last_message_at.is_not(None)]
    if phone is not None:
        profile = await profiles.get_owned(session, owner_id, phone)
        mine.append(Chat.profile_id == profile.id)
    groups: dict[tuple[UUID | None, str], list[ConversationOut]] = {}
    for row in (await session.execute(_with_last_message(mine))).mappings():
        conversation = _conversation_of(row)
        bucket = groups.setdefault((conversation.profile_id, conversation.phone), [])
        if len(bucket) < per_profile:
            bucket.append(conversation)
    result = [
        ProfileConversations(
            phone=phone_,
            profile_id=profile_id,
            unread_count=sum(c.unread_count for c in items),
            conversations=items,
        )
        for (profile_id, phone_), items in groups.items()
    ]
    # Profiles in the order of their newest conversation.
    result.sort(key=lambda g: g.conversations[0].last_message_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return ConversationsOut(profiles=result)


# The listing reads columns, not ORM objects: building 2 x 50 instrumented objects was most of its time.
_CHAT_COLUMNS = {
    "id": Chat.id,
    "profile_id": Chat.profile_id,
    "phone": Chat.profile_phone,
    "peer_id": Chat.peer_id,
    "kind": Chat.kind,
    "title": Chat.title,
    "username": Chat.username,
    "unread_count": Chat.unread_count,
    "last_message_at": Chat.last_message_at,
}
_MESSAGE_COLUMNS = {
    name: getattr(Message, attribute)
    for name, attribute in (
        ("id", "id"),
        ("conversation_id", "chat_id"),
        *((field, field) for field in StoredMessage.__struct_fields__ if field not in {"id", "conversation_id"}),
    )
    if name != "previous_texts"
}


def _conversation_of(row: RowMapping) -> ConversationOut:
    last = None
    if row["m_id"] is not None:
        last = StoredMessage(**{name: row[f"m_{name}"] for name in _MESSAGE_COLUMNS})
    return ConversationOut(
        **{name: row[f"c_{name}"] for name in _CHAT_COLUMNS},
        last_message=last,
        can_post=_can_post(row["can_post"], row["c_kind"]),
    )


def _with_last_message(mine: list[ColumnElement[bool]]) -> Select[*tuple[Any, ...]]:
    """The chats `mine` selects, newest first, each with its newest message, in one statement.

    The newest message of each chat is one step down the index on (chat_id, date, id) (a correlated
    `LIMIT 1`), so the statement reads one message per chat however many the chats hold. A conversation's hidden
    rows (a basic group before its upgrade, app.domain.messages.upgrades) are asked only when the conversation's
    own row has no message yet: everything after the upgrade is newer than everything before it.
    """
    own_newest = (
        select(Message.id)
        .where(Message.chat_id == Chat.id)
        .order_by(Message.date.desc(), Message.id.desc())
        .limit(1)
        .correlate(Chat)
        .scalar_subquery()
    )
    hidden = aliased(Chat)
    hidden_newest = (
        select(Message.id)
        .join(hidden, hidden.id == Message.chat_id)
        .where(hidden.merged_into_id == Chat.id)
        .order_by(Message.date.desc(), Message.id.desc())
        .limit(1)
        .correlate(Chat)
        .scalar_subquery()
    )
    newest = func.coalesce(own_newest, hidden_newest)
    columns: list[Label[Any]] = [column.label(f"c_{name}") for name, column in _CHAT_COLUMNS.items()]
    columns += [column.label(f"m_{name}") for name, column in _MESSAGE_COLUMNS.items()]
    columns.append(Chat.can_post.label("can_post"))
    return (
        select(*columns)
        .outerjoin(Message, Message.id == newest)
        .where(*mine, Chat.merged_into_id.is_(None))
        .order_by(Chat.last_message_at.desc(), Chat.id.desc())
    )


def encode_cursor(message: Message) -> str:
    raw = f"{message.date.isoformat()}|{message.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, ident = raw.partition("|")
        when = datetime.fromisoformat(moment)
        if when.utcoffset() is None:
            raise ValueError("a cursor's moment carries its zone")  # encode_cursor always writes one
        return when, UUID(ident)
    except Exception:
        raise ValidationFailed("cursor is not valid", details=[{"field": "cursor"}]) from None


async def page_messages(
    session: AsyncSession, chat: Chat, *, cursor: str | None, limit: int, include_deleted: bool = True
) -> MessagePage:
    """Newest first; `next_cursor` continues with older messages."""
    query = select(Message).where(upgrades.rows_of(chat.id))
    if not include_deleted:
        query = query.where(Message.is_deleted.is_(False))
    if cursor is not None:
        moment, ident = decode_cursor(cursor)
        query = query.where(or_(Message.date < moment, and_(Message.date == moment, Message.id < ident)))
    rows = list(await session.scalars(query.order_by(Message.date.desc(), Message.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    edits: dict[UUID, list[str]] = {}
    if rows:
        for edit in await session.scalars(
            select(MessageEdit).where(MessageEdit.message_id.in_([r.id for r in rows])).order_by(MessageEdit.created_at)
        ):
            edits.setdefault(edit.message_id, []).append(edit.previous_text)
    return MessagePage(
        conversation=conversation_out(chat),
        items=[stored(r, edits.get(r.id)) for r in rows],
        next_cursor=encode_cursor(rows[-1]) if more and rows else None,
    )


async def owning_profile(session: AsyncSession, chat: Chat) -> TelegramProfile:
    """The profile that owns a conversation; a conversation kept after its profile was deleted cannot reply."""
    profile = await session.get(TelegramProfile, chat.profile_id) if chat.profile_id is not None else None
    if profile is None:
        raise Conflict("the profile of this conversation was deleted", code="profile_not_active")
    return profile
