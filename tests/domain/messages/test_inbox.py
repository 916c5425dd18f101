"""The live stored inbox end to end: sandbox contacts write, edit and delete; the service stores it all."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.db.models import Event, UpdateState
from tests.conftest import bearer, register_and_login
from tests.domain.messages.support import connected_profile, conversation_with, eventually, stored_messages

pytestmark = pytest.mark.asyncio


async def test_incoming_message_is_stored_and_visible_in_conversations(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    await sandbox.control.as_user(s.contact).send_message(s.me, "hello there")

    async def in_conversations():
        return await conversation_with(client, s.headers, s.contact.id)

    conversation = await eventually(in_conversations, timeout=15, what="conversation")
    assert conversation["unread_count"] == 1
    assert conversation["kind"] == "user"
    assert conversation["title"] == "Bob"
    assert conversation["last_message"]["text"] == "hello there"
    assert conversation["last_message"]["direction"] == "in"
    assert conversation["last_message"]["status"] == "received"

    unread = await client.get("/messages/unread", params={"phone": s.phone}, headers=s.headers)
    assert unread.status_code == 200, unread.text
    dialogs = unread.json()["dialogs"]
    assert [d["dialog"]["peer"]["peer_id"] for d in dialogs] == [s.contact.id]
    assert dialogs[0]["dialog"]["unread_count"] == 1
    assert [m["text"] for m in dialogs[0]["messages"]] == ["hello there"]
    # The same through POST, and reading it did not mark it read.
    again = await client.post("/messages/unread", json={"phone": s.phone}, headers=s.headers)
    assert again.json()["total_unread"] == 1

    async with app.state.ctx.sessionmaker() as session:
        types = list(await session.scalars(select(Event.type).where(Event.type == "message.received")))
    assert types == ["message.received"]


async def test_peer_edits_and_deletions_are_reflected(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    actor = sandbox.control.as_user(s.contact)
    first = await actor.send_message(s.me, "first draft")
    second = await actor.send_message(s.me, "to be deleted")
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))

    async def both_stored():
        items = await stored_messages(client, s.headers, conversation["id"])
        return items if len(items) == 2 else None

    await eventually(both_stored)
    await actor.edit_message(s.me, first, "final text")
    await actor.delete_messages(s.me, [second])

    async def reflected():
        items = {m["text"]: m for m in await stored_messages(client, s.headers, conversation["id"])}
        edited, deleted = items.get("final text"), items.get("to be deleted")
        return items if edited and edited["edit_date"] and deleted and deleted["is_deleted"] else None

    items = await eventually(reflected, what="edit and deletion")
    assert items["final text"]["previous_texts"] == ["first draft"]
    assert items["to be deleted"]["deleted_at"] is not None  # content kept
    async with app.state.ctx.sessionmaker() as session:
        kinds = sorted(await session.scalars(select(Event.type).where(Event.type.like("message.%"))))
    assert kinds == ["message.deleted", "message.edited", "message.received", "message.received"]


async def test_messages_sent_while_the_service_is_down_are_stored_exactly_once_after_restart(app, sandbox):
    import httpx

    from app.server.app import create_app
    from tests.conftest import running

    def http(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async with running(app), http(app) as client:
        s = await connected_profile(client, app, sandbox)
        await sandbox.control.as_user(s.contact).send_message(s.me, "before the restart")
        conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))

        async def checkpointed():
            async with app.state.ctx.sessionmaker() as session:
                return await session.scalar(select(UpdateState.pts).where(UpdateState.profile_id == s.profile_id))

        await eventually(checkpointed, what="a stored update state")

    actor = sandbox.control.as_user(s.contact)
    for n in range(50):
        await actor.send_message(s.me, f"while down {n}")

    restarted = create_app(app.state.ctx.settings)
    try:
        async with running(restarted), http(restarted) as client:

            async def all_fifty():
                items = await stored_messages(client, s.headers, conversation["id"])
                return items if len(items) >= 51 else None

            await eventually(all_fifty, timeout=15, what="51 stored messages")
            await asyncio.sleep(0.3)  # anything replayed twice would land now
            items = await stored_messages(client, s.headers, conversation["id"])
            texts = [m["text"] for m in items]
            assert len(texts) == 51
            assert sorted(texts) == sorted(["before the restart", *(f"while down {n}" for n in range(50))])
            assert len({m["telegram_message_id"] for m in items}) == 51
            async with restarted.state.ctx.sessionmaker() as session:
                received = await session.scalar(
                    select(func.count()).select_from(Event).where(Event.type == "message.received")
                )
            assert received == 51
    finally:
        await restarted.state.ctx.engine.dispose()


async def test_outgoing_messages_from_another_device_are_stored(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    await sandbox.control.as_user(s.me).send_message(s.contact, "typed on my phone")

    async def stored_out():
        conversation = await conversation_with(client, s.headers, s.contact.id)
        return conversation if conversation and conversation["last_message"]["direction"] == "out" else None

    conversation = await eventually(stored_out)
    assert conversation["last_message"]["status"] == "sent"
    assert conversation["unread_count"] == 0


async def test_conversations_of_another_user_are_not_found(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    await sandbox.control.as_user(s.contact).send_message(s.me, "private")
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))
    other = bearer(await register_and_login(client, "eve@example.com"))
    assert (await client.get("/conversations", headers=other)).json() == {"profiles": []}
    for method, path, body in [
        ("GET", f"/conversations/{conversation['id']}/messages", None),
        ("POST", f"/conversations/{conversation['id']}/reply", {"text": "hi"}),
    ]:
        response = await client.request(method, path, json=body, headers=other)
        assert response.status_code == 404, response.text
    response = await client.get("/conversations", params={"phone": s.phone}, headers=other)
    assert response.status_code == 404


async def test_deleting_a_profile_keeps_history_only_when_asked(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    await sandbox.control.as_user(s.contact).send_message(s.me, "keep me")
    await eventually(lambda: conversation_with(client, s.headers, s.contact.id))
    deleted = await client.delete(f"/profiles/{s.phone}", params={"keep_history": "true"}, headers=s.headers)
    assert deleted.status_code == 204, deleted.text
    kept = await conversation_with(client, s.headers, s.contact.id)
    assert kept is not None
    assert kept["profile_id"] is None
    assert kept["phone"] == s.phone
    reply = await client.post(f"/conversations/{kept['id']}/reply", json={"text": "hi"}, headers=s.headers)
    assert reply.status_code == 409

    t = await connected_profile(client, app, sandbox, email="bea@example.com")
    await sandbox.control.as_user(t.contact).send_message(t.me, "forget me")
    await eventually(lambda: conversation_with(client, t.headers, t.contact.id))
    assert (await client.delete(f"/profiles/{t.phone}", headers=t.headers)).status_code == 204
    assert await conversation_with(client, t.headers, t.contact.id) is None
