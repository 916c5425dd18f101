"""Editing one's own messages as Telegram allows it, the same checks in private chats, groups and channels."""

from __future__ import annotations

import pytest
from telethon import errors, functions, types

from app.sandbox import SandboxDC
from app.sandbox.edits import EDIT_WINDOW_S

pytestmark = pytest.mark.asyncio


async def test_edit_errors_in_a_private_chat(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    bob_peer = types.InputPeerUser(bob.id, bob.access_hash_for(alice.id))
    mine = await client.send_message(bob_peer, "first")
    with pytest.raises(errors.MessageNotModifiedError):
        await client.edit_message(bob_peer, mine.id, "first")
    with pytest.raises(errors.MessageEmptyError):
        await client(functions.messages.EditMessageRequest(bob_peer, mine.id, message=" "))
    theirs = await dc.control.as_user(bob).send_message(alice, "from bob")
    [alice_copy] = [m.id for m in alice.messages.values() if m.twin_owner == bob.id and m.twin_id == theirs]
    with pytest.raises(errors.MessageAuthorRequiredError):
        await client.edit_message(bob_peer, alice_copy, "not mine")
    with pytest.raises(errors.MessageIdInvalidError):
        await client.edit_message(bob_peer, 10_000, "nothing there")
    edited = await client.edit_message(bob_peer, mine.id, "second")
    assert edited.text == "second"
    alice.messages[mine.id].date -= EDIT_WINDOW_S + 60  # sent two days ago
    with pytest.raises(errors.MessageEditTimeExpiredError):
        await client.edit_message(bob_peer, mine.id, "too late")


async def test_a_channel_post_is_edited_at_any_time_a_supergroup_message_for_48_hours(
    dc: SandboxDC, login_as, alice, bob
) -> None:
    news = dc.control.create_channel("News", username="news", creator=alice, broadcast=True)
    lounge = dc.control.create_channel("Lounge", username="lounge", creator=alice, broadcast=False, members=[bob])
    client = await login_as(alice)
    news_peer = types.InputPeerChannel(news.id, news.access_hash_for(alice.id))
    lounge_peer = types.InputPeerChannel(lounge.id, lounge.access_hash_for(alice.id))
    post = await client.send_message(news_peer, "post")
    said = await client.send_message(lounge_peer, "said")
    news.messages[post.id].date -= EDIT_WINDOW_S + 60
    lounge.messages[said.id].date -= EDIT_WINDOW_S + 60
    assert (await client.edit_message(news_peer, post.id, "post, edited")).text == "post, edited"
    with pytest.raises(errors.MessageEditTimeExpiredError):
        await client.edit_message(lounge_peer, said.id, "said, edited")
    bobs = await dc.control.as_user(bob).send_message(lounge, "bob says")
    with pytest.raises(errors.MessageAuthorRequiredError):  # an admin deletes others' messages, never edits them
        await client.edit_message(lounge_peer, bobs, "alice says")
