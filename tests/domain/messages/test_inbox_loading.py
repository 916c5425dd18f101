"""GET /conversations reads each conversation with its newest message in one ranked statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from app.db.models import Chat, Message
from tests.conftest import bearer, register_and_login
from tests.domain.system.statements import statements_containing

pytestmark = pytest.mark.asyncio


async def test_conversations_come_with_their_newest_message_from_one_statement(client, app):
    tokens = await register_and_login(client, "ada@example.com")
    owner = UUID((await client.get("/auth/me", headers=bearer(tokens))).json()["id"])
    now = datetime.now(UTC)
    async with app.state.ctx.sessionmaker.begin() as session:
        for index in range(3):
            chat = Chat(
                owner_id=owner,
                profile_phone="+9996610000",
                peer_id=500 + index,
                kind="channel" if index == 2 else "user",
                last_message_at=now - timedelta(hours=index),
            )
            session.add(chat)
            await session.flush()
            for number in range(20):
                session.add(
                    Message(
                        chat_id=chat.id,
                        telegram_message_id=number + 1,
                        direction="in",
                        text=f"{index}/{number}",
                        date=now - timedelta(hours=index, minutes=20 - number),
                    )
                )
    with statements_containing(app.state.ctx.engine, "messages") as reads:
        listed = await client.get("/conversations", headers=bearer(tokens))
    assert listed.status_code == 200
    conversations = listed.json()["profiles"][0]["conversations"]
    assert [c["last_message"]["text"] for c in conversations] == ["0/19", "1/19", "2/19"]
    # A broadcast channel Telegram has said nothing about yet is for its admins only.
    assert [c["can_post"] for c in conversations] == [True, True, False]
    assert len(reads) == 1, reads  # chats and their newest messages in one statement
    # each chat's newest message is one step down the (chat_id, date, id) index, not a ranking of them all: one
    # step for the conversation's own row, one for its hidden rows (an upgraded group's past, asked only when the
    # own row has no message yet)
    statement = " ".join(reads[0].lower().split())
    assert statement.count("order by messages.date desc, messages.id desc limit") == 2
    assert "row_number" not in statement
