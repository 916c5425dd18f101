"""The ingest writer's hot path: a run of new messages stored with a handful of Core statements.

Chats and messages are written from plain rows (app.domain.messages.rows), not as ORM objects: a batch of
hundreds of messages costs a few statements instead of a unit of work per row. Idempotent like the single-record
path (app.domain.messages.store), whose events and adoption of pending sends it shares.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import Table, bindparam, case, insert, or_, select
from sqlalchemy import update as update_statement
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Chat, Message
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.domain.messages.channel_context import channel_contexts
from app.domain.messages.rows import ChatRow, MessageRow, message_row
from app.domain.messages.store import adopt_pending, message_event
from app.telegram.records import PeerInfo, better_kind
from app.telegram.updates import NewMessage, ProfileRef


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
        if record.out and chat.id not in created and await adopt_pending(session, chat, record) is not None:
            continue
        stored.append((update, chat, message_row(chat, record)))
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
