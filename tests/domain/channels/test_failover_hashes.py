"""Failover to another account addresses the channel with that account's own access hash (hashes are per account)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domain.channels.test_channels import all_posts, new_channel, profiles_of
from tests.domain.messages.support import eventually

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    # Telegram pushes no ban: the banned profile's health check finds it.
    return {"CHANNEL_FAILOVER_INTERVAL_S": "0.5", "PROFILE_HEALTH_INTERVAL_S": "0.5"}


async def test_a_channel_without_username_fails_over_by_id_with_the_new_profiles_hash(client, app, sandbox):
    headers, (first, second) = await profiles_of(client, app, "hashes@example.com", 2)
    channel, owner, _ = new_channel(sandbox, private=True)  # no username: only its id names it
    for profile in (first, second):
        sandbox.control.add_member(channel, sandbox.control.user(profile["phone"]))
    added = await client.post("/channels", json={"channel": str(channel.id), "phone": first["phone"]}, headers=headers)
    assert added.status_code == 201, added.text
    channel_id = added.json()["id"]
    sandbox.control.ban(first["phone"])

    async def moved() -> dict[str, Any] | None:
        detail = (await client.get(f"/channels/{channel_id}", headers=headers)).json()
        return detail if detail["phone"] == second["phone"] and detail["status"] == "active" else None

    await eventually(moved, timeout=20, what="reassigned to the second profile")
    await sandbox.control.as_user(owner).post(channel, "after the failover")

    async def stored() -> list[dict[str, Any]] | None:
        posts = await all_posts(client, headers, channel_id)
        return posts if any(p["text"] == "after the failover" for p in posts) else None

    await eventually(stored, timeout=10, what="a post stored through the second profile")
