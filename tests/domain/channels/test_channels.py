"""Channel monitoring end to end against the sandbox: adding, assignment, capture, failover, orphaning."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.db.models import Chat, Event, Message
from app.sandbox import SandboxDC
from app.sandbox.state import User
from tests.conftest import bearer, register_and_login
from tests.domain.messages.support import eventually
from tests.domain.profiles.test_binding import bind

pytestmark = pytest.mark.asyncio
_names = itertools.count(1)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    # Telegram pushes no ban: a silent profile's ban is found by its health check.
    return {"CHANNEL_FAILOVER_INTERVAL_S": "0.5", "PROFILE_HEALTH_INTERVAL_S": "0.5"}


def new_channel(sandbox: SandboxDC, *, private: bool = False) -> tuple[Any, User, str]:
    n = next(_names)
    username = f"mon{uuid.uuid4().hex[:6]}{n}"
    owner = sandbox.control.create_user(phone=f"4471{n:07d}", first_name="Owner", username=f"own{username}")
    channel = sandbox.control.create_channel(
        title=f"News {n}", username=None if private else username, creator=owner, private=private
    )
    return channel, owner, username


async def profiles_of(client: Any, app: Any, email: str, count: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    headers = bearer(await register_and_login(client, email))
    bound = [await bind(client, headers) for _ in range(count)]
    for profile in bound:
        assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(profile["id"]), timeout=10)
    return headers, bound


async def events_of(app: Any, kind: str) -> list[dict[str, Any]]:
    async with app.state.ctx.sessionmaker() as session:
        rows = await session.scalars(select(Event).where(Event.type == kind).order_by(Event.created_at))
        return [dict(r.payload, _profile=r.profile) for r in rows]


async def all_posts(client: Any, headers: dict[str, str], channel_id: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 200, **params, **({"cursor": cursor} if cursor else {})}
        page = await client.get(f"/channels/{channel_id}/messages", params=query, headers=headers)
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


async def test_add_by_username_link_and_id_then_duplicates_conflict(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "add@example.com", 1)
    first, owner, name1 = new_channel(sandbox)
    await sandbox.control.as_user(owner).post(first, "before monitoring")
    _second, _, name2 = new_channel(sandbox)
    third, _, _ = new_channel(sandbox)

    by_name = await client.post("/channels", json={"channel": f"@{name1}"}, headers=headers)
    assert by_name.status_code == 201, by_name.text
    body = by_name.json()
    assert body["title"] == first.title
    assert body["username"] == name1
    assert body["phone"] == profile["phone"]
    assert body["status"] == "active"
    assert body["member_count"] >= 2
    assert body["assignments"][0]["status"] == "active"
    assert body["assignments"][0]["joined"] is True
    by_link = await client.post("/channels", json={"channel": f"https://t.me/{name2}"}, headers=headers)
    assert by_link.status_code == 201, by_link.text
    # A bare id carries no access hash: Telegram answers only for channels the profile has seen (its dialogs).
    unseen, _, _ = new_channel(sandbox)
    by_unseen_id = await client.post("/channels", json={"channel": str(unseen.id)}, headers=headers)
    assert by_unseen_id.status_code == 404, by_unseen_id.text
    assert by_unseen_id.json()["error"]["code"] == "channel_not_found"
    sandbox.control.add_member(third, sandbox.control.user(profile["phone"]))
    by_id = await client.post("/channels", json={"channel": str(third.id)}, headers=headers)
    assert by_id.status_code == 201, by_id.text
    assert by_id.json()["telegram_id"] == int(f"-100{third.id}")

    again = await client.post("/channels", json={"channel": name1}, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["details"]["id"] == body["id"]
    again_by_id = await client.post("/channels", json={"channel": f"-100{first.id}"}, headers=headers)
    assert again_by_id.status_code == 409
    assert again_by_id.json()["error"]["details"]["id"] == body["id"]

    # the backfill stored the post from before; list, detail and profile counts follow
    posts = await eventually(lambda: all_posts(client, headers, body["id"]), what="backfill")
    assert [p["text"] for p in posts] == ["before monitoring"]
    listed = (await client.get("/channels", headers=headers)).json()
    assert {c["username"] for c in listed} == {name1, name2, None} or len(listed) == 3
    assert next(c for c in listed if c["id"] == body["id"])["message_count"] == 1
    profiles = (await client.get("/profiles", headers=headers)).json()
    assert profiles[0]["channel_count"] == 3

    other = bearer(await register_and_login(client, "other@example.com"))
    assert (await client.get(f"/channels/{body['id']}", headers=other)).status_code == 404
    assert (await client.get(f"/channels/{body['id']}/messages", headers=other)).status_code == 404
    assert (await client.delete(f"/channels/{body['id']}", headers=other)).status_code == 404

    removed = await client.delete(f"/channels/{body['id']}", headers=headers)
    assert removed.status_code == 204
    me = sandbox.control.user(profile["phone"])
    await eventually(lambda: asyncio.sleep(0, me.id not in first.members), what="left the channel")


async def test_least_loaded_profile_is_chosen_across_three(client, app, sandbox):
    headers, profiles = await profiles_of(client, app, "load@example.com", 3)
    p1, p2, p3 = (p["phone"] for p in profiles)
    for phone in (p1, p1, p2):
        _, _, name = new_channel(sandbox)
        made = await client.post("/channels", json={"channel": f"@{name}", "phone": phone}, headers=headers)
        assert made.status_code == 201
        assert made.json()["phone"] == phone
    _, _, name = new_channel(sandbox)
    auto = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert auto.status_code == 201
    assert auto.json()["phone"] == p3
    _, _, name = new_channel(sandbox)
    auto = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert auto.json()["phone"] in (p2, p3)
    counts = {p["phone"]: p["channel_count"] for p in (await client.get("/profiles", headers=headers)).json()}
    assert counts[p1] == 2
    assert counts[p2] + counts[p3] == 3


async def test_join_failures_answer_precise_4xx_with_an_alert(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "fail@example.com", 1)
    private, _, _ = new_channel(sandbox, private=True)
    me = sandbox.control.user(profile["phone"])
    sandbox.control.add_member(private, me)  # seen once (so the profile holds its hash), then left
    assert (
        await client.get("/messages/dialogs", params={"phone": profile["phone"]}, headers=headers)
    ).status_code == 200
    await sandbox.control.as_user(me).leave(private)
    refused = await client.post("/channels", json={"channel": str(private.id)}, headers=headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "CHANNEL_PRIVATE"

    _, _, name = new_channel(sandbox)
    sandbox.control.fail_next("channels.JoinChannel", 400, "CHANNELS_TOO_MUCH", user=profile["phone"])
    too_many = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert too_many.status_code == 409
    assert too_many.json()["error"]["code"] == "CHANNELS_TOO_MUCH"
    sandbox.control.fail_next("channels.JoinChannel", 400, "INVITE_HASH_EXPIRED", user=profile["phone"])
    expired = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "INVITE_HASH_EXPIRED"
    missing = await client.post("/channels", json={"channel": "@no_such_channel_here"}, headers=headers)
    assert missing.status_code == 404
    bad = await client.post("/channels", json={"channel": "not a channel!"}, headers=headers)
    assert bad.status_code == 422

    alerts = [a for a in await events_of(app, "alert") if a.get("kind") == "channel_join_failed"]
    assert [a["code"] for a in alerts] == [
        "CHANNEL_PRIVATE",
        "CHANNELS_TOO_MUCH",
        "INVITE_HASH_EXPIRED",
        "channel_not_found",
    ]
    assert len(await events_of(app, "channel.join_failed")) == 4
    assert (await client.get("/channels", headers=headers)).json() == []


async def test_posts_edits_and_deletions_are_captured_with_channel_context(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "capture@example.com", 1)
    channel, owner, name = new_channel(sandbox)
    added = (await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)).json()
    author = sandbox.control.as_user(owner)
    first = await author.post(channel, "first post")
    second = await author.post(channel, "second post")
    await eventually(lambda: _count(client, headers, added["id"], 2), what="two posts stored")
    await author.edit_message(channel, first, "first post, corrected")
    await author.delete_messages(channel, [second])

    async def settled() -> list[dict[str, Any]] | None:
        posts = await all_posts(client, headers, added["id"])
        by_id = {p["telegram_message_id"]: p for p in posts}
        done = by_id.get(second, {}).get("is_deleted") and by_id.get(first, {}).get("edits")
        return posts if done else None

    posts = {p["telegram_message_id"]: p for p in await eventually(settled, what="edit and deletion stored")}
    assert posts[first]["text"] == "first post, corrected"
    assert [e["text"] for e in posts[first]["edits"]] == ["first post"]
    assert posts[second]["text"] == "second post"
    assert posts[second]["deleted_at"]
    visible = await all_posts(client, headers, added["id"], include_deleted="false")
    assert [p["telegram_message_id"] for p in visible] == [first]
    detail = (await client.get(f"/channels/{added['id']}", headers=headers)).json()
    assert detail["message_count"] == 2
    assert detail["deleted_count"] == 1
    assert detail["last_message_at"]

    for kind in ("message.received", "message.edited", "message.deleted"):
        found = [e for e in await events_of(app, kind) if e.get("channel_id") == added["id"]]
        assert found, kind
        assert found[0]["channel"]["username"] == name
        assert found[0]["_profile"] == profile["phone"]


async def _count(client: Any, headers: dict[str, str], channel_id: str, n: int) -> bool:
    return len(await all_posts(client, headers, channel_id)) >= n


async def test_ban_moves_the_channel_and_no_post_is_lost_or_stored_twice(client, app, sandbox):
    headers, profiles = await profiles_of(client, app, "failover@example.com", 2)
    first, second = profiles
    channel, owner, name = new_channel(sandbox)
    added = await client.post("/channels", json={"channel": f"@{name}", "phone": first["phone"]}, headers=headers)
    assert added.status_code == 201
    channel_id = added.json()["id"]
    author = sandbox.control.as_user(owner)
    posted: list[int] = []
    stop = asyncio.Event()

    async def keep_posting() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            posted.append(await author.post(channel, f"post {n}"))
            await asyncio.sleep(0.03)

    poster = asyncio.create_task(keep_posting())
    await eventually(lambda: _count(client, headers, channel_id, 5), what="posts before the ban")
    sandbox.control.ban(first["phone"])

    async def moved() -> dict[str, Any] | None:
        detail = (await client.get(f"/channels/{channel_id}", headers=headers)).json()
        return detail if detail["phone"] == second["phone"] and detail["assignments"][-1]["joined"] else None

    detail = await eventually(moved, timeout=20, what="reassigned to the second profile")
    await asyncio.sleep(0.5)  # keep posting after the failover too
    stop.set()
    await poster

    async def complete() -> list[int] | None:
        ids = [p["telegram_message_id"] for p in await all_posts(client, headers, channel_id)]
        return ids if set(posted) <= set(ids) else None

    ids = await eventually(complete, timeout=15, what="every post stored")
    assert len(ids) == len(set(ids)) == len(posted)
    assert [a["status"] for a in detail["assignments"]] == ["reassigned", "active"]
    assert "banned" in detail["assignments"][0]["reason"]
    reassigned = await events_of(app, "channel.reassigned")
    assert reassigned[-1]["from"] == first["phone"]
    assert reassigned[-1]["to"] == second["phone"]

    # under the new profile: every post from the first one the banned profile missed, each exactly once
    async with app.state.ctx.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Chat.profile_phone, Message.telegram_message_id)
                .join(Chat, Chat.id == Message.chat_id)
                .where(Chat.peer_id == int(f"-100{channel.id}"))
            )
        ).all()
    by_profile: dict[str, list[int]] = {}
    for phone, tg_id in rows:
        by_profile.setdefault(phone, []).append(tg_id)
    old, new = by_profile.get(first["phone"], []), by_profile[second["phone"]]
    assert len(new) == len(set(new))
    assert set(posted) - set(old) <= set(new)
    assert set(new) >= {i for i in posted if i > max(old, default=0)}


async def test_no_eligible_profile_orphans_the_channel_with_an_alert(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "orphan@example.com", 1)
    _, _, name = new_channel(sandbox)
    added = (await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)).json()
    sandbox.control.ban(profile["phone"])

    async def orphaned() -> dict[str, Any] | None:
        detail = (await client.get(f"/channels/{added['id']}", headers=headers)).json()
        return detail if detail["status"] == "orphaned" else None

    detail = await eventually(orphaned, timeout=20, what="orphaned")
    assert detail["assignments"][-1]["status"] == "failed"
    assert detail["assignments"][-1]["ended_at"]
    alerts = [a for a in await events_of(app, "alert") if a.get("kind") == "channel_orphaned"]
    assert alerts
    assert alerts[0]["channel_id"] == added["id"]


async def test_adding_an_orphaned_channel_again_resumes_it_and_catches_up(client, app, sandbox):
    headers, [first] = await profiles_of(client, app, "resume@example.com", 1)
    channel, owner, name = new_channel(sandbox)
    added = (await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)).json()
    poster = sandbox.control.as_user(owner)
    await poster.post(channel, "before the ban")
    await eventually(lambda: _count(client, headers, added["id"], 1), what="the first post")
    sandbox.control.ban(first["phone"])

    async def orphaned() -> bool:
        return (await client.get(f"/channels/{added['id']}", headers=headers)).json()["status"] == "orphaned"

    await eventually(orphaned, timeout=20, what="orphaned")
    await poster.post(channel, "while orphaned")
    second = await bind(client, headers)
    assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(second["id"]), timeout=10)

    resumed = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert body["id"] == added["id"]
    assert body["status"] == "active"
    assert body["phone"] == second["phone"]
    await eventually(lambda: _count(client, headers, added["id"], 2), what="the post missed while orphaned")
    await poster.post(channel, "after resuming")
    await eventually(lambda: _count(client, headers, added["id"], 3), what="a live post after resuming")
    texts = sorted(p["text"] for p in await all_posts(client, headers, added["id"]))
    assert texts == ["after resuming", "before the ban", "while orphaned"]
    joined = [e for e in await events_of(app, "channel.joined") if e.get("resumed")]
    assert [e["channel_id"] for e in joined] == [added["id"]]
    again = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert again.status_code == 409
