"""differenceTooLong for the account: Telegram replays no edit or deletion either. Those of a chat that got no
new message (a quiet chat) are refreshed from its newest window, announced once, and what lies beyond the window
is announced as an unchecked `gap`."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import Chat, Event, Message, UpdateState
from app.server.app import create_app
from tests.conftest import bearer, register_and_login, running
from tests.domain.messages.support import conversation_with, eventually, new_contact, stored_messages
from tests.domain.profiles.test_binding import bind

pytestmark = pytest.mark.asyncio


def http(application: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _events(application: Any, kind: str) -> list[dict[str, Any]]:
    async with application.state.ctx.sessionmaker() as session:
        rows = await session.scalars(select(Event).where(Event.type == kind).order_by(Event.created_at))
        return [dict(r.payload) for r in rows]


async def _rows(application: Any, profile_id: uuid.UUID, peer_id: int) -> dict[str, Message]:
    async with application.state.ctx.sessionmaker() as session:
        rows = await session.scalars(
            select(Message)
            .join(Chat, Chat.id == Message.chat_id)
            .where(Chat.profile_id == profile_id, Chat.peer_id == peer_id)
        )
        return {row.text or "": row for row in rows}


@pytest.mark.parametrize("settings_overrides", [{"GAP_REFRESH_MESSAGES": "3"}], indirect=True)
async def test_edits_and_deletions_of_a_quiet_chat_survive_difference_too_long(app, sandbox):
    async with running(app), http(app) as client:
        headers = bearer(await register_and_login(client, "quietgap@example.com"))
        profile = await bind(client, headers)
        profile_id = uuid.UUID(profile["id"])
        assert await app.state.ctx.telegram.runtime.wait_connected(profile_id, timeout=10)
        me = sandbox.control.user(profile["phone"])
        quiet, busy = new_contact(sandbox, "Quiet"), new_contact(sandbox, "Busy")
        quiet_actor, busy_actor = sandbox.control.as_user(quiet), sandbox.control.as_user(busy)
        sent = [await quiet_actor.send_message(me, f"quiet {n}") for n in range(5)]
        await busy_actor.send_message(me, "busy before")
        chat = await eventually(lambda: conversation_with(client, headers, quiet.id), what="the quiet chat")
        busy_chat = await eventually(lambda: conversation_with(client, headers, busy.id), what="the busy chat")

        async def settled() -> bool:
            async with app.state.ctx.sessionmaker() as session:
                pts = await session.scalar(
                    select(UpdateState.pts).where(UpdateState.profile_id == profile_id, UpdateState.entity_id == 0)
                )
            return bool(pts and pts >= me.log.pts) and len(await stored_messages(client, headers, chat["id"])) == 5

        await eventually(settled, what="all stored and the account state checkpointed")
    # While the service is down: an edit and a deletion in the quiet chat, and enough traffic elsewhere that
    # Telegram answers differenceTooLong. The quiet chat's newest message does not change.
    await quiet_actor.edit_message(me, sent[3], "quiet 3 edited")
    await quiet_actor.delete_messages(me, [sent[2]])
    for n in range(30):
        await busy_actor.send_message(me, f"busy {n}")
    sandbox.limits.account_difference_bound = 10
    restarted = create_app(app.state.ctx.settings)
    try:
        async with running(restarted), http(restarted) as client:

            async def refreshed() -> dict[str, Message] | None:
                rows = await _rows(restarted, profile_id, quiet.id)
                return rows if "quiet 3 edited" in rows and rows["quiet 2"].is_deleted else None

            rows = await eventually(refreshed, timeout=20, what="the quiet chat's edit and deletion refreshed")
            gaps = await eventually(lambda: _events(restarted, "gap"), timeout=20, what="the unchecked gap")
            busy_items = await eventually(
                lambda: _at_least(client, headers, busy_chat["id"], 31), timeout=20, what="the busy chat caught up"
            )
            await asyncio.sleep(0.5)  # a duplicate would land now
            edited = [e for e in await _events(restarted, "message.edited") if e.get("text") == "quiet 3 edited"]
            deleted = [e for e in await _events(restarted, "message.deleted") if e.get("conversation_id") == chat["id"]]
            assert len(edited) == 1, edited
            assert len(deleted) == 1, deleted
            assert not rows["quiet 4"].is_deleted
            assert not rows["quiet 1"].is_deleted
            [gap] = [g for g in await _events(restarted, "gap") if g["peer"]["id"] == quiet.id]
            assert gap["unchecked"] is True
            # The window is the 3 newest (quiet 4, 3 and 1): stored `quiet 0` lies beyond it.
            assert gap["after_id"] == rows["quiet 0"].telegram_message_id - 1
            assert gap["before_id"] == rows["quiet 1"].telegram_message_id
            assert len(gaps) >= 1
            assert len({i["telegram_message_id"] for i in busy_items}) == 31
    finally:
        sandbox.limits.account_difference_bound = 1_000_000
        await restarted.state.ctx.engine.dispose()


async def _at_least(client: httpx.AsyncClient, headers: dict[str, str], conversation_id: str, n: int) -> Any:
    items = await stored_messages(client, headers, conversation_id)
    return items if len(items) >= n else None


async def test_an_edit_in_a_quiet_chat_dropped_with_updates_too_long_is_refreshed(client, app, sandbox):
    from tests.domain.messages.support import connected_profile

    s = await connected_profile(client, app, sandbox, email="quiettoolong@example.com")
    quiet, busy = sandbox.control.as_user(s.contact), sandbox.control.as_user(new_contact(sandbox, "Busy"))
    sent = [await quiet.send_message(s.me, f"calm {n}") for n in range(3)]
    chat = await eventually(lambda: conversation_with(client, s.headers, s.contact.id), what="the quiet chat")
    await eventually(lambda: _at_least(client, s.headers, chat["id"], 3), what="three stored")
    sandbox.limits.account_difference_bound = 10
    try:
        sandbox.control.drop_connections(s.me)  # Telethon reconnects on its own
        await quiet.edit_message(s.me, sent[1], "calm 1 edited")
        for n in range(30):
            await busy.send_message(s.me, f"noise {n}")
        sandbox.control.push_updates_too_long(s.me)  # Telegram dropped the updates; the difference is too long

        async def refreshed() -> bool:
            return "calm 1 edited" in await _rows(app, s.profile_id, s.contact.id)

        await eventually(refreshed, timeout=20, what="the quiet chat's edit refreshed")
    finally:
        sandbox.limits.account_difference_bound = 1_000_000
    await asyncio.sleep(0.5)  # a duplicate would land now
    edited = [e for e in await _events(app, "message.edited") if e.get("text") == "calm 1 edited"]
    assert len(edited) == 1, edited
