"""Private chats: dialogs, history, send, read, resolve, and pushed events (new, edited, deleted, read)."""

from __future__ import annotations

import asyncio

from telethon import events, functions, types

from app.sandbox import SandboxDC

from .conftest import wait_for


def collect(client, event_type) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()

    async def on_event(event) -> None:
        queue.put_nowait(event)

    client.add_event_handler(on_event, event_type)
    return queue


async def test_dialogs_history_send_and_read(dc: SandboxDC, login_as, alice, bob) -> None:
    bob_as = dc.control.as_user(bob)
    first = await bob_as.send_message(alice, "one")
    await bob_as.send_message(alice, "two")
    client = await login_as(alice)

    dialogs = await client.get_dialogs()
    assert [(d.entity.id, d.message.message, d.unread_count) for d in dialogs] == [(bob.id, "two", 2)]

    history = await client.get_messages("bob", limit=10)
    assert [m.message for m in history] == ["two", "one"]
    assert all(m.sender_id == bob.id and not m.out for m in history)
    assert first == 1  # bob's own copy; alice's copy has alice's id sequence

    sent = await client.send_message("bob", "hi bob", reply_to=history[0].id)
    assert sent.out
    assert sent.message == "hi bob"
    bob_copy = max(dc.control.user(bob).messages.values(), key=lambda m: m.id)
    assert bob_copy.text == "hi bob"
    assert not bob_copy.out
    assert bob_copy.reply_to is not None

    await client.send_read_acknowledge("bob")
    dialogs = await client.get_dialogs()
    assert dialogs[0].unread_count == 0
    assert dc.control.user(bob).dialogs[alice.id].read_outbox_max_id == 2


async def test_paged_history_and_get_by_ids(dc: SandboxDC, login_as, alice, bob) -> None:
    for i in range(150):
        await dc.control.as_user(bob).send_message(alice, f"m{i}")
    client = await login_as(alice)
    messages = await client.get_messages("bob", limit=None)
    assert [m.message for m in messages] == [f"m{i}" for i in reversed(range(150))]
    oldest = await client.get_messages("bob", limit=5, reverse=True)
    assert [m.message for m in oldest] == ["m0", "m1", "m2", "m3", "m4"]
    by_id = await client.get_messages("bob", ids=[1, 2, 999])
    assert [m.message if m else None for m in by_id] == ["m0", "m1", None]
    found = await client.get_messages("bob", search="m14", limit=20)
    assert {m.message for m in found} == {
        "m14",
        "m140",
        "m141",
        "m142",
        "m143",
        "m144",
        "m145",
        "m146",
        "m147",
        "m148",
        "m149",
    }


async def test_resolve_username_and_full_user(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    entity = await client.get_entity("@bob")
    assert isinstance(entity, types.User)
    assert entity.id == bob.id
    assert entity.access_hash == bob.access_hash_for(alice.id) != bob.access_hash_for(bob.id)
    full = await client(functions.users.GetFullUserRequest(entity))
    assert full.full_user.id == bob.id
    assert await client(functions.messages.SetTypingRequest("bob", types.SendMessageTypingAction()))


async def test_private_events_new_edited_deleted_read(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    new = collect(client, events.NewMessage())
    edited = collect(client, events.MessageEdited())
    deleted = collect(client, events.MessageDeleted())
    read = collect(client, events.MessageRead())
    bob_as = dc.control.as_user(bob)

    bob_msg = await bob_as.send_message(alice, "hello")
    event = await asyncio.wait_for(new.get(), 5)
    assert event.raw_text == "hello"
    assert event.sender_id == bob.id
    assert event.is_private

    await bob_as.edit_message(alice, bob_msg, "hello, edited")
    event = await asyncio.wait_for(edited.get(), 5)
    assert event.raw_text == "hello, edited"
    assert event.id == event.message.id

    await bob_as.delete_messages(alice, [bob_msg], revoke=True)
    event = await asyncio.wait_for(deleted.get(), 5)
    assert event.deleted_ids == [event.deleted_id]

    mine = await client.send_message("bob", "please read")
    await bob_as.read_history(alice)
    event = await asyncio.wait_for(read.get(), 5)
    assert event.outbox
    assert event.max_id == mine.id


async def test_own_edits_and_deletes_keep_pts_consistent(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    msg = await client.send_message("bob", "draft")
    await client.edit_message("bob", msg.id, "final")
    await client.delete_messages("bob", [msg.id])
    new = collect(client, events.NewMessage())
    await dc.control.as_user(bob).send_message(alice, "after")
    event = await asyncio.wait_for(new.get(), 5)
    assert event.raw_text == "after"
    # No gap was detected, so the client never had to fetch a difference beyond the login one.
    assert dc.control.counters.requests["updates.GetDifferenceRequest"] <= 2


async def test_private_messages_sent_while_offline_arrive_after_reconnect(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    new = collect(client, events.NewMessage())
    await client.disconnect()
    await dc.control.as_user(bob).send_message(alice, "while you were away")
    await client.connect()
    event = await asyncio.wait_for(new.get(), 5)
    assert event.raw_text == "while you were away"


async def test_dropped_connection_reconnects_and_catches_up(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    new = collect(client, events.NewMessage())
    dc.control.drop_connections(alice)
    await dc.control.as_user(bob).send_message(alice, "during the outage")
    event = await asyncio.wait_for(new.get(), 10)
    assert event.raw_text == "during the outage"
    await wait_for(lambda: dc.control.counters.auth_key_duplicated == 0)
