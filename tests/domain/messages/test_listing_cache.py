"""GET /conversations is kept in memory until the inbox is written, by this process or (through Redis) another."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.db.models import Chat, Message, User
from app.db.write_watch import watch_writes, written_table
from app.domain.messages import inbox
from app.domain.messages.listing_cache import INBOX_TABLES, ConversationListings
from app.domain.messages.schemas import ConversationsOut
from app.server.stores import create_redis


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"CONVERSATIONS_CACHE_S": "600"}  # long: what these tests see changing is the writes, not the clock


async def _owner(sessionmaker: async_sessionmaker[AsyncSession]) -> UUID:
    async with sessionmaker.begin() as session:
        user = User(email=f"cache-{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        return user.id


async def _chat(sessionmaker: async_sessionmaker[AsyncSession], owner_id: UUID, title: str, peer_id: int) -> UUID:
    async with sessionmaker.begin() as session:
        chat = Chat(
            owner_id=owner_id,
            profile_phone="+9996610001",
            peer_id=peer_id,
            title=title,
            last_message_at=datetime.now(UTC),
        )
        session.add(chat)
        await session.flush()
        session.add(Message(chat_id=chat.id, telegram_message_id=1, direction="in", text="hi", date=datetime.now(UTC)))
        return chat.id


def _titles(listing: ConversationsOut) -> list[str | None]:
    return [c.title for group in listing.profiles for c in group.conversations]


def _reader(sessionmaker: async_sessionmaker[AsyncSession], owner_id: UUID):
    async def read() -> ConversationsOut:
        async with sessionmaker() as session:
            return await inbox.list_conversations(session, owner_id, None)

    return read


async def test_a_listing_is_kept_until_this_process_writes_the_inbox(app):
    ctx = app.state.ctx
    listings: ConversationListings = ctx.conversations
    owner = await _owner(ctx.sessionmaker)
    read = _reader(ctx.sessionmaker, owner)
    chat_id = await _chat(ctx.sessionmaker, owner, "Ada", 1001)
    # With Redis the writes' version increments land in the background; a listing read before the last one lands
    # is rightly read again after it. Wait for them, so the two reads below see one version.
    await listings.announced()
    assert _titles(await listings.get(owner, None, read)) == ["Ada"]
    assert _titles(await listings.get(owner, None, read)) == ["Ada"]
    assert listings.reads == 1  # the second answer came from memory

    async with ctx.sessionmaker.begin() as session:  # a Core UPDATE, as the ingest writer's statements are
        await session.execute(update(Chat).where(Chat.id == chat_id).values(title="Ada L."))
    assert _titles(await listings.get(owner, None, read)) == ["Ada L."]
    assert listings.reads == 2

    other_owner = await _owner(ctx.sessionmaker)  # another user's listing is their own
    assert _titles(await listings.get(other_owner, None, _reader(ctx.sessionmaker, other_owner))) == []


async def test_a_rolled_back_write_costs_a_read_and_shows_nothing(app):
    ctx = app.state.ctx
    listings: ConversationListings = ctx.conversations
    owner = await _owner(ctx.sessionmaker)
    read = _reader(ctx.sessionmaker, owner)
    await _chat(ctx.sessionmaker, owner, "Ada", 1002)
    await listings.get(owner, None, read)
    async with ctx.sessionmaker() as session:
        await session.execute(update(Chat).where(Chat.owner_id == owner).values(title="never"))
        await session.rollback()
    assert _titles(await listings.get(owner, None, read)) == ["Ada"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # processes share listings through Redis
async def test_another_process_write_reaches_the_listing_through_redis(app):
    ctx = app.state.ctx
    assert ctx.redis is not None
    listings: ConversationListings = ctx.conversations
    owner = await _owner(ctx.sessionmaker)
    read = _reader(ctx.sessionmaker, owner)
    await _chat(ctx.sessionmaker, owner, "Ada", 1003)
    assert _titles(await listings.get(owner, None, read)) == ["Ada"]

    # The worker: its own engine, its own listings object, the same database and Redis.
    worker_engine = create_engine(ctx.settings)
    worker_redis = create_redis(ctx.settings)
    worker = ConversationListings(600, worker_redis)
    watch_writes(worker_engine, INBOX_TABLES, worker.changed)
    try:
        await _chat(create_sessionmaker(worker_engine), owner, "Bob", 1004)
        await worker.announced()
    finally:
        await worker_engine.dispose()
        if worker_redis is not None:
            await worker_redis.aclose()
    assert sorted(_titles(await listings.get(owner, None, read))) == ["Ada", "Bob"]
    assert listings.reads == 2


def test_written_tables_are_read_from_the_statement():
    assert written_table("INSERT INTO chats (id) VALUES (?)") == "chats"
    assert written_table('INSERT OR IGNORE INTO "messages" (id) VALUES (?)') == "messages"
    assert written_table("UPDATE chats SET title=? WHERE chats.id = ?") == "chats"
    assert written_table("DELETE FROM message_edits WHERE id = $1") == "message_edits"
    assert written_table("\n  update Messages set text = ''") == "messages"
    assert written_table("SELECT * FROM chats") is None
    assert written_table("WITH x AS (SELECT 1) SELECT * FROM x") is None
