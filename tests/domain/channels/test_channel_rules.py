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
