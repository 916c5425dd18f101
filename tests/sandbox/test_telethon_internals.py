"""The Telethon internals the service reads (app.telegram.internals) against the real client and the sandbox."""

from __future__ import annotations

import asyncio

from telethon import TelegramClient, events, functions, types
from telethon.sessions import MemorySession

from app.sandbox import SandboxDC
from app.telegram import internals


async def test_the_internals_the_service_reads_are_where_it_reads_them(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    received: asyncio.Queue = asyncio.Queue()

    async def on_new(event) -> None:
        received.put_nowait(event.message)

    client.add_event_handler(on_new, events.NewMessage())
    await dc.control.as_user(bob).send_message(alice, "hello")
    message = await asyncio.wait_for(received.get(), 5)

    sender = internals.cached_sender(message)
    assert isinstance(sender, types.User)
    assert sender.id == bob.id
    state = internals.message_box_state(client)
    assert state is not None
    account, channels = state
    assert account["pts"] > 0
    assert internals.account_date(account) > 0
    assert isinstance(channels, dict)
    assert isinstance(internals.dispatching(client), bool)
    assert internals.channel_access_hash(client, 424242) is None  # a channel this client never saw


async def test_the_message_box_keeps_the_access_hash_of_a_channel_it_saw(dc: SandboxDC, login_as, alice, bob) -> None:
    news = dc.control.create_channel(title="Pinned", username="pinned_news", creator=bob, broadcast=True)
    client = await login_as(alice)
    received: asyncio.Queue = asyncio.Queue()

    async def on_new(event) -> None:
        received.put_nowait(event.message)

    client.add_event_handler(on_new, events.NewMessage())
    entity = await client.get_entity("pinned_news")
    await client(functions.channels.JoinChannelRequest(entity))
    await dc.control.as_user(bob).post(news, "a post")  # its update carries the channel into the MessageBox
    await asyncio.wait_for(received.get(), 5)
    assert internals.channel_access_hash(client, news.id) == entity.access_hash
    state = internals.message_box_state(client)
    assert state is not None
    assert news.id in state[1]  # the channel's own pts


async def test_every_private_name_is_where_the_service_reads_it(dc: SandboxDC, make_client) -> None:
    instances: dict[type, object] = {TelegramClient: make_client(None), MemorySession: MemorySession()}
    for cls, names in internals.PRIVATE_NAMES.items():
        for name in names:
            assert hasattr(instances.get(cls, cls), name), f"Telethon's {cls.__name__} has no {name} any more"
    assert callable(TelegramClient._call)
    assert callable(MemorySession._entity_to_row)


async def test_a_raw_service_message_gets_its_sender_and_chat(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    await client.get_dialogs()
    received: asyncio.Queue = asyncio.Queue()

    async def on_raw(update) -> None:
        if isinstance(update.message, types.MessageService):
            internals.finish_message(client, update.message, update)
            received.put_nowait(update.message)

    client.add_event_handler(on_raw, events.Raw(types=[types.UpdateNewMessage]))
    group = dc.control.create_group("Team", creator=bob, members=[alice])
    message = await asyncio.wait_for(received.get(), 5)
    assert isinstance(internals.cached_sender(message), types.User)
    assert internals.cached_sender(message).id == bob.id
    assert isinstance(message.chat, types.Chat)
    assert message.chat.id == group.id
