"""A `failed` channel (no profile could read it) is tried again: with a bounded backoff, and at once when a
profile of the same user becomes active."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.db.models import Channel
from tests.domain.channels.test_channel_rules import new_group
from tests.domain.channels.test_channels import all_posts, profiles_of
from tests.domain.messages.support import eventually
from tests.domain.profiles.test_binding import bind

pytestmark = pytest.mark.asyncio


async def _detail(client: Any, headers: dict[str, str], channel_id: str) -> dict[str, Any]:
    return dict((await client.get(f"/channels/{channel_id}", headers=headers)).json())


async def _failed_channel(client: Any, app: Any, sandbox: Any, email: str) -> tuple[Any, ...]:
    headers, [profile] = await profiles_of(client, app, email, 1)
    channel, owner, name = new_group(sandbox, broadcast=True)
    added = await client.post("/channels", json={"channel": f"@{name}"}, headers=headers)
    assert added.status_code == 201, added.text
    channel_id = added.json()["id"]
    sandbox.control.remove_member(channel, profile["phone"], ban=True)

    async def failed() -> dict[str, Any] | None:
        detail = await _detail(client, headers, channel_id)
        return detail if detail["status"] == "failed" and detail["assignments"][-1]["ended_at"] else None

    await eventually(failed, timeout=30, what="the monitor failed")
    return headers, profile, channel, owner, channel_id


@pytest.mark.parametrize(
    "settings_overrides",
    [{"CHANNEL_FAILOVER_INTERVAL_S": "0.2", "CHANNEL_RETRY_MIN_S": "0.5", "CHANNEL_RETRY_MAX_S": "2"}],
    indirect=True,
)
async def test_a_failed_channel_is_retried_with_backoff_and_recovers(client, app, sandbox):
    headers, profile, channel, owner, channel_id = await _failed_channel(client, app, sandbox, "retry@example.com")

    async def retried_twice() -> bool:
        async with app.state.ctx.sessionmaker() as session:
            row = await session.get(Channel, uuid.UUID(channel_id))
            return bool(row and row.retries >= 2 and row.status == "failed" and row.retry_at is not None)

    await eventually(retried_twice, timeout=30, what="refused retries backing off")
    sandbox.control.unban_member(channel, profile["phone"])

    async def recovered() -> dict[str, Any] | None:
        detail = await _detail(client, headers, channel_id)
        return detail if detail["status"] == "active" and detail["assignments"][-1]["joined"] else None

    detail = await eventually(recovered, timeout=30, what="the channel readable again")
    assert detail["phone"] == profile["phone"]
    await sandbox.control.as_user(owner).post(channel, "after the unban")

    async def stored() -> list[str] | None:
        texts = [p["text"] for p in await all_posts(client, headers, channel_id)]
        return texts if "after the unban" in texts else None

    await eventually(stored, what="posts captured again")


@pytest.mark.parametrize(
    "settings_overrides",
    [{"CHANNEL_FAILOVER_INTERVAL_S": "0.2", "CHANNEL_RETRY_MIN_S": "3600", "CHANNEL_RETRY_MAX_S": "7200"}],
    indirect=True,
)
async def test_a_failed_channel_is_retried_at_once_by_a_new_active_profile(client, app, sandbox):
    headers, first, _channel, _owner, channel_id = await _failed_channel(client, app, sandbox, "retrynew@example.com")
    second = await bind(client, headers)
    assert await app.state.ctx.telegram.runtime.wait_connected(uuid.UUID(second["id"]), timeout=10)

    async def taken() -> dict[str, Any] | None:
        detail = await _detail(client, headers, channel_id)
        # The assignment is committed before the join and marked joined after it: wait for both.
        done = detail["status"] == "active" and detail["phone"] == second["phone"]
        return detail if done and detail["assignments"][-1]["joined"] else None

    detail = await eventually(taken, timeout=30, what="the new profile took the failed channel")
    assert detail["assignments"][-1]["status"] == "active"
    assert first["phone"] != second["phone"]
