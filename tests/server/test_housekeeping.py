"""Housekeeping: expired login flows go, and events past their retention unless a webhook is still owed them."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select, update

from app.db.models import Event, LoginFlow, User, Webhook, WebhookAttempt, WebhookDelivery
from app.server.housekeeping import sweep
from tests.conftest import bearer, register_and_login, sandbox_phone

pytestmark = pytest.mark.asyncio


async def test_sweep_removes_expired_flows_only(client, app):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    stale, fresh = sandbox_phone(), sandbox_phone()
    for phone in (stale, fresh):
        assert (await client.post("/profiles/start", json={"phone": phone}, headers=headers)).status_code == 200
    sessionmaker = app.state.ctx.sessionmaker
    async with sessionmaker.begin() as session:
        await session.execute(
            update(LoginFlow)
            .where(LoginFlow.phone == stale)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    await sweep(sessionmaker, app.state.ctx.settings)
    async with sessionmaker() as session:
        phones = list(await session.scalars(select(LoginFlow.phone)))
        assert phones == [fresh]
        assert await session.scalar(select(func.count()).select_from(LoginFlow)) == 1


def uuid7_at(moment: datetime) -> UUID:
    """A UUIDv7 made at `moment` (time in the top 48 bits, version 7, RFC variant, random rest)."""
    millis = int(moment.timestamp() * 1000)
    return UUID(int=(millis << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62) | secrets.randbits(62))


async def test_sweep_purges_events_past_their_retention_unless_a_delivery_is_still_owed(client, app):
    await register_and_login(client, "ada@example.com")
    sessionmaker = app.state.ctx.sessionmaker
    old = datetime.now(UTC) - timedelta(days=app.state.ctx.settings.events_retention_days + 1)
    async with sessionmaker.begin() as session:
        user = (await session.scalars(select(User))).one()
        hook = Webhook(user_id=user.id, url="http://127.0.0.1:9/hook", event_types=["*"], secret_encrypted="x")
        session.add(hook)
        await session.flush()

        def event(name: str, at: datetime) -> Event:
            row = Event(id=uuid7_at(at), user_id=user.id, type="alert", payload={"name": name}, created_at=at)
            session.add(row)
            return row

        event("plain", old)
        owed, retried, done = event("owed", old), event("retried", old), event("done", old)
        event("recent", datetime.now(UTC))
        await session.flush()
        for row, status in ((owed, "pending"), (retried, "failed"), (done, "succeeded")):
            delivery = WebhookDelivery(webhook_id=hook.id, event_id=row.id, status=status, next_attempt_at=old)
            session.add(delivery)
            await session.flush()
            session.add(WebhookAttempt(delivery_id=delivery.id, attempt=1, status_code=200, duration_ms=1.0))
    await sweep(sessionmaker, app.state.ctx.settings)
    async with sessionmaker() as session:
        kept = sorted(e.payload["name"] for e in await session.scalars(select(Event)))
        assert kept == ["owed", "recent", "retried"]
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
        assert await session.scalar(select(func.count()).select_from(WebhookAttempt)) == 2
