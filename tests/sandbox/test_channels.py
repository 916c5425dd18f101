"""Channels and megagroups: join, history, events, offline catch-up via getChannelDifference, and limits."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors, events, functions, types, utils

from app.sandbox import SandboxDC

from .test_messaging import collect


@pytest.fixture
def news(dc: SandboxDC, bob):
    return dc.control.create_channel(title="News", username="news", creator=bob, broadcast=True)


async def test_join_channel_then_read_history(dc: SandboxDC, login_as, alice, bob, news) -> None:
    await dc.control.as_user(bob).post(news, "first post")
    client = await login_as(alice)
    entity = await client.get_entity("news")
    assert isinstance(entity, types.Channel)
    assert entity.left
    assert entity.broadcast
    result = await client(functions.channels.JoinChannelRequest(entity))
    assert isinstance(result, types.messages.ChatInviteJoinResultOk)  # the pinned layer's answer, not Updates
    assert isinstance(result.updates.updates[0], types.UpdateChannel)
    assert alice.id in dc.control.channel(news).members

    dialogs = await client.get_dialogs()
    assert [d.name for d in dialogs] == ["News"]
    assert dialogs[0].unread_count == 0  # history before joining counts as read

    await dc.control.as_user(bob).post(news, "second post")
    history = await client.get_messages(entity, limit=10)
    assert [m.message for m in history] == ["second post", "first post"]
    assert all(m.post and m.sender_id == utils.get_peer_id(types.PeerChannel(news.id)) for m in history)
    assert [m.message for m in await client.get_messages(entity, ids=[1])] == ["first post"]
    await client.send_read_acknowledge(entity)
    assert dc.control.channel(news).members[alice.id].read_inbox_max_id == 2
    full = await client(functions.channels.GetFullChannelRequest(entity))
    assert full.full_chat.participants_count == 2

    await client(functions.channels.LeaveChannelRequest(entity))
    assert alice.id not in dc.control.channel(news).members


async def test_channel_events_new_edited_deleted(dc: SandboxDC, login_as, alice, bob, news) -> None:
    dc.control.add_member(news, alice)
    client = await login_as(alice)
    await client.get_dialogs()  # learns the channel's pts, like any real client
    new = collect(client, events.NewMessage(chats=[news.id]))
    edited = collect(client, events.MessageEdited())
    deleted = collect(client, events.MessageDeleted())
    bob_as = dc.control.as_user(bob)

    msg_id = await bob_as.post(news, "breaking")
    event = await asyncio.wait_for(new.get(), 5)
    assert event.raw_text == "breaking"
    assert event.chat_id == utils.get_peer_id(types.PeerChannel(news.id))

    await bob_as.edit_message(news, msg_id, "breaking (updated)")
    event = await asyncio.wait_for(edited.get(), 5)
    assert event.raw_text == "breaking (updated)"

    await bob_as.delete_messages(news, [msg_id])
    event = await asyncio.wait_for(deleted.get(), 5)
    assert event.deleted_ids == [msg_id]
    assert event.chat_id == utils.get_peer_id(types.PeerChannel(news.id))


async def test_channel_posts_while_offline_arrive_after_reconnect(dc: SandboxDC, login_as, alice, bob, news) -> None:
    dc.control.add_member(news, alice)
    client = await login_as(alice)
    new = collect(client, events.NewMessage(chats=[news.id]))
    await dc.control.as_user(bob).post(news, "online")
    assert (await asyncio.wait_for(new.get(), 5)).raw_text == "online"

    await client.disconnect()
    await dc.control.as_user(bob).post(news, "missed one")
    await dc.control.as_user(bob).post(news, "missed two")
    await client.connect()
    texts = {(await asyncio.wait_for(new.get(), 5)).raw_text for _ in range(2)}
    assert texts == {"missed one", "missed two"}
    assert dc.control.counters.requests["updates.GetChannelDifferenceRequest"] >= 1


async def test_megagroup_members_see_each_other(dc: SandboxDC, login_as, alice, bob) -> None:
    group = dc.control.create_channel(title="Chat", username="chat", creator=bob, broadcast=False, members=[alice])
    client = await login_as(alice)
    await client.get_dialogs()
    new = collect(client, events.NewMessage(chats=[group.id]))
    sent = await client.send_message("chat", "hi all")
    assert sent.out
    assert sent.id == 1
    await dc.control.as_user(bob).send_message(group, "hi alice", reply_to=sent.id)
    event = await asyncio.wait_for(new.get(), 5)
    assert event.raw_text == "hi alice"
    assert event.sender_id == bob.id
    assert event.reply_to_msg_id == 1


async def test_private_channel_and_channel_limit(dc: SandboxDC, login_as, alice, bob) -> None:
    secret = dc.control.create_channel(title="Secret", creator=bob, private=True)
    client = await login_as(alice)
    with pytest.raises(errors.ChannelPrivateError):
        await client(
            functions.channels.JoinChannelRequest(types.InputChannel(secret.id, secret.access_hash_for(alice.id)))
        )

    for i in range(500):
        dc.control.add_member(dc.control.create_channel(title=f"c{i}", creator=bob), alice)
    extra = dc.control.create_channel(title="one too many", username="toomany", creator=bob)
    with pytest.raises(errors.ChannelsTooMuchError):
        await client(
            functions.channels.JoinChannelRequest(types.InputChannel(extra.id, extra.access_hash_for(alice.id)))
        )


async def test_kick_ban_and_delete_reach_the_member_as_update_channel(dc: SandboxDC, login_as, alice, bob) -> None:
    kicked = dc.control.create_channel(title="Kick", username="kickme", creator=bob, members=[alice])
    banned = dc.control.create_channel(title="Ban", username="banme", creator=bob, members=[alice])
    deleted = dc.control.create_channel(title="Gone", username="goneme", creator=bob, members=[alice])
    client = await login_as(alice)
    await client.get_dialogs()
    seen = collect(client, events.Raw(types.UpdateChannel))

    dc.control.remove_member(kicked, alice)
    assert (await asyncio.wait_for(seen.get(), 5)).channel_id == kicked.id
    [chat] = (
        await client(
            functions.channels.GetChannelsRequest([types.InputChannel(kicked.id, kicked.access_hash_for(alice.id))])
        )
    ).chats
    assert isinstance(chat, types.Channel)
    assert chat.left
    await client(
        functions.channels.JoinChannelRequest(types.InputChannel(kicked.id, kicked.access_hash_for(alice.id)))
    )  # may return

    dc.control.remove_member(banned, alice, ban=True)
    assert (await asyncio.wait_for(seen.get(), 5)).channel_id == banned.id
    [chat] = (
        await client(
            functions.channels.GetChannelsRequest([types.InputChannel(banned.id, banned.access_hash_for(alice.id))])
        )
    ).chats
    assert isinstance(chat, types.ChannelForbidden)
    with pytest.raises(errors.ChannelPrivateError):
        await client(
            functions.channels.JoinChannelRequest(types.InputChannel(banned.id, banned.access_hash_for(alice.id)))
        )

    dc.control.delete_channel(deleted)
    assert (await asyncio.wait_for(seen.get(), 5)).channel_id == deleted.id
    with pytest.raises(errors.ChannelPrivateError):
        await client.get_messages(types.InputPeerChannel(deleted.id, deleted.access_hash_for(alice.id)), limit=1)
    [chat] = (
        await client(
            functions.channels.GetChannelsRequest([types.InputChannel(deleted.id, deleted.access_hash_for(alice.id))])
        )
    ).chats
    assert isinstance(chat, types.ChannelForbidden)
