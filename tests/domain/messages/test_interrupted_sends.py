"""Sends cut off mid-way (a cancelled request, a crash): never pending forever, and a retry sends at most once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db.models import Event, Message, TelegramProfile
from app.domain.messages import store
from app.domain.messages.send_outcomes import INTERRUPTED, pending_stale_after
from app.domain.messages.send_rules import Outgoing
from app.domain.messages.services import Sender
from app.server.housekeeping import sweep
from app.telegram.records import PeerInfo
from app.telegram.updates import ProfileRef
from tests.domain.messages.support import Setup, connected_profile, eventually
from tests.domain.messages.test_sending import received_by

pytestmark = pytest.mark.asyncio

LONG_AGO = datetime.now(UTC) - timedelta(hours=1)


async def crashed_attempt(app, s: Setup, text: str, key: str) -> None:
    """The row a process leaves when it dies after claiming a send: pending, an hour old."""
    async with app.state.ctx.sessionmaker.begin() as session:
        profile = ProfileRef(s.profile_id, (await app_owner(app, s)), s.phone)
        chat = await store.upsert_chat(session, profile, PeerInfo(s.contact.id, "user", "Bob", s.contact.username))
        await session.flush()
        session.add(
            Message(
                chat_id=chat.id,
                direction="out",
                text=text,
                date=LONG_AGO,
                status="pending",
                idempotency_key=key,
                created_at=LONG_AGO,
                updated_at=LONG_AGO,
            )
        )


async def app_owner(app, s: Setup):
    async with app.state.ctx.sessionmaker() as session:
        return (await session.get_one(TelegramProfile, s.profile_id)).owner_id


async def row_with_key(app, key: str) -> Message:
    async with app.state.ctx.sessionmaker() as session:
        return (await session.scalars(select(Message).where(Message.idempotency_key == key))).one()


def send(s: Setup, text: str) -> dict[str, str]:
    return {"phone": s.phone, "text": text, "tg_receiver": f"@{s.contact.username}"}


async def test_a_stale_pending_send_is_failed_by_the_sweep_and_announced(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    await crashed_attempt(app, s, "cut off", "order-1")
    await sweep(app.state.ctx.sessionmaker, app.state.ctx.settings)
    row = await row_with_key(app, "order-1")
    assert (row.status, row.error) == ("failed", INTERRUPTED)
    async with app.state.ctx.sessionmaker() as session:
        failed = list(await session.scalars(select(Event).where(Event.type == "message.failed")))
    assert [e.payload["message_id"] for e in failed] == [str(row.id)]
    assert failed[0].payload["error"] == INTERRUPTED


async def test_a_fresh_pending_send_is_left_alone(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    await crashed_attempt(app, s, "in flight", "order-2")
    async with app.state.ctx.sessionmaker.begin() as session:
        row = (await session.scalars(select(Message).where(Message.idempotency_key == "order-2"))).one()
        row.updated_at = datetime.now(UTC)
    await sweep(app.state.ctx.sessionmaker, app.state.ctx.settings)
    assert (await row_with_key(app, "order-2")).status == "pending"
    retry = await client.post(
        "/messages/send", json=send(s, "in flight"), headers={**s.headers, "Idempotency-Key": "order-2"}
    )
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "send_in_progress"


async def test_a_retry_of_a_crashed_send_that_never_reached_telegram_sends_it_once(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    await crashed_attempt(app, s, "never arrived", "order-3")
    headers = {**s.headers, "Idempotency-Key": "order-3"}
    retry = await client.post("/messages/send", json=send(s, "never arrived"), headers=headers)
    assert retry.status_code == 200, retry.text
    assert retry.headers.get("idempotent-replayed") != "true"
    assert received_by(s.contact, s.me) == ["never arrived"]
    row = await row_with_key(app, "order-3")
    assert row.status == "sent"
    assert row.telegram_message_id is not None


async def test_a_retry_of_a_crashed_send_that_telegram_has_does_not_send_it_again(client, app, sandbox):
    s = await connected_profile(client, app, sandbox)
    await crashed_attempt(app, s, "arrived before the crash", "order-4")
    # Telegram took the message, but the process died before recording it and the update was lost too.
    sent_id = await sandbox.control.as_user(s.me).send_message(s.contact, "arrived before the crash", lose_update=True)
    headers = {**s.headers, "Idempotency-Key": "order-4"}
    retry = await client.post("/messages/send", json=send(s, "arrived before the crash"), headers=headers)
    assert retry.status_code == 200, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["message"]["telegram_message_id"] == sent_id
    assert received_by(s.contact, s.me) == ["arrived before the crash"]
    row = await row_with_key(app, "order-4")
    assert (row.status, row.telegram_message_id) == ("sent", sent_id)


class TestCancelledSend:
    @pytest.fixture
    def settings_overrides(self):
        return {"SEND_CHAT_INTERVAL_S": "3", "SEND_MAX_WAIT_S": "10"}

    async def test_a_send_cancelled_mid_way_is_failed_and_its_retry_sends_once(self, client, app, sandbox):
        s = await connected_profile(client, app, sandbox)
        assert (await client.post("/messages/send", json=send(s, "first"), headers=s.headers)).status_code == 200
        headers = {**s.headers, "Idempotency-Key": "order-5"}
        # The second send waits for its pacing slot and is cancelled meanwhile (a shutdown, a lost worker).
        ctx = app.state.ctx
        async with ctx.sessionmaker() as session:
            profile = await session.get_one(TelegramProfile, s.profile_id)
        peer = await ctx.telegram.commands.resolve_peer(s.profile_id, f"@{s.contact.username}")
        sender = Sender(ctx.sessionmaker, ctx.telegram.commands, pending_stale_after(ctx.settings))
        waiting = asyncio.create_task(sender.send(profile, peer, Outgoing("second", idempotency_key="order-5")))
        await eventually(lambda: _pending(app, "order-5"), what="the pending row")
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        row = await eventually(lambda: _failed(app, "order-5"), what="the interrupted row")
        assert row.error == INTERRUPTED
        assert received_by(s.contact, s.me) == ["first"]
        retry = await client.post("/messages/send", json=send(s, "second"), headers=headers)
        assert retry.status_code == 200, retry.text
        assert received_by(s.contact, s.me) == ["first", "second"]


async def _pending(app, key: str) -> Message | None:
    async with app.state.ctx.sessionmaker() as session:
        return await session.scalar(select(Message).where(Message.idempotency_key == key, Message.status == "pending"))


async def _failed(app, key: str) -> Message | None:
    async with app.state.ctx.sessionmaker() as session:
        return await session.scalar(select(Message).where(Message.idempotency_key == key, Message.status == "failed"))


class TestUnansweredSend:
    @pytest.fixture
    def settings_overrides(self):
        return {"TELEGRAM_REQUEST_TIMEOUT_S": "1"}

    async def test_a_send_telegram_leaves_unanswered_is_503_and_its_retry_does_not_send_it_twice(
        self, client, app, sandbox
    ):
        s = await connected_profile(client, app, sandbox)
        headers = {**s.headers, "Idempotency-Key": "order-6"}
        # Telegram takes the request and keeps the connection, but answers only after the client gave up.
        sandbox.control.hold_next("messages.SendMessage", user=s.me)
        unanswered = await client.post("/messages/send", json=send(s, "late"), headers=headers)
        assert unanswered.status_code == 503, unanswered.text
        assert unanswered.json()["error"]["code"] == "telegram_no_answer"
        row = await row_with_key(app, "order-6")
        assert (row.status, row.error) == ("failed", INTERRUPTED)
        sandbox.control.release_held()  # ...and then it does deliver the message

        async def delivered() -> bool:
            return received_by(s.contact, s.me) == ["late"]

        await eventually(delivered, what="the late delivery")
        retry = await client.post("/messages/send", json=send(s, "late"), headers=headers)
        assert retry.status_code == 200, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert received_by(s.contact, s.me) == ["late"]
        assert (await row_with_key(app, "order-6")).status == "sent"
