"""Channel monitoring under Telegram's rules: supergroups monitored like channels, and channels a profile
loses (kicked, banned, deleted) marked, alerted and handed to a profile that can still read them."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest

from app.sandbox import SandboxDC
from tests.domain.channels.test_channels import all_posts, events_of, profiles_of
from tests.domain.messages.support import eventually

pytestmark = pytest.mark.asyncio
_names = itertools.count(1)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"CHANNEL_FAILOVER_INTERVAL_S": "0.5", "PROFILE_HEALTH_INTERVAL_S": "0.5"}


def new_group(sandbox: SandboxDC, *, broadcast: bool) -> tuple[Any, Any, str]:
    n = next(_names)
    username = f"rule{uuid.uuid4().hex[:6]}{n}"
    owner = sandbox.control.create_user(phone=f"4472{n:07d}", first_name="Owner", username=f"own{username}")
    group = sandbox.control.create_channel(title=f"Group {n}", username=username, creator=owner, broadcast=broadcast)
    return group, owner, username


async def test_supergroup_messages_carry_channel_context(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "supergroup@example.com", 1)
    group, owner, name = new_group(sandbox, broadcast=False)
    added = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert added.status_code == 201, added.text
    channel_id = added.json()["id"]
    author = sandbox.control.as_user(owner)
    first = await author.post(group, "hello group")
    await eventually(lambda: all_posts(client, headers, channel_id), what="the post stored")
    await author.edit_message(group, first, "hello group, edited")
    await author.delete_messages(group, [first])

    async def announced() -> dict[str, list[dict[str, Any]]] | None:
        found = {
            kind: [e for e in await events_of(app, kind) if e.get("channel_id") == channel_id]
            for kind in ("message.received", "message.edited", "message.deleted")
        }
        return found if all(found.values()) else None

    found = await eventually(announced, what="events with channel context")
    for kind, items in found.items():
        assert items[0]["channel"]["username"] == name, kind
        assert items[0]["peer"]["kind"] == "supergroup", kind
        assert items[0]["_profile"] == profile["phone"]


async def _detail(client: Any, headers: dict[str, str], channel_id: str) -> dict[str, Any]:
    return dict((await client.get(f"/channels/{channel_id}", headers=headers)).json())


async def _lost_alerts(app: Any, channel_id: str) -> list[dict[str, Any]]:
    return [
        a for a in await events_of(app, "alert") if a.get("kind") == "channel_lost" and a["channel_id"] == channel_id
    ]


@pytest.mark.parametrize(("ban", "reason"), [(False, "removed"), (True, "forbidden")])
async def test_a_kicked_or_banned_profile_hands_the_channel_over(client, app, sandbox, ban, reason):
    headers, (first, second) = await profiles_of(client, app, f"kicked{int(ban)}@example.com", 2)
    channel, owner, name = new_group(sandbox, broadcast=True)
    added = await client.post("/channels", json={"channel": f"@{name}", "phone": first["phone"]}, headers=headers)
    assert added.status_code == 201, added.text
    channel_id = added.json()["id"]
    author = sandbox.control.as_user(owner)
    await author.post(channel, "before")
    await eventually(lambda: all_posts(client, headers, channel_id), what="the first post")

    sandbox.control.remove_member(channel, first["phone"], ban=ban)

    async def moved() -> dict[str, Any] | None:
        detail = await _detail(client, headers, channel_id)
        done = detail["phone"] == second["phone"] and detail["status"] == "active"
        return detail if done and detail["assignments"][-1]["joined"] else None

    detail = await eventually(moved, timeout=30, what="handed to the second profile")
    assert [a["status"] for a in detail["assignments"]] == ["failed", "active"]
    assert reason in detail["assignments"][0]["reason"]
    alerts = await _lost_alerts(app, channel_id)
    assert [a["from"] for a in alerts] == [first["phone"]]
    assert reason in alerts[0]["reason"]
    await author.post(channel, "after")

    async def both() -> list[str] | None:
        texts = sorted(p["text"] for p in await all_posts(client, headers, channel_id))
        return texts if texts == ["after", "before"] else None

    await eventually(both, what="the post after the hand-over")


async def test_a_deleted_channel_is_marked_failed_with_an_alert(client, app, sandbox):
    headers, (first, _second) = await profiles_of(client, app, "deleted@example.com", 2)
    channel, _owner, name = new_group(sandbox, broadcast=True)
    added = await client.post("/channels", json={"channel": f"@{name}", "phone": first["phone"]}, headers=headers)
    channel_id = added.json()["id"]
    sandbox.control.delete_channel(channel)

    async def failed() -> dict[str, Any] | None:
        detail = await _detail(client, headers, channel_id)
        return detail if detail["status"] == "failed" and detail["assignments"][-1]["ended_at"] else None

    detail = await eventually(failed, timeout=30, what="the monitor failed")
    assert "forbidden" in detail["status_reason"]
    assert all(a["status"] == "failed" for a in detail["assignments"])
    assert len(await _lost_alerts(app, channel_id)) == 1


async def test_a_frozen_profile_hands_its_channels_over(client, app, sandbox):
    headers, (first, second) = await profiles_of(client, app, "frozenchan@example.com", 2)
    _channel, _owner, name = new_group(sandbox, broadcast=True)
    added = await client.post("/channels", json={"channel": f"@{name}", "phone": first["phone"]}, headers=headers)
    channel_id = added.json()["id"]
    sandbox.control.freeze(first["phone"])

    async def moved() -> dict[str, Any] | None:
        detail = await _detail(client, headers, channel_id)
        return detail if detail["phone"] == second["phone"] and detail["assignments"][-1]["joined"] else None

    detail = await eventually(moved, timeout=30, what="handed over by the frozen profile")
    assert "frozen" in detail["assignments"][0]["reason"]
