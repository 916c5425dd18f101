"""Text is sent verbatim by default; parse modes and entities are opt-in; incoming formatting is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from telethon.tl import types

from app.db.models import Event
from app.sandbox.entities import rendered
from tests.domain.messages.support import connected_profile, conversation_with, eventually, stored_messages

pytestmark = pytest.mark.asyncio

VERBATIM = "see __init__.py and **not bold**"


def last_received(user, sender):
    return max((m for m in user.messages.values() if not m.out and m.peer_id == sender.id), key=lambda m: m.id)


async def send(client, s, **body):
    answer = await client.post(
        "/messages/send", json={"phone": s.phone, "tg_receiver": s.contact.username, **body}, headers=s.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_text_arrives_verbatim_by_default(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    body = await send(client, s, text=VERBATIM)
    arrived = last_received(s.contact, s.me)
    assert arrived.text == VERBATIM
    assert arrived.entities == []
    assert body["message"]["text"] == VERBATIM
    assert body["message"]["entities"] is None
    reply = await client.post(
        f"/conversations/{body['conversation_id']}/reply", json={"text": "a *b* _c_"}, headers=s.headers
    )
    assert reply.status_code == 200, reply.text
    assert last_received(s.contact, s.me).text == "a *b* _c_"


async def test_parse_modes_and_explicit_entities_reach_the_peer(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    body = await send(client, s, text="plain **bold**", parse_mode="markdown")
    arrived = last_received(s.contact, s.me)
    assert arrived.text == "plain bold"
    assert [type(e) for e in rendered(arrived.entities)] == [types.MessageEntityBold]
    assert body["message"]["text"] == "plain bold"
    assert body["message"]["entities"] == [{"type": "bold", "offset": 6, "length": 4}]

    await send(client, s, text='<a href="https://example.org">link</a> <i>it</i>', parse_mode="html")
    arrived = last_received(s.contact, s.me)
    assert arrived.text == "link it"
    assert [(type(e), e.offset) for e in rendered(arrived.entities)] == [
        (types.MessageEntityTextUrl, 0),
        (types.MessageEntityItalic, 5),
    ]

    entities = [
        {"type": "code", "offset": 4, "length": 11},
        {"type": "mention_name", "offset": 0, "length": 3, "user_id": s.contact.id},
    ]
    body = await send(client, s, text="Bob __init__.py", entities=entities)
    arrived = last_received(s.contact, s.me)
    assert arrived.text == "Bob __init__.py"
    got = rendered(arrived.entities)
    assert isinstance(got[0], types.MessageEntityCode)
    assert isinstance(got[1], types.MessageEntityMentionName)
    assert got[1].user_id == s.contact.id
    assert body["message"]["entities"] == entities


async def test_bad_entities_are_422(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    base = {"phone": s.phone, "tg_receiver": s.contact.username, "text": "short"}
    for entities in (
        [{"type": "bold", "offset": 3, "length": 5}],
        [{"type": "sparkle", "offset": 0, "length": 1}],
        [{"type": "text_url", "offset": 0, "length": 1}],
        [{"type": "bold", "offset": 0, "length": 1, "url": "https://example.org"}],
    ):
        answer = await client.post("/messages/send", json={**base, "entities": entities}, headers=s.headers)
        assert answer.status_code == 422, (entities, answer.text)
        assert answer.json()["error"]["details"]
    both = {**base, "parse_mode": "html", "entities": [{"type": "bold", "offset": 0, "length": 1}]}
    assert (await client.post("/messages/send", json=both, headers=s.headers)).status_code == 422
    assert (
        await client.post("/messages/send", json={**base, "parse_mode": "rst"}, headers=s.headers)
    ).status_code == 422
    assert last_received_or_none(s.contact, s.me) is None


def last_received_or_none(user, sender):
    found = [m for m in user.messages.values() if not m.out and m.peer_id == sender.id]
    return found[-1] if found else None


async def test_incoming_entities_are_stored_and_returned(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    formatting = [types.MessageEntityBold(0, 4), types.MessageEntityTextUrl(5, 4, "https://example.org")]
    await sandbox.control.as_user(s.contact).send_message(s.me, "bold link", entities=formatting)
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))
    expected = [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_url", "offset": 5, "length": 4, "url": "https://example.org"},
    ]
    assert conversation["last_message"]["entities"] == expected
    items = await stored_messages(client, s.headers, conversation["id"])
    assert items[0]["entities"] == expected
    history = await client.get(
        "/messages/history", params={"phone": s.phone, "peer": s.contact.username}, headers=s.headers
    )
    assert history.status_code == 200, history.text
    assert history.json()["messages"][0]["entities"] == expected
    async with app.state.ctx.sessionmaker() as session:
        event = await session.scalar(select(Event).where(Event.type == "message.received"))
    assert event is not None
    assert event.payload["entities"] == expected
