"""Pin Telethon and build every response type the sandbox sends, so a layer change fails here, loudly."""

from __future__ import annotations

import datetime

import telethon
from telethon.extensions import BinaryReader
from telethon.tl import TLObject, alltlobjects, types

from app.sandbox import SandboxDC, render, srp
from app.sandbox import updates as diff
from app.sandbox.handlers import help as help_handlers
from app.sandbox.handlers import history

PINNED_VERSION = "1.45.0"
PINNED_LAYER = 229


def test_telethon_is_pinned() -> None:
    assert telethon.version.__version__ == PINNED_VERSION, "the sandbox is written against this Telethon release"
    assert alltlobjects.LAYER == PINNED_LAYER, "a new layer changes required fields of the response types"


def _roundtrip(obj: TLObject) -> TLObject:
    data = bytes(obj)
    parsed = BinaryReader(data).tgread_object()
    assert type(parsed).CONSTRUCTOR_ID == obj.CONSTRUCTOR_ID
    assert bytes(parsed) == data
    return parsed


async def test_every_response_type_builds_and_roundtrips() -> None:
    dc = SandboxDC()
    c = dc.control
    alice = c.create_user("15550001", "Alice", username="alice", password="pw")
    bob = c.create_user("15550002", "Bob", username="bob")
    news = c.create_channel("News", username="news", creator=bob, members=[alice])
    group = c.create_channel("Chat", username="chat", creator=bob, broadcast=False, members=[alice])
    await c.as_user(bob).send_message(alice, "hi", reply_to=None)
    msg = await c.as_user(bob).post(news, "post")
    await c.as_user(bob).post(group, "group")
    await c.as_user(bob).edit_message(news, msg, "post!")
    await c.as_user(alice).read_history(bob)
    state = dc.state
    now = render.ts(0)
    challenge = srp.new_challenge(alice.password)

    built: list[TLObject] = [
        render.user(alice, alice.id),
        render.channel(news, alice.id),
        render.message(next(iter(alice.messages.values())), alice.id, state),
        render.message(news.messages[msg], alice.id, state),
        render.message(group.messages[1], alice.id, state),
        render.message_empty(7),
        render.updates([types.UpdateChannel(news.id)], [render.user(bob, alice)], [render.channel(news, alice.id)]),
        help_handlers.build_config({2: ("127.0.0.1", 1234), 1: ("127.0.0.1", 1235)}, 2),
        srp.password_info(alice.password, challenge),
        srp.password_info(None, None),
        diff.account_state(alice),
        diff.account_difference(state, alice, alice.log.pts, 2**31),
        diff.account_difference(state, alice, 1, 0),
        diff.account_difference(state, alice, alice.log.pts + 10, 0),
        diff.channel_difference(state, news, alice.id, news.log.pts, 100),
        diff.channel_difference(state, news, alice.id, 1, 100),
        diff.channel_difference(state, news, alice.id, 1, 1),
        diff.channel_dialog(state, news, alice.id),
        history.messages_result(state, alice, list(alice.messages.values()), 1),
        history.messages_result(state, alice, [], 5),
        history.messages_result(state, alice, list(news.messages.values()), 1, news),
        history.private_dialog(alice, bob.id, None),
        types.auth.SentCode(type=types.auth.SentCodeTypeApp(length=5), phone_code_hash="abc"),
        types.auth.Authorization(user=render.user(alice, alice.id)),
        types.auth.AuthorizationSignUpRequired(),
        types.auth.LoggedOut(),
        types.contacts.ResolvedPeer(peer=types.PeerUser(bob.id), chats=[], users=[render.user(bob, alice)]),
        types.contacts.Contacts(contacts=[types.Contact(bob.id, mutual=False)], saved_count=0, users=[]),
        types.users.UserFull(
            full_user=types.UserFull(
                id=bob.id,
                settings=types.PeerSettings(),
                notify_settings=render.notify_settings(),
                common_chats_count=0,
            ),
            chats=[],
            users=[],
        ),
        types.messages.ChatFull(
            full_chat=types.ChannelFull(
                id=news.id,
                about="",
                read_inbox_max_id=0,
                read_outbox_max_id=0,
                unread_count=0,
                chat_photo=types.PhotoEmpty(id=0),
                notify_settings=render.notify_settings(),
                bot_info=[],
                pts=1,
                participants_count=2,
            ),
            chats=[],
            users=[],
        ),
        types.messages.Chats(chats=[types.ChannelForbidden(news.id, news.access_hash, "News", broadcast=True)]),
        types.channels.ChannelParticipants(
            count=2,
            participants=[
                types.ChannelParticipantCreator(bob.id, types.ChatAdminRights()),
                types.ChannelParticipant(alice.id, now),
            ],
            chats=[],
            users=[],
        ),
        types.messages.AffectedMessages(pts=2, pts_count=1),
        types.messages.AffectedHistory(pts=2, pts_count=0, offset=0),
        types.UpdateShortSentMessage(id=1, pts=2, pts_count=1, date=now, out=True),
        types.UpdateShort(types.UpdateDeleteMessages([1], 3, 1), now),
        types.UpdateShort(types.UpdateUserTyping(bob.id, types.SendMessageTypingAction()), now),
        types.UpdatesTooLong(),
        types.messages.Dialogs(dialogs=[], messages=[], chats=[], users=[]),
        types.messages.DialogsSlice(count=3, dialogs=[], messages=[], chats=[], users=[]),
        types.messages.PeerDialogs(dialogs=[], messages=[], chats=[], users=[], state=diff.account_state(alice)),
        types.account.Authorizations(authorization_ttl_days=180, authorizations=[]),
        types.NearestDc(country="XX", this_dc=2, nearest_dc=2),
        types.help.AppConfig(hash=1, config=types.JsonObject([])),
        types.Pong(1, 2),
        types.NewSessionCreated(1, 2, 3),
        types.BadServerSalt(1, 2, 48, 3),
        types.BadMsgNotification(1, 2, 16),
        types.FutureSalts(1, 2, [types.FutureSalt(now, now, 3)]),
        types.DestroySessionOk(1),
        types.RpcError(400, "X"),
    ]
    news.log.floor = news.log.pts  # as if the log had been trimmed: the client is too far behind
    built.append(diff.channel_difference(state, news, alice.id, 1, 100))
    names = {type(obj).__name__ for obj in built}
    for expected in ("Difference", "DifferenceEmpty", "DifferenceTooLong", "ChannelDifference"):
        assert expected in names
    for expected in ("ChannelDifferenceEmpty", "ChannelDifferenceTooLong", "MessagesSlice", "ChannelMessages"):
        assert expected in names
    for obj in built:
        _roundtrip(obj)
    assert isinstance(now, datetime.datetime)
