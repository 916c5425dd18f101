"""A Telegram message holding U+0000 (PostgreSQL text cannot store it) is stored sanitised and flagged, and
the profile's catch-up checkpoint moves past it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db.models import UpdateState
from tests.domain.messages.support import connected_profile, conversation_with, eventually, stored_messages

pytestmark = pytest.mark.asyncio


async def test_a_message_with_nul_is_stored_flagged_and_never_blocks_the_checkpoint(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    actor = sandbox.control.as_user(s.contact)

    async def pts() -> int | None:
        async with app.state.ctx.sessionmaker() as session:
            return await session.scalar(select(UpdateState.pts).where(UpdateState.profile_id == s.profile_id))

    await actor.send_message(s.me, "clean before")
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))
    before = await eventually(pts, what="a stored update state")
    await actor.send_message(s.me, "poison\x00text")
    await actor.send_message(s.me, "clean after")

    async def all_three():
        items = await stored_messages(client, s.headers, conversation["id"])
        return items if len(items) == 3 else None

    items = await eventually(all_three, timeout=10, what="three stored messages")
    assert [(m["text"], m["text_sanitized"]) for m in items] == [
        ("clean after", False),
        ("poison\ufffdtext", True),
        ("clean before", False),
    ]

    async def advanced():
        now = await pts()
        return now is not None and now >= before + 2

    await eventually(advanced, what="the checkpoint past the poison message")
