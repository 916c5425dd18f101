"""Gaps Telegram will not replay (channelDifferenceTooLong, differenceTooLong): read from history, or announced."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.db.models import Event, UpdateState
from app.server.app import create_app
from tests.conftest import running
from tests.domain.channels.test_channels import all_posts, events_of, new_channel, profiles_of
from tests.domain.messages.support import conversation_with, eventually, new_contact, stored_messages

pytestmark = pytest.mark.asyncio


def http(application: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def received_count(application: Any) -> int:
    async with application.state.ctx.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(Event).where(Event.type == "message.received"))
        return int(count or 0)


async def monitored_channel(client: httpx.AsyncClient, app: Any, sandbox: Any, email: str) -> dict[str, Any]:
    headers, [profile] = await profiles_of(client, app, email, 1)
    channel, owner, name = new_channel(sandbox)
    added = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert added.status_code == 201, added.text
    author = sandbox.control.as_user(owner)
    first = await author.post(channel, "before the downtime")
    monitor_id = added.json()["id"]
    await eventually(lambda: all_posts(client, headers, monitor_id), what="the first post")

    async def channel_state_stored() -> bool:
        async with app.state.ctx.sessionmaker() as session:
            pts = await session.scalar(select(UpdateState.pts).where(UpdateState.entity_id == channel.id))
            return bool(pts and pts >= sandbox.control.channel(channel).log.pts)

    await eventually(channel_state_stored, what="the channel's update state checkpointed")
    return {
        "headers": headers,
        "profile": profile,
        "channel": channel,
        "author": author,
        "id": monitor_id,
        "first": first,
    }


async def _downtime(app: Any, sandbox: Any, email: str, posts: int) -> tuple[dict[str, Any], list[int]]:
    async with running(app), http(app) as client:
        m = await monitored_channel(client, app, sandbox, email)
    ids = [await m["author"].post(m["channel"], f"while down {n}") for n in range(posts)]
    return m, ids


async def test_151_posts_missed_during_a_downtime_are_all_stored_once_after_reconnect(app, sandbox):
    m, ids = await _downtime(app, sandbox, "gap151@example.com", 151)
    restarted = create_app(app.state.ctx.settings)
    try:
        async with running(restarted), http(restarted) as client:

            async def all_stored() -> list[dict[str, Any]] | None:
                posts = await all_posts(client, m["headers"], m["id"])
                return posts if len(posts) >= 152 else None

            await eventually(all_stored, timeout=20, what="152 stored posts")
            await asyncio.sleep(0.5)  # a duplicate would land now
            posts = await all_posts(client, m["headers"], m["id"])
            assert sorted(p["telegram_message_id"] for p in posts) == [m["first"], *ids]
            assert await received_count(restarted) == 152
            assert await events_of(restarted, "gap") == []
            # Telegram refused to replay the gap: the posts came from history
            assert sandbox.control.counters.requests["updates.GetChannelDifferenceRequest"] >= 1
    finally:
        await restarted.state.ctx.engine.dispose()


@pytest.mark.parametrize("settings_overrides", [{"GAP_RECOVERY_LIMIT": "50"}], indirect=True)
async def test_a_gap_larger_than_the_limit_is_announced_with_its_bounds(app, sandbox):
    m, ids = await _downtime(app, sandbox, "gapevent@example.com", 151)
    restarted = create_app(app.state.ctx.settings)
    try:
        async with running(restarted), http(restarted) as client:
            gaps = await eventually(lambda: events_of(restarted, "gap"), timeout=20, what="a gap event")
            await eventually(lambda: _has(client, m, 51), what="the 50 newest posts stored")
            posts = await all_posts(client, m["headers"], m["id"])
            assert sorted(p["telegram_message_id"] for p in posts) == [m["first"], *ids[-50:]]
            [gap] = gaps
            assert gap["after_id"] == m["first"]
            assert gap["before_id"] == ids[-50]
            assert gap["recovered"] == 50
            assert gap["peer"]["id"] == int(f"-100{m['channel'].id}")
            assert gap["_profile"] == m["profile"]["phone"]
    finally:
        await restarted.state.ctx.engine.dispose()


async def test_a_live_channel_gap_too_long_to_replay_is_read_from_history(client, app, sandbox):
    m = await monitored_channel(client, app, sandbox, "livegap@example.com")
    me = sandbox.control.user(m["profile"]["phone"])
    # Counted from before the gap: the reconnect's own catch-up may ask for the channel's difference before the
    # trigger post does, depending on how fast the client reconnects.
    before = sandbox.control.counters.requests["updates.GetChannelDifferenceRequest"]
    sandbox.control.drop_connections(me)
    missed = [await m["author"].post(m["channel"], f"unseen {n}") for n in range(120)]
    await eventually(lambda: asyncio.sleep(0, sandbox.hub.connections_of(me.id)), what="reconnected")
    trigger = await m["author"].post(m["channel"], "after the reconnect")  # its pts reveals the gap

    async def all_stored() -> list[int] | None:
        found = [p["telegram_message_id"] for p in await all_posts(client, m["headers"], m["id"])]
        return found if len(found) >= 122 else None

    found = await eventually(all_stored, timeout=20, what="the gap read from history")
    assert sorted(found) == [m["first"], *missed, trigger]
    assert sandbox.control.counters.requests["updates.GetChannelDifferenceRequest"] > before


async def test_edits_and_deletions_inside_the_window_are_refreshed_after_a_downtime(app, sandbox):
    async with running(app), http(app) as client:
        m = await monitored_channel(client, app, sandbox, "gapedit@example.com")
        second = await m["author"].post(m["channel"], "will be edited")
        await eventually(lambda: _has(client, m, 2), what="two posts")
    for n in range(110):  # enough to make Telegram answer channelDifferenceTooLong
        await m["author"].post(m["channel"], f"while down {n}")
    await m["author"].edit_message(m["channel"], second, "edited while down")
    await m["author"].delete_messages(m["channel"], [m["first"]])
    restarted = create_app(app.state.ctx.settings)
    try:
        async with running(restarted), http(restarted) as client:

            async def refreshed() -> dict[int, dict[str, Any]] | None:
                posts = {p["telegram_message_id"]: p for p in await all_posts(client, m["headers"], m["id"])}
                done = posts.get(m["first"], {}).get("is_deleted") and posts[second]["text"] == "edited while down"
                return posts if done and len(posts) == 112 else None

            posts = await eventually(refreshed, timeout=20, what="the edit and the deletion refreshed")
            assert [e["text"] for e in posts[second]["edits"]] == ["will be edited"]
    finally:
        await restarted.state.ctx.engine.dispose()


async def _has(client: httpx.AsyncClient, m: dict[str, Any], n: int) -> bool:
    return len(await all_posts(client, m["headers"], m["id"])) >= n


async def test_private_messages_beyond_the_account_difference_bound_are_read_from_history(app, sandbox):
    from tests.conftest import bearer, register_and_login
    from tests.domain.profiles.test_binding import bind

    async with running(app), http(app) as client:
        headers = bearer(await register_and_login(client, "acctgap@example.com"))
        profile = await bind(client, headers)
        profile_id = uuid.UUID(profile["id"])
        assert await app.state.ctx.telegram.runtime.wait_connected(profile_id, timeout=10)
        me = sandbox.control.user(profile["phone"])
        contact = new_contact(sandbox)
        await sandbox.control.as_user(contact).send_message(me, "before")
        conversation = await eventually(lambda: conversation_with(client, headers, contact.id))

        async def checkpointed() -> bool:
            async with app.state.ctx.sessionmaker() as session:
                pts = await session.scalar(
                    select(UpdateState.pts).where(UpdateState.profile_id == profile_id, UpdateState.entity_id == 0)
                )
                return bool(pts and pts >= me.log.pts)

        await eventually(checkpointed, what="the account state checkpointed")
    for n in range(30):
        await sandbox.control.as_user(contact).send_message(me, f"while down {n}")
    sandbox.limits.account_difference_bound = 10  # Telegram answers differenceTooLong for this gap
    restarted = create_app(app.state.ctx.settings)
    try:
        async with running(restarted), http(restarted) as client:

            async def all_stored() -> list[dict[str, Any]] | None:
                items = await stored_messages(client, headers, conversation["id"])
                return items if len(items) >= 31 else None

            items = await eventually(all_stored, timeout=20, what="31 stored messages")
            assert sorted(i["text"] for i in items) == sorted(["before", *(f"while down {n}" for n in range(30))])
    finally:
        sandbox.limits.account_difference_bound = 1_000_000
        await restarted.state.ctx.engine.dispose()


async def test_updates_too_long_with_a_gap_beyond_the_bound_is_read_from_history(client, app, sandbox):
    from tests.domain.messages.support import connected_profile

    s = await connected_profile(client, app, sandbox, email="toolong@example.com")
    actor = sandbox.control.as_user(s.contact)
    await actor.send_message(s.me, "live")
    conversation = await eventually(lambda: conversation_with(client, s.headers, s.contact.id))
    connection = app.state.ctx.telegram.runtime.connected(s.profile_id)
    sandbox.limits.account_difference_bound = 10  # from now on Telegram will not replay a gap of 30
    try:
        sandbox.control.drop_connections(s.me)  # Telethon reconnects on its own (the runtime does not notice)
        for n in range(30):
            await actor.send_message(s.me, f"unseen {n}")
        # Telegram dropped the updates: updatesTooLong makes the client call getDifference, which is TooLong
        sandbox.control.push_updates_too_long(s.me)

        async def all_stored() -> list[dict[str, Any]] | None:
            items = await stored_messages(client, s.headers, conversation["id"])
            return items if len(items) >= 31 else None

        items = await eventually(all_stored, timeout=15, what="the dropped messages read from history")
        assert app.state.ctx.telegram.runtime.connected(s.profile_id) is connection  # no runtime reconnect
    finally:
        sandbox.limits.account_difference_bound = 1_000_000
    assert sorted(i["text"] for i in items) == sorted(["live", *(f"unseen {n}" for n in range(30))])
    assert len({i["telegram_message_id"] for i in items}) == 31


async def test_a_supergroup_gap_too_long_to_replay_is_read_from_history(client, app, sandbox):
    from tests.domain.messages.support import connected_profile

    s = await connected_profile(client, app, sandbox, email="groupgap@example.com")
    group = sandbox.control.create_channel(
        title=f"Group {uuid.uuid4().hex[:6]}", username=None, creator=s.contact, broadcast=False, private=True
    )
    sandbox.control.add_member(group, s.me)
    member = sandbox.control.as_user(s.contact)
    first = await member.send_message(group, "hello group")
    peer_id = int(f"-100{group.id}")
    conversation = await eventually(lambda: conversation_with(client, s.headers, peer_id), what="the group chat")
    sandbox.control.drop_connections(s.me)
    missed = [await member.send_message(group, f"unseen {n}") for n in range(120)]
    await eventually(lambda: asyncio.sleep(0, sandbox.hub.connections_of(s.me.id)), what="reconnected")
    trigger = await member.send_message(group, "after the reconnect")

    async def all_stored() -> list[int] | None:
        found = [m["telegram_message_id"] for m in await stored_messages(client, s.headers, conversation["id"])]
        return found if len(found) >= 122 else None

    found = await eventually(all_stored, timeout=20, what="the supergroup gap read from history")
    assert sorted(found) == [first, *missed, trigger]
