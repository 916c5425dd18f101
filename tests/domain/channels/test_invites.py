"""Monitoring a private channel through its invite link (t.me/+hash), with the pinned layer's answers
(messages.ChatInviteJoinResult): the join is reported once it happened, and removing the monitor leaves."""

from __future__ import annotations

import asyncio

import pytest

from tests.domain.messages.support import eventually

from .test_channels import events_of, new_channel, profiles_of

pytestmark = pytest.mark.asyncio


async def _left(sandbox, channel, phone: str) -> None:
    me = sandbox.control.user(phone)
    await eventually(lambda: asyncio.sleep(0, me.id not in channel.members), what="left the channel")


async def test_invite_link_joins_a_private_channel_and_delete_leaves(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "invite@example.com", 1)
    channel, _, _ = new_channel(sandbox, private=True)
    link = sandbox.control.export_invite(channel)
    made = await client.post("/channels", json={"channel": link.replace("https://", "")}, headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["telegram_id"] == int(f"-100{channel.id}")
    assert body["title"] == channel.title
    assert body["assignments"][0]["joined"] is True
    assert sandbox.control.user(profile["phone"]).id in channel.members
    joined = [e for e in await events_of(app, "channel.joined") if e["channel_id"] == body["id"]]
    assert [e["was_member"] for e in joined] == [False]

    removed = await client.delete(f"/channels/{body['id']}", headers=headers)
    assert removed.status_code == 204
    await _left(sandbox, channel, profile["phone"])


async def test_join_is_reported_even_when_reading_details_then_fails(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "details@example.com", 1)
    channel, _, _ = new_channel(sandbox, private=True)
    sandbox.control.fail_next("channels.GetFullChannel", 420, "FLOOD_WAIT_30", user=profile["phone"])
    made = await client.post("/channels", json={"channel": sandbox.control.export_invite(channel)}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["assignments"][0]["joined"] is True
    removed = await client.delete(f"/channels/{made.json()['id']}", headers=headers)
    assert removed.status_code == 204
    await _left(sandbox, channel, profile["phone"])


async def test_member_already_is_not_left_and_approval_links_answer_409(client, app, sandbox):
    headers, [profile] = await profiles_of(client, app, "member@example.com", 1)
    channel, _, _ = new_channel(sandbox, private=True)
    sandbox.control.add_member(channel, profile["phone"])
    made = await client.post("/channels", json={"channel": sandbox.control.export_invite(channel)}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["assignments"][0]["joined"] is False
    assert (await client.delete(f"/channels/{made.json()['id']}", headers=headers)).status_code == 204
    me = sandbox.control.user(profile["phone"])
    assert me.id in channel.members

    vetted, _, _ = new_channel(sandbox, private=True)
    link = sandbox.control.export_invite(vetted, request_needed=True)
    refused = await client.post("/channels", json={"channel": link}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "INVITE_REQUEST_SENT"
    assert sandbox.control.join_requests(vetted) == [me.id]
    assert me.id not in vetted.members

    expired = await client.post(
        "/channels", json={"channel": sandbox.control.export_invite(vetted, expire_in=-1)}, headers=headers
    )
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "INVITE_HASH_EXPIRED"
