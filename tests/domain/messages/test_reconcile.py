"""The inbox reconciler: a message whose update Telegram lost (no push, no pts) is still stored, once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.db.models import Event
from tests.conftest import bearer, register_and_login, sandbox_phone
from tests.domain.messages.support import connected_profile, conversation_with, eventually, new_contact, stored_messages
from tests.domain.profiles.test_binding import bind

pytestmark = pytest.mark.asyncio

FAST = {"RECONCILE_INTERVAL_S": "0.2"}


async def received_events(app) -> int:
    async with app.state.ctx.sessionmaker() as session:
        return int(
            await session.scalar(select(func.count()).select_from(Event).where(Event.type == "message.received")) or 0
        )


async def test_a_lost_update_leaves_a_silent_gap_without_the_reconciler(client, app, sandbox):
    """The premise of the next test: neither live updates nor catch-up see a lost update."""
    s = await connected_profile(client, app, sandbox)
    actor = sandbox.control.as_user(s.contact)
    await actor.send_message(s.me, "delivered")
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))
    await actor.send_message(s.me, "lost", lose_update=True)
    await actor.send_message(s.me, "delivered too")

    async def two():
        items = await stored_messages(client, s.headers, conversation["id"])
        return items if len(items) >= 2 else None

    await eventually(two)
    await asyncio.sleep(0.5)
    texts = [m["text"] for m in await stored_messages(client, s.headers, conversation["id"])]
    assert sorted(texts) == ["delivered", "delivered too"]


@pytest.mark.parametrize("settings_overrides", [FAST], indirect=True)
async def test_the_reconciler_stores_lost_messages_once_and_announces_them(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    actor = sandbox.control.as_user(s.contact)
    await actor.send_message(s.me, "delivered")
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))
    for n in range(3):
        await actor.send_message(s.me, f"lost {n}", lose_update=True)

    async def four():
        items = await stored_messages(client, s.headers, conversation["id"])
        return items if len(items) >= 4 else None

    await eventually(four, timeout=10, what="the lost messages stored by the reconciler")
    await asyncio.sleep(0.8)  # several more rounds: nothing is stored or announced twice
    items = await stored_messages(client, s.headers, conversation["id"])
    assert sorted(m["text"] for m in items) == ["delivered", "lost 0", "lost 1", "lost 2"]
    assert all(m["direction"] == "in" and m["status"] == "received" for m in items)
    assert await received_events(app) == 4
    listed = await conversation_with(client, s.headers, s.contact.id)
    assert listed is not None
    assert listed["unread_count"] == 4


@pytest.mark.parametrize("settings_overrides", [FAST], indirect=True)
async def test_the_reconciler_does_not_import_history_from_before_the_binding(client, app, sandbox):
    phone = sandbox_phone()
    me = sandbox.control.create_user(phone=phone.lstrip("+"), first_name="Ada")
    old_friend = new_contact(sandbox, "Old")
    await sandbox.control.as_user(old_friend).send_message(me, "from before the binding")
    await asyncio.sleep(1.5)  # beyond the reconciler's one-second margin (Telegram dates are whole seconds)
    headers = bearer(await register_and_login(client, "ada@example.com"))
    await bind(client, headers, phone)
    await asyncio.sleep(1.0)  # several reconciler rounds
    assert await conversation_with(client, headers, old_friend.id) is None
    await sandbox.control.as_user(old_friend).send_message(me, "after the binding", lose_update=True)
    conversation = await eventually(lambda: conversation_with(client, headers, old_friend.id), timeout=10)
    texts = [m["text"] for m in await stored_messages(client, headers, conversation["id"])]
    assert texts == ["after the binding"]
