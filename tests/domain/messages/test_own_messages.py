"""Editing and deleting the profile's own messages through the HTTP API: done at Telegram (the sandbox, with
Telegram's refusals), stored, and announced once even when the update of the same change arrives too."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db.models import Event
from app.sandbox.edits import EDIT_WINDOW_S
from tests.domain.messages.support import connected_profile, eventually, stored_messages

pytestmark = pytest.mark.asyncio


async def sent_message(client, s, text):
    body = {"phone": s.phone, "text": text, "tg_receiver": f"@{s.contact.username}"}
    sent = await client.post("/messages/send", json=body, headers=s.headers)
    assert sent.status_code == 200, sent.text
    return sent.json()


def peer_copy(s, telegram_id):
    """The contact's copy of the profile's message `telegram_id`, or None once deleted."""
    own = s.me.messages.get(telegram_id)
    if own is None:
        return None
    return s.contact.messages.get(own.twin_id)


async def settled(client, app, sandbox, s, marker):
    """Wait until a later incoming message is stored: every update before it has been ingested too."""
    await sandbox.control.as_user(s.contact).send_message(s.me, marker)

    async def stored():
        items = await stored_messages(client, s.headers, conversation_id)
        return any(m["text"] == marker for m in items)

    conversation_id = s.conversation_id
    await eventually(stored, what=f"{marker!r} stored")
    async with app.state.ctx.sessionmaker() as session:
        changes = select(Event.type).where(Event.type.in_(("message.edited", "message.deleted")))
        return list(await session.scalars(changes))


async def test_edit_then_delete_an_own_message(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    first = await sent_message(client, s, "first draft")
    s.conversation_id = first["conversation_id"]
    url = f"/conversations/{first['conversation_id']}/messages/{first['message']['id']}"
    telegram_id = first["message"]["telegram_message_id"]

    edited = await client.patch(url, json={"text": "final text"}, headers=s.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["text"] == "final text"
    assert edited.json()["edit_date"] is not None
    assert peer_copy(s, telegram_id).text == "final text"
    unchanged = await client.patch(url, json={"text": "final text"}, headers=s.headers)
    assert unchanged.status_code == 400, unchanged.text
    assert unchanged.json()["error"]["code"] == "MESSAGE_NOT_MODIFIED"
    assert await settled(client, app, sandbox, s, "after the edit") == ["message.edited"]
    items = {m["id"]: m for m in await stored_messages(client, s.headers, first["conversation_id"])}
    assert items[first["message"]["id"]]["previous_texts"] == ["first draft"]

    deleted = await client.delete(url, headers=s.headers)
    assert deleted.status_code == 204, deleted.text
    assert peer_copy(s, telegram_id) is None  # revoked: gone for the contact too
    assert sorted(await settled(client, app, sandbox, s, "after the delete")) == ["message.deleted", "message.edited"]
    again = await client.delete(url, headers=s.headers)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "message_deleted"


async def test_telegrams_refusals_and_other_tenants(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    old = await sent_message(client, s, "old news")
    url = f"/conversations/{old['conversation_id']}/messages/{old['message']['id']}"
    s.me.messages[old["message"]["telegram_message_id"]].date -= EDIT_WINDOW_S + 60  # sent two days ago
    late = await client.patch(url, json={"text": "too late"}, headers=s.headers)
    assert late.status_code == 400, late.text
    assert late.json()["error"]["code"] == "MESSAGE_EDIT_TIME_EXPIRED"
    for bad in ({"text": ""}, {"text": "x" * 4097}, {"text": "ok", "extra": 1}):
        assert (await client.patch(url, json=bad, headers=s.headers)).status_code == 422, bad

    await sandbox.control.as_user(s.contact).send_message(s.me, "theirs")

    async def incoming():
        items = await stored_messages(client, s.headers, old["conversation_id"])
        return next((m for m in items if m["text"] == "theirs"), None)

    theirs = await eventually(incoming, what="incoming stored")
    refused = await client.patch(
        f"/conversations/{old['conversation_id']}/messages/{theirs['id']}", json={"text": "mine now"}, headers=s.headers
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "MESSAGE_AUTHOR_REQUIRED"

    other = await connected_profile(client, app, sandbox, email="eve@example.com")
    foreign = await client.patch(url, json={"text": "hijack"}, headers=other.headers)
    assert foreign.status_code == 404, foreign.text
    assert (await client.delete(url, headers=other.headers)).status_code == 404
    missing = f"/conversations/{old['conversation_id']}/messages/0190a9e2-7b7c-7000-8000-000000000001"
    assert (await client.delete(missing, headers=s.headers)).status_code == 404
