"""Expired login flows are swept away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.db.models import LoginFlow
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
    await sweep(sessionmaker, timedelta(minutes=5))
    async with sessionmaker() as session:
        phones = list(await session.scalars(select(LoginFlow.phone)))
        assert phones == [fresh]
        assert await session.scalar(select(func.count()).select_from(LoginFlow)) == 1
