"""Telegram rules the sandbox enforces as Telegram documents them: per-account access hashes, differences that
are too long to replay, and the rate limit on username lookups."""

from __future__ import annotations

import pytest
from telethon import errors, functions, types

from app.sandbox import SandboxDC


@pytest.fixture
def news(dc: SandboxDC, bob):
    return dc.control.create_channel(title="News", username="news", creator=bob, broadcast=True)


async def test_access_hashes_are_per_account_and_zero_is_refused(dc: SandboxDC, login_as, alice, bob, news) -> None:
    carol = dc.control.create_user(phone="15550003", first_name="Carol")
    client = await login_as(alice)
    [seen] = await client(functions.users.GetUsersRequest([types.InputUser(bob.id, bob.access_hash_for(alice.id))]))
    assert isinstance(seen, types.User)
    assert seen.access_hash == bob.access_hash_for(alice.id) != bob.access_hash_for(carol.id)
    for wrong in (0, bob.access_hash_for(carol.id), bob.access_hash):
        [empty] = await client(functions.users.GetUsersRequest([types.InputUser(bob.id, wrong)]))
        assert isinstance(empty, types.UserEmpty)
        with pytest.raises(errors.UserIdInvalidError):
            await client(functions.messages.SendMessageRequest(types.InputPeerUser(bob.id, wrong), "hi"))
    for wrong in (0, news.access_hash_for(carol.id)):
        with pytest.raises(errors.ChannelInvalidError):
            await client(functions.channels.GetChannelsRequest([types.InputChannel(news.id, wrong)]))
    found = await client(
        functions.channels.GetChannelsRequest([types.InputChannel(news.id, news.access_hash_for(alice.id))])
    )
    assert found.chats[0].access_hash == news.access_hash_for(alice.id)


async def test_a_channel_gap_above_the_limit_is_too_long_and_replays_nothing(
    dc: SandboxDC, login_as, alice, bob, news
) -> None:
    dc.control.add_member(news, alice)
    client = await login_as(alice)
    channel = types.InputChannel(news.id, news.access_hash_for(alice.id))
    start = dc.control.channel(news).log.pts
    for n in range(151):
        await dc.control.as_user(bob).post(news, f"post {n}")

    def difference(pts: int, limit: int) -> functions.updates.GetChannelDifferenceRequest:
        return functions.updates.GetChannelDifferenceRequest(channel, types.ChannelMessagesFilterEmpty(), pts, limit)

    too_long = await client(difference(start, 100))
    assert isinstance(too_long, types.updates.ChannelDifferenceTooLong)
    assert too_long.final
    assert too_long.dialog.pts == dc.control.channel(news).log.pts
    assert [m.message for m in too_long.messages] == [f"post {n}" for n in range(51, 151)]
    replay = await client(difference(start + 51, 100))  # a gap of exactly the limit is replayed in full
    assert isinstance(replay, types.updates.ChannelDifference)
    assert replay.final
    assert [m.message for m in replay.new_messages] == [f"post {n}" for n in range(51, 151)]


async def test_an_account_gap_beyond_the_bound_is_difference_too_long(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    state = await client(functions.updates.GetStateRequest())
    for n in range(30):
        await dc.control.as_user(bob).send_message(alice, f"m{n}")

    async def difference(**kwargs) -> object:
        return await client(functions.updates.GetDifferenceRequest(state.pts, state.date, state.qts, **kwargs))

    assert isinstance(await difference(), types.updates.Difference)
    too_long = await difference(pts_total_limit=10)
    assert isinstance(too_long, types.updates.DifferenceTooLong)
    assert too_long.pts == dc.control.user(alice).log.pts
    dc.limits.account_difference_bound = 20
    assert isinstance(await difference(), types.updates.DifferenceTooLong)


async def test_username_lookups_are_rate_limited_per_account(dc: SandboxDC, login_as, alice, bob) -> None:
    dc.limits.resolve_username_burst = 3
    client = await login_as(alice)
    for _ in range(3):
        await client(functions.contacts.ResolveUsernameRequest("bob"))
    with pytest.raises(errors.FloodWaitError) as first:
        await client(functions.contacts.ResolveUsernameRequest("bob"))
    again = await login_as(alice)  # Telethon remembers a wait per client; a second device asks the server
    with pytest.raises(errors.FloodWaitError) as second:
        await again(functions.contacts.ResolveUsernameRequest("bob"))
    assert 0 < first.value.seconds < second.value.seconds  # a burst that goes on waits longer
    other = await login_as(bob)
    assert await other(functions.contacts.ResolveUsernameRequest("alice"))


async def test_importing_a_contact_by_phone_hands_out_the_callers_hash(dc: SandboxDC, login_as, alice, bob) -> None:
    client = await login_as(alice)
    imported = await client(
        functions.contacts.ImportContactsRequest([types.InputPhoneContact(7, "+15550002", "Bob", "")])
    )
    assert [(c.user_id, c.client_id) for c in imported.imported] == [(bob.id, 7)]
    [user] = imported.users
    assert user.access_hash == bob.access_hash_for(alice.id)
    await client.send_message(types.InputPeerUser(bob.id, user.access_hash), "found you")
    assert [m.text for m in bob.messages.values()] == ["found you"]
