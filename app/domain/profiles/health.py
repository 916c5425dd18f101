"""Account health: a periodic, paced check of every profile this worker connects, its result kept on the profile.

Each round asks the runtime to check its connected profiles one after another, spaced over the round, so a worker
with many profiles never sends Telegram a burst of checks. A check is cheap (app.telegram.health: `updates.getState`,
which needs a live authorization, and `help.getAppConfig` for a freeze); what Telegram answers is acted on where
it is said (a ban marks the profile, a freeze records its dates). The result is stored as `health` with
`health_checked_at`, and a change is announced as `profile.health_changed`.

Health values: `ok`, `spam_limited`, `frozen`, `banned`, `deauthorized`, `unreachable` (the check got no answer:
the connection dropped or Telegram did not answer in time; the runtime reconnects on its own).
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import ProfileStatus, TelegramProfile
from app.db.shielded import ShieldedTransactions
from app.domain.events.types import EventType
from app.domain.profiles.announcements import announce_profile_change

OK = "ok"
UNREACHABLE = "unreachable"
HEALTH_OF_STATUS = {
    ProfileStatus.ACTIVE.value: OK,
    ProfileStatus.LIMITED.value: "spam_limited",
    ProfileStatus.FROZEN.value: "frozen",
    ProfileStatus.BANNED.value: "banned",
    ProfileStatus.DEAUTHORIZED.value: "deauthorized",
}
MAX_SPACING_S = 5.0  # between two profiles' checks within a round


class HealthChecks(Protocol):
    """What the monitor needs of the Telegram runtime."""

    def connected_ids(self) -> list[UUID]: ...

    async def check_health(self, profile_id: UUID) -> bool | None:
        """Check one connected profile: True when Telegram answered, False when it did not, None when gone."""


async def record(session: AsyncSession, profile_id: UUID, answered: bool) -> str | None:
    """Store a check's result (from the profile's status, which the check itself updated) and announce a change."""
    profile = await session.get(TelegramProfile, profile_id)
    if profile is None:
        return None
    health = HEALTH_OF_STATUS.get(profile.status, profile.status) if answered else UNREACHABLE
    previous = profile.health
    profile.health, profile.health_checked_at = health, datetime.now(UTC)
    if health != previous:
        change = {"profile_id": str(profile.id), "from": previous, "to": health, "status": profile.status}
        change["checked_at"] = profile.health_checked_at.isoformat()
        await announce_profile_change(
            session,
            profile,
            event=EventType.PROFILE_HEALTH_CHANGED,
            message=f"profile health {previous} -> {health}",
            change=change,
            level="warning" if health != OK else "info",
        )
    await session.flush()
    return health


class ProfileHealthMonitor:
    """One round: every profile this worker has connected, checked in turn (`PROFILE_HEALTH_INTERVAL_S`)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], checks: HealthChecks, interval_s: float) -> None:
        self.transactions = ShieldedTransactions(sessionmaker)  # a stop never cuts a record short
        self._checks = checks
        self._interval_s = interval_s
        self.checked = 0

    async def run_round(self) -> None:
        profile_ids = self._checks.connected_ids()
        # Spread over half the interval: the round ends well before the next one starts.
        spacing = min(MAX_SPACING_S, self._interval_s / 2 / max(1, len(profile_ids)))
        for index, profile_id in enumerate(profile_ids):
            if index:
                await asyncio.sleep(spacing)
            await self.check(profile_id)

    async def check(self, profile_id: UUID) -> str | None:
        answered = await self._checks.check_health(profile_id)
        if answered is None:
            return None  # disconnected meanwhile
        health = await self.transactions.run(functools.partial(record, profile_id=profile_id, answered=answered))
        self.checked += 1
        return health
