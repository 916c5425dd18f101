"""A profile's first connection catches up from the update state at binding (or import), not from "now"."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from app.db.models import Chat, Message, UpdateState
from app.server.app import create_app
from tests.conftest import bearer, register_and_login, running, sandbox_phone
from tests.domain.messages.support import eventually, new_contact
from tests.domain.profiles.test_binding import bind

pytestmark = pytest.mark.asyncio


def http(application):
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def stored_texts(app, profile_id: uuid.UUID) -> list[str]:
    async with app.state.ctx.sessionmaker() as session:
        rows = await session.scalars(
            select(Message.text).join(Chat, Chat.id == Message.chat_id).where(Chat.profile_id == profile_id)
        )
        return list(rows)


async def test_messages_between_binding_and_the_first_connection_are_stored_once(app, sandbox):
    # An API-only process binds and imports; no worker connects the profiles until later.
    api = create_app(app.state.ctx.settings, run_background=False)
    try:
        async with running(api), http(api) as client:
            headers = bearer(await register_and_login(client, "ada@example.com"))
            bound = await bind(client, headers)
            imported_user = sandbox.control.create_user(
                phone=f"4471{uuid.uuid4().int % 10_000_000:07d}", first_name="Imp", username=None
            )
            imported = await client.post(
                "/profiles/import",
                json={"session_string": sandbox.control.login_session(imported_user)},
                headers=headers,
            )
            assert imported.status_code == 201, imported.text
            profiles = {
                uuid.UUID(bound["id"]): bound["phone"],
                uuid.UUID(imported.json()["id"]): imported.json()["phone"],
            }
            async with api.state.ctx.sessionmaker() as session:
                checkpointed = set(
                    await session.scalars(select(UpdateState.profile_id).where(UpdateState.entity_id == 0))
                )
            assert checkpointed == set(profiles)
    finally:
        await api.state.ctx.engine.dispose()

    contact = new_contact(sandbox)
    for phone in profiles.values():
        for n in range(5):
            await sandbox.control.as_user(contact).send_message(phone.lstrip("+"), f"after binding {n}")

    expected = sorted(f"after binding {n}" for n in range(5))
    async with running(app):
        for profile_id in profiles:

            async def caught_up(profile_id=profile_id):
                texts = await stored_texts(app, profile_id)
                return texts if sorted(t for t in texts if t.startswith("after binding")) == expected else None

            await eventually(caught_up, timeout=15, what="messages sent before the first connection")
    for profile_id in profiles:
        texts = [t for t in await stored_texts(app, profile_id) if t.startswith("after binding")]
        assert sorted(texts) == expected  # each exactly once


async def stored_channel_ids(app, profile_id: uuid.UUID, peer_id: int) -> list[int]:
    async with app.state.ctx.sessionmaker() as session:
        rows = await session.scalars(
            select(Message.telegram_message_id)
            .join(Chat, Chat.id == Message.chat_id)
            .where(Chat.profile_id == profile_id, Chat.peer_id == peer_id)
        )
        return list(rows)


@pytest.mark.parametrize("settings_overrides", [{"GAP_RECOVERY_LIMIT": "1"}], indirect=True)
async def test_channel_posts_between_binding_and_the_first_live_post_are_replayed_by_telegram(app, sandbox):
    """The binding checkpoint holds each channel's pts, so Telegram replays what a channel got before the first
    connection. History reads cannot stand in: here they may read only one message per chat."""
    phone = sandbox_phone()  # a test number: the sandbox knows its login code
    member = sandbox.control.create_user(phone=phone.lstrip("+"), first_name="Reader", username=None)
    channel = sandbox.control.create_channel("Before the first connection", members=[member])
    api = create_app(app.state.ctx.settings, run_background=False)
    try:
        async with running(api), http(api) as client:
            headers = bearer(await register_and_login(client, "ada@example.com"))
            profile_id = uuid.UUID((await bind(client, headers, phone=phone))["id"])
            async with api.state.ctx.sessionmaker() as session:
                pts = await session.scalar(
                    select(UpdateState.pts).where(
                        UpdateState.profile_id == profile_id, UpdateState.entity_id == channel.id
                    )
                )
            assert pts == channel.log.pts  # the channel's state at binding is the first checkpoint
    finally:
        await api.state.ctx.engine.dispose()

    creator = sandbox.control.as_user(channel.creator_id)
    before = [await creator.post(channel.id, f"before connecting {n}") for n in range(3)]
    peer_id = int(f"-100{channel.id}")
    async with running(app):
        # The first connection's history pass reads one message: the newest. Then a live post shows Telegram
        # that the account is behind in this channel, and the rest comes from getChannelDifference.
        await eventually(
            lambda: _has(stored_channel_ids(app, profile_id, peer_id), before[-1]), timeout=15, what="the pass"
        )
        live = await creator.post(channel.id, "live")

        async def all_stored():
            ids = await stored_channel_ids(app, profile_id, peer_id)
            return ids if {*before, live} <= set(ids) else None

        await eventually(all_stored, timeout=15, what="the channel's posts since binding")
        ids = await stored_channel_ids(app, profile_id, peer_id)
    assert sorted(ids) == sorted([*before, live])  # each exactly once


async def _has(pending, message_id: int) -> bool:
    return message_id in await pending
