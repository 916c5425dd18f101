"""The crash window of a join: Telegram joined, but the commit that records the monitor failed. The retry must
know the membership is ours (a durable marker committed before the join), so removing the monitor leaves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.db.models import ChannelJoinMarker
from tests.domain.messages.support import eventually

from .test_channels import new_channel, profiles_of

pytestmark = pytest.mark.asyncio

_SQLITE_FAULT = "CREATE TRIGGER refuse_channels BEFORE INSERT ON channels BEGIN SELECT RAISE(ABORT, 'disk fault'); END"
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION refuse_channels() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'disk fault'; END $$ LANGUAGE plpgsql"
)
_PG_FAULT = "CREATE TRIGGER refuse_channels BEFORE INSERT ON channels FOR EACH ROW EXECUTE FUNCTION refuse_channels()"


async def _fault(app: Any, on: bool) -> None:
    """A real database fault: every insert into `channels` fails (as a full disk or a broken constraint would)."""
    async with app.state.ctx.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if on:
            if postgres:
                await conn.execute(text(_PG_FUNCTION))
            await conn.execute(text(_PG_FAULT if postgres else _SQLITE_FAULT))
        else:
            await conn.execute(text("DROP TRIGGER refuse_channels" + (" ON channels" if postgres else "")))


async def _markers(app: Any) -> int:
    async with app.state.ctx.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ChannelJoinMarker)) or 0)


@pytest.mark.parametrize("how", ["invite", "username"])
async def test_a_retry_after_a_failed_commit_still_leaves_on_delete(client, app, sandbox, how):
    headers, [profile] = await profiles_of(client, app, f"joincrash{how}@example.com", 1)
    channel, _, name = new_channel(sandbox, private=how == "invite")
    ref = sandbox.control.export_invite(channel) if how == "invite" else f"@{name}"
    me = sandbox.control.user(profile["phone"])
    await _fault(app, True)
    try:
        failed = await client.post("/channels", json={"channel": ref}, headers=headers)
    finally:
        await _fault(app, False)
    assert failed.status_code >= 500, failed.text
    assert me.id in channel.members  # Telegram joined; the monitor was not recorded
    assert await _markers(app) == 1

    retried = await client.post("/channels", json={"channel": ref}, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["assignments"][0]["joined"] is True
    assert await _markers(app) == 0
    removed = await client.delete(f"/channels/{retried.json()['id']}", headers=headers)
    assert removed.status_code == 204
    await eventually(lambda: asyncio.sleep(0, me.id not in channel.members), what="left the channel")


async def test_a_member_already_is_not_marked_as_ours(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "joinmember@example.com", 1)
    channel, _, _ = new_channel(sandbox, private=True)
    sandbox.control.add_member(channel, profile["phone"])
    link = sandbox.control.export_invite(channel)
    await _fault(app, True)
    try:
        failed = await client.post("/channels", json={"channel": link}, headers=headers)
    finally:
        await _fault(app, False)
    assert failed.status_code >= 500
    assert await _markers(app) == 0  # Telegram said it was a member: nothing of ours to remember
    retried = await client.post("/channels", json={"channel": link}, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["assignments"][0]["joined"] is False


async def test_a_refused_join_leaves_no_marker(client, app, sandbox):
    headers, _ = await profiles_of(client, app, "joinrefused@example.com", 1)
    channel, _, _ = new_channel(sandbox, private=True)
    expired = sandbox.control.export_invite(channel, expire_in=-1)
    refused = await client.post("/channels", json={"channel": expired}, headers=headers)
    assert refused.status_code == 410
    assert await _markers(app) == 0
