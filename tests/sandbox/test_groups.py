"""Basic groups (`Chat`) with the real Telethon client: creation, members, messages in each member's own box,
service messages, pins, reads, offline catch-up through getDifference, and the upgrade to a supergroup."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors, events, functions, types, utils

from app.sandbox import SandboxDC

from .test_messaging import collect


@pytest.fixture
def carol(dc: SandboxDC):
    return dc.control.create_user(phone="15550003", first_name="Carol", username="carol")


def _box(user, group) -> list:
    """`user`'s own copies of the group's messages, oldest first."""
    return sorted(
        (m for m in user.messages.values() if m.peer_kind == "chat" and m.peer_id == group.id), key=lambda m: m.id
    )


async def test_create_chat_answers_invited_users_and_every_member_gets_the_service_message(
    dc: SandboxDC, login_as, alice, bob, carol
) -> None:
    client = await login_as(alice)
    bob_client = await login_as(bob)
    await bob_client.get_dialogs()
    bob_actions = collect(bob_client, events.ChatAction())
    invited = [await client.get_input_entity("bob"), await client.get_input_entity("carol")]

    result = await client(functions.messages.CreateChatRequest(users=invited, title="Team"))

    assert isinstance(result, types.messages.InvitedUsers)  # the pinned layer's answer, not bare Updates
    assert result.missing_invitees == []
    chat = next(c for c in result.updates.chats if isinstance(c, types.Chat))
    assert (chat.title, chat.participants_count, chat.creator, chat.version) == ("Team", 3, True, 1)
    created = next(u for u in result.updates.updates if isinstance(u, types.UpdateNewMessage))
    assert isinstance(created.message, types.MessageService)
    assert created.message.action == types.MessageActionChatCreate("Team", [alice.id, bob.id, carol.id])
    assert created.message.peer_id == types.PeerChat(chat.id)
    participants = next(u for u in result.updates.updates if isinstance(u, types.UpdateChatParticipants))
    assert isinstance(participants.participants.participants[0], types.ChatParticipantCreator)

    event = await asyncio.wait_for(bob_actions.get(), 5)
    assert event.created
    assert event.chat_id == -chat.id
    group = dc.control.group(chat.id)
    # One copy per member, each numbered in its owner's own box.
    assert [m.action for m in _box(bob, group)] == ["chat_create"]
    assert [m.action for m in _box(carol, group)] == ["chat_create"]

    chats = await client(functions.messages.GetChatsRequest([chat.id]))
    assert [c.title for c in chats.chats] == ["Team"]
    full = await client(functions.messages.GetFullChatRequest(chat.id))
    assert isinstance(full, types.messages.ChatFull)
    assert sorted(p.user_id for p in full.full_chat.participants.participants) == sorted([alice.id, bob.id, carol.id])
    with pytest.raises(errors.ChatIdInvalidError):
        await client(functions.messages.GetChatsRequest([chat.id + 999]))
    with pytest.raises(errors.ChatTitleEmptyError):
        await client(functions.messages.CreateChatRequest(users=invited, title="  "))


async def test_group_messages_have_senders_and_live_in_each_members_box(
    dc: SandboxDC, login_as, alice, bob, carol
) -> None:
    group = dc.control.create_group("Team", creator=bob, members=[alice, carol])
    client = await login_as(alice)
    await client.get_dialogs()
    differences = _differences(dc)
    new = collect(client, events.NewMessage(chats=[-group.id]))
    edited = collect(client, events.MessageEdited())
    deleted = collect(client, events.MessageDeleted())
    bob_as = dc.control.as_user(bob)

    bob_id = await bob_as.send_message(group, "hello team")
    event = await asyncio.wait_for(new.get(), 5)
    assert event.raw_text == "hello team"
    assert event.chat_id == -group.id
    assert event.is_group
    assert not event.is_channel
    assert event.sender_id == bob.id
    assert (await event.get_sender()).first_name == "Bob"
    alice_copy = event.id
    assert alice_copy == _box(alice, group)[-1].id  # Alice's own copy, numbered in her box
    assert _box(bob, group)[-1].id == bob_id

    # Alice replies; Bob's and Carol's copies reply to their own copies of Bob's message.
    reply = await client.send_message(-group.id, "hi Bob", reply_to=alice_copy)
    assert reply.out
    assert reply.reply_to.reply_to_msg_id == alice_copy
    bob_reply = _box(bob, group)[-1]
    assert (bob_reply.text, bob_reply.from_id, bob_reply.reply_to) == ("hi Bob", alice.id, bob_id)
    carol_reply, carol_original = _box(carol, group)[-1], _box(carol, group)[-2]
    assert carol_reply.reply_to == carol_original.id

    await bob_as.edit_message(group, bob_id, "hello team!")
    event = await asyncio.wait_for(edited.get(), 5)
    assert (event.id, event.raw_text, event.chat_id) == (alice_copy, "hello team!", -group.id)

    await bob_as.delete_messages(group, [bob_id], revoke=True)
    event = await asyncio.wait_for(deleted.get(), 5)
    assert event.deleted_ids == [alice_copy]  # Alice's own id, in her box (no channel id)
    assert [m.text for m in _box(carol, group)][-1] == "hi Bob"

    history = await client.get_messages(-group.id, limit=10)
    assert [m.message for m in history if isinstance(m, types.Message)] == ["hi Bob"]
    assert isinstance(history[-1], types.MessageService)
    # Nothing skipped a pts number: the client never had to ask for a difference.
    assert _differences(dc) == differences


async def test_members_added_removed_renamed_pinned_and_read(dc: SandboxDC, login_as, alice, bob, carol) -> None:
    group = dc.control.create_group("Team", creator=alice, members=[bob])
    client = await login_as(alice)
    await client.get_dialogs()
    carol_client = await login_as(carol)
    await carol_client.get_dialogs()
    differences = _differences(dc)
    actions = collect(client, events.ChatAction())
    read = collect(client, events.Raw(types.UpdateReadHistoryOutbox))
    carol_input = await client.get_input_entity("carol")

    added = await client(functions.messages.AddChatUserRequest(group.id, carol_input, fwd_limit=0))
    assert isinstance(added, types.messages.InvitedUsers)
    action = next(u.message.action for u in added.updates.updates if isinstance(u, types.UpdateNewMessage))
    assert action == types.MessageActionChatAddUser([carol.id])
    with pytest.raises(errors.UserAlreadyParticipantError):
        await client(functions.messages.AddChatUserRequest(group.id, carol_input, fwd_limit=0))

    await client(functions.messages.EditChatTitleRequest(group.id, "Team B"))
    with pytest.raises(errors.ChatNotModifiedError):
        await client(functions.messages.EditChatTitleRequest(group.id, "Team B"))
    dc.control.remove_group_member(group, carol)  # by the creator
    event = await asyncio.wait_for(_next_of(actions, lambda e: e.user_kicked), 5)
    assert event.user_id == carol.id
    carol_view = await carol_client(functions.messages.GetChatsRequest([group.id]))
    assert isinstance(carol_view.chats[0], types.ChatForbidden)
    assert _box(carol, group)[-1].action == "chat_delete_user"  # the removed member is told too

    bob_as = dc.control.as_user(bob)
    await bob_as.send_message(group, "please pin")
    message = (await client.get_messages(-group.id, limit=1))[0]
    pinned = await client(functions.messages.UpdatePinnedMessageRequest(types.InputPeerChat(group.id), message.id))
    kinds = [type(u) for u in pinned.updates]
    assert types.UpdatePinnedMessages in kinds
    assert types.UpdateNewMessage in kinds
    bob_pin = _box(bob, group)[-1]
    assert bob_pin.action == "pin"
    assert bob_pin.reply_to == _box(bob, group)[-2].id
    full = await client(functions.messages.GetFullChatRequest(group.id))
    assert full.full_chat.pinned_msg_id == message.id

    mine = await client.send_message(-group.id, "read me")
    await bob_as.read_history(group)
    update = await asyncio.wait_for(read.get(), 5)
    assert update.peer == types.PeerChat(group.id)
    assert update.max_id == mine.id

    assert _differences(dc) == differences  # every pts was exact: no gap made the client ask
    with pytest.raises(errors.ChatWriteForbiddenError):
        await carol_client.send_message(types.InputPeerChat(group.id), "still here?")
    dialogs = await client.get_dialogs()
    assert [(d.name, d.is_group) for d in dialogs] == [("Team B", True)]


async def test_group_messages_sent_while_offline_arrive_through_get_difference(
    dc: SandboxDC, login_as, alice, bob
) -> None:
    group = dc.control.create_group("Team", creator=bob, members=[alice])
    client = await login_as(alice)
    await client.get_dialogs()
    new = collect(client, events.NewMessage(chats=[-group.id]))
    await client.disconnect()
    await dc.control.as_user(bob).send_message(group, "while you were away")
    dc.control.edit_group_title(group, "Team (renamed)")
    await client.connect()
    event = await asyncio.wait_for(new.get(), 5)
    assert event.raw_text == "while you were away"
    assert event.sender_id == bob.id
    state = await client(functions.updates.GetStateRequest())
    assert state.pts == alice.log.pts


async def test_migrate_chat_upgrades_to_a_supergroup(dc: SandboxDC, login_as, alice, bob) -> None:
    group = dc.control.create_group("Team", creator=alice, members=[bob])
    await dc.control.as_user(bob).send_message(group, "before the upgrade")
    client = await login_as(alice)
    await client.get_dialogs()
    bob_client = await login_as(bob)
    await bob_client.get_dialogs()
    bob_new = collect(bob_client, events.NewMessage())
    with pytest.raises(errors.ChatAdminRequiredError):
        await bob_client(functions.messages.MigrateChatRequest(group.id))

    result = await client(functions.messages.MigrateChatRequest(group.id))

    assert isinstance(result, types.Updates)
    chat = next(c for c in result.chats if isinstance(c, types.Chat))
    channel = next(c for c in result.chats if isinstance(c, types.Channel))
    assert chat.deactivated
    assert chat.migrated_to.channel_id == channel.id
    assert channel.megagroup
    assert not channel.broadcast
    assert channel.creator
    services = [
        u.message for u in result.updates if isinstance(u, types.UpdateNewMessage | types.UpdateNewChannelMessage)
    ]
    assert [type(m.action) for m in services] == [
        types.MessageActionChatMigrateTo,
        types.MessageActionChannelMigrateFrom,
    ]
    assert services[0].action.channel_id == channel.id
    assert services[1].action == types.MessageActionChannelMigrateFrom("Team", group.id)
    assert services[1].id == 1
    assert services[1].peer_id == types.PeerChannel(channel.id)

    # The old group is read-only now, its history kept; the supergroup carries on.
    with pytest.raises(errors.ChatIdInvalidError):
        await client.send_message(types.InputPeerChat(group.id), "too late")
    old = await client.get_messages(types.InputPeerChat(group.id), limit=10)
    assert [getattr(m, "message", None) or type(m.action).__name__ for m in old][:2] == [
        "MessageActionChatMigrateTo",
        "before the upgrade",
    ]
    full = await client(functions.channels.GetFullChannelRequest(channel))
    assert full.full_chat.migrated_from_chat_id == group.id
    assert full.full_chat.migrated_from_max_id == old[0].id
    await dc.control.as_user(bob).send_message(dc.control.channel(channel.id), "after the upgrade")
    event = await asyncio.wait_for(_next_of(bob_new, lambda e: e.raw_text == "after the upgrade"), 5)
    assert event.chat_id == utils.get_peer_id(types.PeerChannel(channel.id))
    dialogs = await client.get_dialogs()
    assert [d.entity.id for d in dialogs if d.is_group] == [channel.id]  # the upgraded group left the list


def _differences(dc: SandboxDC) -> int:
    return dc.control.counters.requests.get("updates.GetDifferenceRequest", 0)


async def _next_of(queue: asyncio.Queue, predicate) -> object:
    while True:
        item = await queue.get()
        if predicate(item):
            return item


async def test_groups_survive_a_restart_of_the_state_file(dc: SandboxDC, alice, bob) -> None:
    from app.sandbox.persistence import dump_state, load_state

    group = dc.control.create_group("Team", creator=bob, members=[alice])
    await dc.control.as_user(bob).send_message(group, "kept")
    channel = dc.control.migrate_group(group)
    loaded = load_state(dump_state(dc.state))
    assert loaded.groups[group.id] == dc.state.groups[group.id]
    assert loaded.users[alice.id].messages == alice.messages
    assert loaded.channels[channel.id].migrated_from == group.id
