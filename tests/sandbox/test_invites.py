"""Invite links as Telegram answers them: private channels are joinable only by invite, links expire and run out,
approval links make join requests (INVITE_REQUEST_SENT) that an admin settles."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors, events, functions, types

from app.sandbox import SandboxDC

from .test_messaging import collect


def _hash(link: str) -> str:
    return link.rsplit("+", 1)[1]


async def test_private_channel_is_joined_through_an_invite_only(dc: SandboxDC, login_as, alice, bob) -> None:
    secret = dc.control.create_channel(title="Secret", creator=bob, private=True)
    with pytest.raises(ValueError, match="no username"):
        dc.control.create_channel(title="Named", username="named_secret", creator=bob, private=True)
    owner = await login_as(bob)
    exported = await owner(
        functions.messages.ExportChatInviteRequest(types.InputPeerChannel(secret.id, secret.access_hash_for(bob.id)))
    )
    assert isinstance(exported, types.ChatInviteExported)
    assert exported.link.startswith("https://t.me/+")

    client = await login_as(alice)
    with pytest.raises(errors.ChannelPrivateError):
        await client(
            functions.channels.JoinChannelRequest(types.InputChannel(secret.id, secret.access_hash_for(alice.id)))
        )
    carol = dc.control.create_user(phone="15550003", first_name="Carol")
    dc.control.add_member(secret, carol)
    member = await login_as(carol)
    carols_peer = types.InputPeerChannel(secret.id, secret.access_hash_for(carol.id))  # hashes are per account
    with pytest.raises(errors.ChatAdminRequiredError):
        await member(functions.messages.ExportChatInviteRequest(carols_peer))

    preview = await client(functions.messages.CheckChatInviteRequest(_hash(exported.link)))
    assert isinstance(preview, types.ChatInvite)
    assert (preview.title, preview.channel, preview.public, preview.request_needed) == ("Secret", True, False, False)
    joined = await client(functions.messages.ImportChatInviteRequest(_hash(exported.link)))
    assert isinstance(joined, types.messages.ChatInviteJoinResultOk)
    assert [chat.id for chat in joined.updates.chats] == [secret.id]
    assert not joined.updates.chats[0].left
    assert alice.id in secret.members
    assert dc.state.invites[_hash(exported.link)].usage == 1

    again = await client(functions.messages.CheckChatInviteRequest(_hash(exported.link)))
    assert isinstance(again, types.ChatInviteAlready)
    assert again.chat.id == secret.id
    with pytest.raises(errors.UserAlreadyParticipantError):
        await client(functions.messages.ImportChatInviteRequest(_hash(exported.link)))


async def test_invalid_expired_and_used_up_links(dc: SandboxDC, login_as, alice, bob) -> None:
    channel = dc.control.create_channel(title="Club", creator=bob, private=True)
    carol = dc.control.create_user(phone="15550003", first_name="Carol")
    client = await login_as(alice)
    with pytest.raises(errors.InviteHashInvalidError):
        await client(functions.messages.CheckChatInviteRequest("nosuchhash"))
    expired = dc.control.export_invite(channel, expire_in=-1)
    with pytest.raises(errors.InviteHashExpiredError):
        await client(functions.messages.CheckChatInviteRequest(_hash(expired)))
    with pytest.raises(errors.InviteHashExpiredError):
        await client(functions.messages.ImportChatInviteRequest(_hash(expired)))

    single = dc.control.export_invite(channel, usage_limit=1)
    await client(functions.messages.ImportChatInviteRequest(_hash(single)))
    other = await login_as(carol)
    with pytest.raises(errors.InviteHashExpiredError):
        await other(functions.messages.ImportChatInviteRequest(_hash(single)))

    owner = await login_as(bob)
    peer = types.InputPeerChannel(channel.id, channel.access_hash_for(bob.id))
    revoking = await owner(functions.messages.ExportChatInviteRequest(peer, legacy_revoke_permanent=True))
    assert revoking.permanent
    await owner(functions.messages.ExportChatInviteRequest(peer, legacy_revoke_permanent=True))
    with pytest.raises(errors.InviteHashInvalidError):
        await other(functions.messages.CheckChatInviteRequest(_hash(revoking.link)))


async def test_approval_link_makes_a_join_request_an_admin_settles(dc: SandboxDC, login_as, alice, bob) -> None:
    channel = dc.control.create_channel(title="Vetted", creator=bob, private=True)
    link = dc.control.export_invite(channel, request_needed=True)
    client = await login_as(alice)
    preview = await client(functions.messages.CheckChatInviteRequest(_hash(link)))
    assert isinstance(preview, types.ChatInvite)
    assert preview.request_needed
    with pytest.raises(errors.InviteRequestSentError):
        await client(functions.messages.ImportChatInviteRequest(_hash(link)))
    assert alice.id not in channel.members
    assert dc.control.join_requests(channel) == [alice.id]

    await client.get_dialogs()
    pushed = collect(client, events.Raw(types.UpdateChannel))
    owner = await login_as(bob)
    await owner(
        functions.messages.HideChatJoinRequestRequest(
            types.InputPeerChannel(channel.id, channel.access_hash_for(bob.id)),
            types.InputUser(alice.id, alice.access_hash_for(bob.id)),
            approved=True,
        )
    )
    assert alice.id in channel.members
    assert dc.control.join_requests(channel) == []
    assert (await asyncio.wait_for(pushed.get(), 5)).channel_id == channel.id
    with pytest.raises(errors.HideRequesterMissingError):
        await owner(
            functions.messages.HideChatJoinRequestRequest(
                types.InputPeerChannel(channel.id, channel.access_hash_for(bob.id)),
                types.InputUser(alice.id, alice.access_hash_for(bob.id)),
                approved=True,
            )
        )
