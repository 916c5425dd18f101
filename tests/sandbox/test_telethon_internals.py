"""The Telethon internals the service reads (app.telegram.internals) against the real client and the sandbox."""

from __future__ import annotations

import asyncio

from telethon import TelegramClient, events, types
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


def test_the_private_methods_the_service_overrides_exist() -> None:
    assert callable(TelegramClient._call)
    assert callable(MemorySession._entity_to_row)
