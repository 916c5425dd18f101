"""Periodic clean-up in processes that run background work: expired login flows and refresh tokens, sends
that a crash left pending, and events past their retention."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.shielded import ShieldedTransactions
from app.domain.accounts.services import purge_expired_refresh_tokens
from app.domain.events.services import purge_expired_events
from app.domain.messages.send_outcomes import fail_interrupted_sends, pending_stale_after
from app.domain.profiles.login import purge_expired
from app.lib.background import PeriodicService
from app.lib.logging import log_event


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    transactions: ShieldedTransactions | None = None,
) -> None:
    """One round; with `transactions` (the service's) a stopping process never cuts one of its writes short."""
    shielded = transactions or ShieldedTransactions(sessionmaker)

    async def expire(session: AsyncSession) -> tuple[int, int]:
        flows = await purge_expired(session)
        await purge_expired_refresh_tokens(session)
        return flows, await fail_interrupted_sends(session, pending_stale_after(settings))

    async def purge(session: AsyncSession) -> int:
        kept_from = datetime.now(UTC) - timedelta(days=settings.events_retention_days)
        return await purge_expired_events(session, kept_from)

    flows, interrupted = await shielded.run(expire)
    events = await shielded.run(purge)
    if events:
        log_event("info", "events", "events.purged", f"removed {events} events older than the retention")
    if flows:
        log_event("info", "profiles", "login.flows_expired", f"removed {flows} expired login flows")
    if interrupted:
        log_event(
            "warning",
            "messages",
            "message.send_interrupted",
            f"{interrupted} sends were cut off mid-way and are now failed (send_interrupted)",
        )


class Housekeeping(PeriodicService):
    """The sweep every `interval_s` (the first at start-up), as a background service."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, interval_s: float = 300
    ) -> None:
        self._transactions = ShieldedTransactions(sessionmaker)
        super().__init__(
            "housekeeping",
            functools.partial(sweep, sessionmaker, settings, self._transactions),
            interval_s=interval_s,
            after_stop=self._transactions.wait,
        )
