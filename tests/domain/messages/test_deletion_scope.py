"""Id-only deletions (`updateDeleteMessages`) name ids of the account's own message box: private chats and basic
groups. Supergroups number their posts separately, so such a deletion must never touch them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.db.models import Event
from tests.domain.messages.support import connected_profile, conversation_with, eventually, stored_messages

pytestmark = pytest.mark.asyncio


async def test_private_deletion_leaves_the_supergroup_post_with_the_same_id(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    group = sandbox.control.create_channel(
        title="Lounge", username=f"lounge{uuid.uuid4().hex[:8]}", creator=s.contact, broadcast=False, members=[s.me]
    )
    group_post = await sandbox.control.as_user(s.contact).post(group, "supergroup post")
    private = await sandbox.control.as_user(s.contact).send_message(s.me, "private message")
    assert sandbox.control.user(s.me).messages  # the private copy lives in the account's own box
    own_copy = max(sandbox.control.user(s.me).messages)
    assert own_copy == group_post == 1  # the same number in two separately numbered boxes

    group_peer = int(f"-100{group.id}")
    in_group = await eventually(lambda: conversation_with(client, s.headers, group_peer), what="supergroup chat")
    assert in_group["kind"] == "supergroup"
    in_private = await eventually(lambda: conversation_with(client, s.headers, s.contact.id), what="private chat")

    await sandbox.control.as_user(s.contact).delete_messages(s.me, [private], revoke=True)

    async def private_deleted():
        items = await stored_messages(client, s.headers, in_private["id"])
        return items if items and items[0]["is_deleted"] else None

    await eventually(private_deleted, what="the private deletion")
    posts = await stored_messages(client, s.headers, in_group["id"])
    assert [(p["telegram_message_id"], p["is_deleted"]) for p in posts] == [(1, False)]
    async with app.state.ctx.sessionmaker() as session:
        deleted = list(await session.scalars(select(Event).where(Event.type == "message.deleted")))
    assert [e.payload["conversation_id"] for e in deleted] == [in_private["id"]]
