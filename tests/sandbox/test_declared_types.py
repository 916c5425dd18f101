"""Every sandbox handler answers its method's declared TL type (the pinned layer's schema), not just something
Telethon happens to parse: each registered route is called through a real client and checked by the router."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from telethon import errors, functions, types
from telethon.tl.alltlobjects import tlobjects

from app.sandbox import SandboxDC, schema
from app.sandbox.images import solid_png
from app.sandbox.rpc import ROUTES, boolean, vector

from .conftest import API_HASH, API_ID, ClientFactory


def test_every_route_has_a_recognised_declared_type() -> None:
    unknown = [route.name for cid, route in ROUTES.items() if schema.declared_type(tlobjects[cid]) is None]
    assert unknown == []
    join = functions.channels.JoinChannelRequest(types.InputChannel(1, 1))
    assert schema.declared_type(join) == "messages.ChatInviteJoinResult"
    assert schema.declared_type(functions.users.GetUsersRequest([])) == "Vector<User>"


def test_the_check_refuses_answers_of_another_type() -> None:
    join = functions.channels.JoinChannelRequest(types.InputChannel(1, 1))
    bare = types.Updates(updates=[], users=[], chats=[], date=datetime.datetime.now(datetime.UTC), seq=0)
    assert schema.mismatch(join, bare) is not None  # what the sandbox answered before: Updates
    assert schema.mismatch(join, types.messages.ChatInviteJoinResultOk(bare)) is None
    get_users = functions.users.GetUsersRequest([])
    assert schema.mismatch(get_users, vector([types.UserEmpty(1)])) is None
    assert schema.mismatch(get_users, vector([types.ChatEmpty(1)])) is not None
    assert schema.mismatch(get_users, boolean(True)) is not None
    assert schema.mismatch(functions.account.UpdateStatusRequest(offline=False), boolean(False)) is None
    assert schema.mismatch(functions.account.UpdateStatusRequest(offline=False), vector([])) is not None


async def _log_in_and_out(dc: SandboxDC, make_client: ClientFactory, phone: str, password: str | None) -> None:
    client = make_client()
    await client.connect()
    sent = await client(functions.auth.SendCodeRequest(phone, API_ID, API_HASH, types.CodeSettings()))
    sent = await client(functions.auth.ResendCodeRequest(phone, sent.phone_code_hash))
    code = dc.control.last_code(phone)
    if password is None:
        await client.sign_in(phone, code, phone_code_hash=sent.phone_code_hash)
    else:
        with pytest.raises(errors.SessionPasswordNeededError):
            await client.sign_in(phone, code, phone_code_hash=sent.phone_code_hash)
        await client.sign_in(password=password)  # account.getPassword + auth.checkPassword
    assert await client.log_out()


async def test_every_handler_answers_its_declared_type(
    dc: SandboxDC, make_client, login_as, alice, bob, tmp_path
) -> None:
    c = dc.control
    await _log_in_and_out(dc, make_client, "15550001", "hunter2")
    await _log_in_and_out(dc, make_client, "15550002", None)

    news = c.create_channel(title="News", username="news", creator=bob, broadcast=True)
    group = c.create_channel(title="Lounge", username="lounge", creator=alice, broadcast=False, members=[bob])
    await c.as_user(bob).post(news, "post")
    await c.as_user(bob).send_message(alice, "hello")
    client = await login_as(alice)
    bob_client = await login_as(bob)

    await client(functions.account.UpdateStatusRequest(offline=False))
    await client(
        functions.account.RegisterDeviceRequest(token_type=2, token="t", app_sandbox=False, secret=b"", other_uids=[])
    )
    await client(functions.account.GetAuthorizationsRequest())
    await client(functions.help.GetConfigRequest())
    await client(functions.help.GetNearestDcRequest())
    await client(functions.help.GetAppConfigRequest(hash=0))
    await client(functions.updates.GetStateRequest())
    state = await client(functions.updates.GetStateRequest())
    await client(functions.updates.GetDifferenceRequest(pts=1, date=state.date, qts=0))
    await client(functions.contacts.GetContactsRequest(hash=0))

    resolved = await client(functions.contacts.ResolveUsernameRequest("news"))
    news_peer = types.InputChannel(news.id, resolved.chats[0].access_hash)
    await client(functions.channels.JoinChannelRequest(news_peer))
    await client(functions.channels.GetChannelsRequest([news_peer]))
    await client(functions.channels.GetFullChannelRequest(news_peer))
    await client(functions.channels.GetMessagesRequest(news_peer, [types.InputMessageID(1)]))
    await client(functions.channels.ReadHistoryRequest(news_peer, max_id=1))
    await client(functions.updates.GetChannelDifferenceRequest(news_peer, types.ChannelMessagesFilterEmpty(), 1, 100))
    await client(functions.channels.LeaveChannelRequest(news_peer))

    group_peer = types.InputChannel(group.id, group.access_hash_for(alice.id))  # hashes are per account
    await client(functions.channels.GetParticipantsRequest(group_peer, types.ChannelParticipantsRecent(), 0, 10, 0))
    sent = await client.send_message(group_peer, "to delete")  # messages.sendMessage
    await client(functions.channels.DeleteMessagesRequest(group_peer, [sent.id]))

    approval = await client(functions.messages.ExportChatInviteRequest(group_peer, request_needed=True))
    invite_hash = approval.link.rsplit("+", 1)[1]
    await bob_client(
        functions.channels.LeaveChannelRequest(types.InputChannel(group.id, group.access_hash_for(bob.id)))
    )
    await bob_client(functions.messages.CheckChatInviteRequest(invite_hash))
    with pytest.raises(errors.InviteRequestSentError):
        await bob_client(functions.messages.ImportChatInviteRequest(invite_hash))
    bob_input = types.InputUser(bob.id, bob.access_hash_for(alice.id))
    await client(functions.messages.HideChatJoinRequestRequest(group_peer, bob_input, approved=False))
    direct = await client(functions.messages.ExportChatInviteRequest(group_peer))
    await bob_client(functions.messages.ImportChatInviteRequest(direct.link.rsplit("+", 1)[1]))

    bob_peer = types.InputPeerUser(bob.id, bob.access_hash_for(alice.id))
    mine = await client.send_message(bob_peer, "hi")
    await client.edit_message(bob_peer, mine.id, "hi!")  # messages.editMessage
    await client(functions.messages.GetDialogsRequest(None, 0, types.InputPeerEmpty(), 10, 0))
    await client(functions.messages.GetPeerDialogsRequest([types.InputDialogPeer(bob_peer)]))
    await client(functions.messages.GetHistoryRequest(bob_peer, 0, None, 0, 10, 0, 0, 0))
    await client(
        functions.messages.SearchRequest(
            bob_peer, "hi", types.InputMessagesFilterEmpty(), None, None, 0, 0, 10, 0, 0, 0
        )
    )
    await client(functions.messages.GetMessagesRequest([types.InputMessageID(mine.id)]))
    await client(functions.messages.ReadHistoryRequest(bob_peer, max_id=0))
    await client(functions.messages.ReadMentionsRequest(bob_peer))
    await client(functions.messages.ReadReactionsRequest(bob_peer))
    await client(functions.messages.SetTypingRequest(bob_peer, types.SendMessageTypingAction()))
    await client(functions.messages.DeleteMessagesRequest([mine.id], revoke=True))

    # Media: parts, uploadMedia, sendMedia, sendMultiMedia, getFile (Telethon's send_file / download_media).
    photo_file = tmp_path / "p.png"
    photo_file.write_bytes(solid_png(8, 8))
    await client(functions.upload.SaveBigFilePartRequest(99, 0, 1, b"x" * 1024))
    album = await client.send_file(bob_peer, [photo_file, photo_file])  # uploadMedia + sendMultiMedia
    await client.send_file(bob_peer, photo_file)  # saveFilePart + sendMedia
    await client.download_media(album[0], file=bytes)  # upload.getFile

    # Basic groups: no access hash, messages in each member's own box.
    created = await client(functions.messages.CreateChatRequest([bob_input], "Team"))
    chat_id = next(chat.id for chat in created.updates.chats if isinstance(chat, types.Chat))
    await client(functions.messages.GetChatsRequest([chat_id]))
    await client(functions.messages.GetFullChatRequest(chat_id))
    await client(functions.messages.EditChatTitleRequest(chat_id, "Team 2"))
    await client(functions.messages.DeleteChatUserRequest(chat_id, bob_input))
    await client(functions.messages.AddChatUserRequest(chat_id, bob_input, fwd_limit=10))
    pinned = await client.send_message(types.InputPeerChat(chat_id), "pin me")
    await client(functions.messages.UpdatePinnedMessageRequest(types.InputPeerChat(chat_id), pinned.id))
    await client(functions.messages.MigrateChatRequest(chat_id))
    await client(functions.users.GetUsersRequest([bob_input]))
    await client(functions.users.GetFullUserRequest(bob_input))
    await client(functions.contacts.ImportContactsRequest([types.InputPhoneContact(1, bob.phone, "Bob", "")]))
    await client(functions.contacts.ResolvePhoneRequest(bob.phone))
    await client(functions.contacts.DeleteContactsRequest([bob_input]))
    await client(functions.account.CheckUsernameRequest("alice_two"))
    await client(functions.account.UpdateUsernameRequest("alice_two"))
    await client(functions.account.UpdateProfileRequest(about="bio"))
    phone_key = types.InputPrivacyKeyPhoneNumber()
    await client(functions.account.SetPrivacyRequest(phone_key, [types.InputPrivacyValueAllowAll()]))
    await client(functions.account.GetPrivacyRequest(phone_key))

    # QR login: a logged-out key exports a token, this account accepts it, the key imports it.
    fresh = make_client()
    await fresh.connect()
    exported = await fresh(functions.auth.ExportLoginTokenRequest(API_ID, API_HASH, []))
    await client(functions.auth.AcceptLoginTokenRequest(exported.token))
    with contextlib.suppress(errors.SessionPasswordNeededError):  # (an account with 2FA gets the password step)
        await fresh(functions.auth.ImportLoginTokenRequest(exported.token))

    # 2FA with a recovery email: account.updatePasswordSettings, then account.confirmPasswordEmail.
    me = dc.state.users[(await client.get_me()).id]
    assert await client.edit_2fa(
        current_password="hunter2" if me.password else None,
        new_password="new secret",
        email="me@example.com",
        email_code_callback=lambda _length: dc.control.recovery_email_code(me),
    )

    # One data-center here: nothing to carry a login to (tests/sandbox/test_data_centers.py carries one).
    with pytest.raises(errors.DcIdInvalidError):
        await client(functions.auth.ExportAuthorizationRequest(dc_id=4))
    with pytest.raises(errors.AuthBytesInvalidError):
        await client(functions.auth.ImportAuthorizationRequest(id=alice.id, bytes=b"not exported"))

    # A wrong answer would have raised FAKEDC_WRONG_RESULT_TYPE_* above; this makes sure nothing was skipped.
    called = set(c.counters.requests)
    assert sorted(route.name for route in ROUTES.values() if route.name not in called) == []
