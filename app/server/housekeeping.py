"""Periodic clean-up in processes that run background work: expired login flows and refresh tokens, sends
that a crash left pending, and events past their retention."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.domain.accounts.services import purge_expired_refresh_tokens
from app.domain.events.services import purge_expired_events
from app.domain.messages.services import fail_interrupted_sends, pending_stale_after
from app.domain.profiles.login import purge_expired
from app.lib.logging import log_event
from app.lib.tasks import running_task


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    async with sessionmaker.begin() as session:
        flows = await purge_expired(session)
        await purge_expired_refresh_tokens(session)
        interrupted = await fail_interrupted_sends(session, pending_stale_after(settings))
    async with sessionmaker.begin() as session:
        kept_from = datetime.now(UTC) - timedelta(days=settings.events_retention_days)
        events = await purge_expired_events(session, kept_from)
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


async def _loop(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, interval_s: float) -> None:
    while True:
        try:
            await sweep(sessionmaker, settings)
        except Exception as exc:  # the next sweep retries; never take the process down
            log_event("warning", "server", "housekeeping.failed", f"clean-up failed: {type(exc).__name__}")
        await asyncio.sleep(interval_s)


def housekeeping(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, interval_s: float = 300
) -> AbstractAsyncContextManager[None]:
    """Sweep every `interval_s` while the block runs."""
    return running_task(_loop(sessionmaker, settings, interval_s), "housekeeping")
