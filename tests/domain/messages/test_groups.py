"""Groups in the stored inbox end to end, through the HTTP API against the sandbox: basic groups and supergroups
as conversations, a sender on every message, replies, service messages, and a basic group upgraded to a
supergroup that stays one conversation with its whole history."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from app.db.models import Event, UpdateState
from app.telegram.records import marked_channel_id
from tests.domain.messages.support import (
    connected_profile,
    conversation_with,
    eventually,
    new_contact,
    stored_messages,
)

pytestmark = pytest.mark.asyncio


def _copy_of(user: Any, group: Any, text: str) -> int:
    """The id of `user`'s own copy of the group message with `text` (basic groups number per account)."""
    return next(m.id for m in user.messages.values() if m.peer_id == group.id and m.text == text)


async def _messages_where(client, headers, conversation_id, predicate, what):
    async def probe():
        items = await stored_messages(client, headers, conversation_id)
        return items if predicate(items) else None

    return await eventually(probe, timeout=15, what=what)


async def test_basic_group_messages_have_senders_replies_and_service_messages(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    carol = new_contact(sandbox, "Carol")
    group = sandbox.control.create_group("Team", creator=s.contact, members=[s.me, carol])
    carol_as, bob_as = sandbox.control.as_user(carol), sandbox.control.as_user(s.contact)
    await carol_as.send_message(group, "hello from carol")
    await bob_as.send_message(group, "hi carol", reply_to=_copy_of(s.contact, group, "hello from carol"))

    conversation = await eventually(lambda: conversation_with(client, s.headers, -group.id), what="conversation")
    assert conversation["kind"] == "group"
    assert conversation["title"] == "Team"
    items = await _messages_where(
        client, s.headers, conversation["id"], lambda items: len(items) == 3, "three stored messages"
    )
    by_text = {m["text"]: m for m in items}
    created = next(m for m in items if m["media_type"] == "service")
    assert created["media"] == {
        "action": "MessageActionChatCreate",
        "title": "Team",
        "users": [s.contact.id, s.me.id, carol.id],
    }
    assert (created["sender_id"], created["sender_name"]) == (s.contact.id, "Bob")
    assert (by_text["hello from carol"]["sender_id"], by_text["hello from carol"]["sender_name"]) == (carol.id, "Carol")
    assert by_text["hi carol"]["sender_name"] == "Bob"
    # The reply names the profile's own copy of Carol's message (ids of the account's box).
    assert by_text["hi carol"]["reply_to"] == by_text["hello from carol"]["telegram_message_id"]
    assert by_text["hello from carol"]["telegram_message_id"] == _copy_of(s.me, group, "hello from carol")
    assert conversation["last_message"]["sender_name"] in {"Bob", "Carol"}

    # Edits and deletions in the account's box reach the stored rows; a title change is a service message.
    carol_id = _copy_of(carol, group, "hello from carol")
    await carol_as.edit_message(group, carol_id, "hello from carol (edited)")
    await bob_as.delete_messages(group, [_copy_of(s.contact, group, "hi carol")], revoke=True)
    sandbox.control.edit_group_title(group, "Team B", by=carol)

    def settled(items):
        texts = {m["text"]: m for m in items}
        edited, gone = texts.get("hello from carol (edited)"), texts.get("hi carol")
        renamed = [m for m in items if (m["media"] or {}).get("action") == "MessageActionChatEditTitle"]
        return edited and edited["edit_date"] and gone and gone["is_deleted"] and renamed

    items = await _messages_where(client, s.headers, conversation["id"], settled, "edit, deletion and rename")
    renamed = next(m for m in items if (m["media"] or {}).get("action") == "MessageActionChatEditTitle")
    assert (renamed["media"]["title"], renamed["sender_name"]) == ("Team B", "Carol")
    assert (await conversation_with(client, s.headers, -group.id))["title"] == "Team B"

    # The profile replies in the group: Bob's and Carol's boxes get it from the profile's account.
    reply = await client.post(
        f"/conversations/{conversation['id']}/reply", json={"text": "hello both"}, headers=s.headers
    )
    assert reply.status_code in (200, 201), reply.text
    await eventually(lambda: _async(any(m.text == "hello both" for m in carol.messages.values())), what="delivery")
    theirs = next(m for m in carol.messages.values() if m.text == "hello both")
    assert (theirs.peer_kind, theirs.peer_id, theirs.from_id) == ("chat", group.id, s.me.id)
    items = await stored_messages(client, s.headers, conversation["id"])
    assert len({m["telegram_message_id"] for m in items}) == len(items)  # nothing twice
    ours = next(m for m in items if m["text"] == "hello both")
    assert (ours["direction"], ours["sender_id"], ours["sender_name"]) == (
        "out",
        s.me.id,
        f"{s.me.first_name} {s.me.last_name}".strip(),
    )


async def test_supergroup_members_are_senders_of_their_messages(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    carol = new_contact(sandbox, "Carol")
    lounge = sandbox.control.create_channel(
        title="Lounge", creator=s.contact, broadcast=False, members=[s.me, carol], private=True
    )
    first = await sandbox.control.as_user(carol).send_message(lounge, "carol here")
    await sandbox.control.as_user(s.contact).send_message(lounge, "bob replies", reply_to=first)
    conversation = await eventually(
        lambda: conversation_with(client, s.headers, marked_channel_id(lounge.id)), what="supergroup conversation"
    )
    assert conversation["kind"] == "supergroup"
    items = await _messages_where(client, s.headers, conversation["id"], lambda i: len(i) == 2, "two posts")
    by_text = {m["text"]: m for m in items}
    assert (by_text["carol here"]["sender_id"], by_text["carol here"]["sender_name"]) == (carol.id, "Carol")
    assert (by_text["bob replies"]["sender_name"], by_text["bob replies"]["reply_to"]) == ("Bob", first)


async def test_a_basic_group_upgraded_to_a_supergroup_stays_one_conversation(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    group = sandbox.control.create_group("Team", creator=s.contact, members=[s.me])
    bob_as = sandbox.control.as_user(s.contact)
    await bob_as.send_message(group, "before the upgrade")
    before = await eventually(lambda: conversation_with(client, s.headers, -group.id), what="group conversation")
    await _messages_where(client, s.headers, before["id"], lambda i: len(i) == 2, "group history")

    supergroup = sandbox.control.migrate_group(group)
    await bob_as.send_message(supergroup, "after the upgrade")
    channel_peer = marked_channel_id(supergroup.id)

    async def upgraded():
        found = await conversation_with(client, s.headers, channel_peer)
        return found if found and found["last_message"]["text"] == "after the upgrade" else None

    after = await eventually(upgraded, what="the upgraded conversation")
    assert after["id"] == before["id"]  # one conversation: it kept its id and gained the supergroup's peer
    assert after["kind"] == "supergroup"
    assert await conversation_with(client, s.headers, -group.id) is None  # not listed twice
    items = await _messages_where(client, s.headers, after["id"], lambda i: len(i) == 5, "the whole history")
    oldest_first = [(m["media"] or {}).get("action") or m["text"] for m in reversed(items)]
    assert sorted(oldest_first) == sorted(
        [
            "MessageActionChatCreate",
            "before the upgrade",
            "MessageActionChatMigrateTo",
            "MessageActionChannelMigrateFrom",
            "after the upgrade",
        ]
    )
    assert oldest_first[:2] == ["MessageActionChatCreate", "before the upgrade"]
    assert oldest_first[-1] == "after the upgrade"
    migrate_to = next(m for m in items if (m["media"] or {}).get("action") == "MessageActionChatMigrateTo")
    assert migrate_to["media"]["channel_id"] == supergroup.id

    # Replies go to the supergroup now.
    reply = await client.post(f"/conversations/{after['id']}/reply", json={"text": "upgraded!"}, headers=s.headers)
    assert reply.status_code in (200, 201), reply.text
    await eventually(
        lambda: _async(any(m.text == "upgraded!" for m in supergroup.messages.values())), what="reply delivered"
    )
    assert next(m for m in supergroup.messages.values() if m.text == "upgraded!").from_id == s.me.id


async def test_group_messages_missed_while_down_are_stored_once_after_restart(app, sandbox):
    import httpx

    from app.server.app import create_app
    from tests.conftest import running

    def http(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async with running(app), http(app) as client:
        s = await connected_profile(client, app, sandbox)
        group = sandbox.control.create_group("Night shift", creator=s.contact, members=[s.me])
        conversation = await eventually(lambda: conversation_with(client, s.headers, -group.id))

        async def checkpointed():
            async with app.state.ctx.sessionmaker() as session:
                pts = await session.scalar(
                    select(UpdateState.pts).where(UpdateState.profile_id == s.profile_id, UpdateState.entity_id == 0)
                )
            return pts if pts and pts >= s.me.log.pts else None

        await eventually(checkpointed, what="a stored update state")

    bob_as = sandbox.control.as_user(s.contact)
    for n in range(5):
        await bob_as.send_message(group, f"while down {n}")
    sandbox.control.edit_group_title(group, "Day shift")

    restarted = create_app(app.state.ctx.settings)
    try:
        async with running(restarted), http(restarted) as client:
            items = await _messages_where(
                client, s.headers, conversation["id"], lambda i: len(i) >= 7, "the missed messages"
            )
            await asyncio.sleep(0.3)  # anything replayed twice would land now
            items = await stored_messages(client, s.headers, conversation["id"])
            assert len(items) == 7  # created, five messages, the rename: each once
            assert len({m["telegram_message_id"] for m in items}) == 7
            assert {m["sender_name"] for m in items} == {"Bob"}
            async with restarted.state.ctx.sessionmaker() as session:
                announced = list(await session.scalars(select(Event.payload).where(Event.type == "message.received")))
            assert sum(1 for payload in announced if payload["conversation_id"] == conversation["id"]) == 7
    finally:
        await restarted.state.ctx.engine.dispose()


async def _async(value: Any) -> Any:
    return value


async def _ingest(app, records) -> None:
    for record in records:
        await app.state.ctx.ingest.queue.put(record)
    await asyncio.wait_for(app.state.ctx.ingest.queue.join(), 15)


def _records(s, owner_id):
    """Updates of an upgrade as a profile's feed hands them to the ingest writer (group 7001 -> channel 7002)."""
    from datetime import UTC, datetime

    from app.telegram.records import MessageInfo, PeerInfo
    from app.telegram.updates import NewMessage, ProfileRef

    profile = ProfileRef(s.profile_id, owner_id, s.phone)
    group = PeerInfo(peer_id=-7001, kind="group", title="Old")
    channel = PeerInfo(peer_id=marked_channel_id(7002), kind="supergroup", title="Old", access_hash=99)

    def new(chat, msg_id, text="", **service):
        media = {"action": service.pop("action"), **service} if service else None
        info = MessageInfo(
            id=msg_id,
            out=False,
            date=datetime.now(UTC),
            text=text,
            sender_id=s.contact.id,
            sender_name="Bob",
            media_type="service" if media else None,
            media=media,
        )
        return NewMessage(profile, chat, info, 0.0)

    return {
        "group_message": new(group, 40, "in the group"),
        "migrate_to": new(group, 41, action="MessageActionChatMigrateTo", channel_id=7002),
        "migrate_from": new(channel, 1, action="MessageActionChannelMigrateFrom", title="Old", chat_id=7001),
        "channel_message": new(channel, 2, "in the supergroup"),
    }


async def _owner_of(app, profile_id):
    from app.db.models import TelegramProfile

    async with app.state.ctx.sessionmaker() as session:
        return (await session.get(TelegramProfile, profile_id)).owner_id


@pytest.mark.parametrize("order", ["group_first", "supergroup_update_first", "supergroup_seen_first"])
async def test_an_upgrade_links_in_whatever_order_its_updates_arrive(client, app, sandbox, order):
    s = await connected_profile(client, app, sandbox)
    r = _records(s, await _owner_of(app, s.profile_id))
    if order == "supergroup_seen_first":  # the supergroup's row exists before the group's: it stays the conversation
        await _ingest(app, [r["migrate_from"], r["channel_message"]])
        first = await conversation_with(client, s.headers, marked_channel_id(7002))
        await _ingest(app, [r["group_message"], r["migrate_to"]])
    else:
        await _ingest(app, [r["group_message"]])
        first = await conversation_with(client, s.headers, -7001)
        rest = ["migrate_to", "migrate_from", "channel_message"]
        if order == "supergroup_update_first":  # the channel's updates may be dispatched before the group's
            rest = ["migrate_from", "channel_message", "migrate_to"]
        await _ingest(app, [r[name] for name in rest])
    await _ingest(app, list(r.values()))  # a replay changes nothing

    conversation = await conversation_with(client, s.headers, marked_channel_id(7002))
    assert conversation is not None
    assert conversation["id"] == first["id"]
    assert conversation["kind"] == "supergroup"
    assert await conversation_with(client, s.headers, -7001) is None
    items = await stored_messages(client, s.headers, conversation["id"])
    assert sorted(m["text"] or m["media"]["action"] for m in items) == [
        "MessageActionChannelMigrateFrom",
        "MessageActionChatMigrateTo",
        "in the group",
        "in the supergroup",
    ]
    assert conversation["unread_count"] == 4


async def test_history_and_send_name_a_basic_group_by_its_id(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    group = sandbox.control.create_group("Desk", creator=s.contact, members=[s.me])
    await sandbox.control.as_user(s.contact).send_message(group, "morning")
    await eventually(lambda: conversation_with(client, s.headers, -group.id), what="group conversation")

    history = await client.get(
        "/messages/history", params={"phone": s.phone, "peer": str(-group.id)}, headers=s.headers
    )
    assert history.status_code == 200, history.text
    body = history.json()
    assert (body["peer"]["peer_id"], body["peer"]["kind"], body["peer"]["title"]) == (-group.id, "group", "Desk")
    assert next((m["text"], m["sender_name"]) for m in body["messages"]) == ("morning", "Bob")
    assert body["messages"][-1]["media"]["action"] == "MessageActionChatCreate"

    sent = await client.post(
        "/messages/send", json={"phone": s.phone, "text": "hi desk", "tg_receiver": str(-group.id)}, headers=s.headers
    )
    assert sent.status_code in (200, 201), sent.text
    theirs = [m for m in s.contact.messages.values() if m.peer_id == group.id and m.text == "hi desk"]
    assert [(m.peer_kind, m.from_id) for m in theirs] == [("chat", s.me.id)]
