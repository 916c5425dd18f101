"""Failover: channels of a profile that turned banned, deauthorized, limited or frozen move to another profile.

One place decides: `profiles.services.set_status` calls `request_failover(session)` when a profile enters one of
those statuses, which wakes this process's `ChannelFailover` right after that transaction commits. The runner
(in every process with background work) also sweeps on an interval, so a change committed elsewhere, or one
missed by a crash, is picked up from the database. A lease keeps the sweep to one process at a time.

Per channel: the assignment moves to the least-loaded other eligible profile of the same user (committed first,
so the new profile's posts carry channel context from the start), that profile joins, then the gap since the
newest stored post is fetched through it. Posts are upserts keyed by (chat, Telegram id), so a post that both the
live feed and the catch-up deliver is stored once. With no profile able to join, the channel turns `orphaned`
and an `alert` is raised. A profile that recovers gets nothing back automatically; adding an orphaned channel
again (`POST /channels`) resumes it through the profile then chosen.

A channel that turned `failed` (kicked, banned or deleted, and no other profile could join it) is tried again
by the sweep: first after `CHANNEL_RETRY_MIN_S`, then doubling per refused attempt up to `CHANNEL_RETRY_MAX_S`
(`retry_at`, `retries`); and at once when a profile of the same user connects as `active` (a new profile, or
one that recovered), through `retry_failed_soon`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.after_commit import engine_of, on_signal, signal_after_commit
from app.db.models import Channel, ChannelStatus, TelegramProfile
from app.db.shielded import ShieldedTransactions
from app.domain.channels import capture, services
from app.domain.channels.handover import Handover, ref_of
from app.domain.profiles.channel_hooks import FAILOVER_STATUSES, ChannelFollowUps
from app.lib.background import ServiceHealth
from app.lib.logging import log_event
from app.telegram.channels import ChannelRef
from app.telegram.commands import ProfileCommands
from app.telegram.leases import LeaseStore

FAILOVER_DUE = "channels.failover_due"  # after-commit signal: wake the failover runner of this engine's process


def request_failover(session: AsyncSession) -> None:
    """Wake this process's failover runner once the current transaction commits."""
    signal_after_commit(session, FAILOVER_DUE)


async def retry_failed_soon(session: AsyncSession, owner_id: UUID) -> None:
    """A profile of this user became usable: its `failed` channels are due now (the sweep wakes after commit)."""
    moved = await session.execute(
        update(Channel)
        .where(Channel.owner_id == owner_id, Channel.status == ChannelStatus.FAILED.value)
        .values(retry_at=datetime.now(UTC))
    )
    if getattr(moved, "rowcount", 0):
        request_failover(session)


class ChannelFailover:
    """The failover runner, a background service of processes with background work."""

    name = "channel-failover"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        commands: ProfileCommands,
        leases: LeaseStore,
        settings: Settings,
        *,
        instance_id: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._leases = leases
        self._settings = settings
        self._instance_id = instance_id
        self._transactions = ShieldedTransactions(sessionmaker)
        self.handover = Handover(sessionmaker, self._transactions, commands, settings)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._stopping = False
        self.sweeps = 0

    @property
    def moved(self) -> int:
        return self.handover.moved

    @property
    def orphaned(self) -> int:
        return self.handover.orphaned

    async def start(self) -> None:
        self._stopping = False
        self._unlisten = on_signal(engine_of(self._sessionmaker), FAILOVER_DUE, self._wakeup.set)
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        # The flag ends the loop even if a client library swallows the cancellation mid-call (redis-py can).
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._transactions.wait()

    def health(self) -> ServiceHealth:
        return ServiceHealth.of_task(
            self._task, {"sweeps": self.sweeps, "moved": self.moved, "orphaned": self.orphaned}
        )

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.sweep()
            except Exception as exc:
                log_event("warning", "channels", "channel.failover_sweep_failed", f"failover sweep failed: {exc!r}")
            self.sweeps += 1
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races a wake-up
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.channel_failover_interval_s):
                    await self._wakeup.wait()
            self._wakeup.clear()

    async def sweep(self) -> int:
        """Move every channel whose profile failed; returns how many were handled."""
        lease = "channels:failover"
        if not await self._leases.acquire(lease, self._instance_id, 120_000):
            return 0
        try:
            async with self._sessionmaker() as session:
                ids = list(
                    await session.scalars(
                        select(Channel.id)
                        .outerjoin(TelegramProfile, TelegramProfile.id == Channel.assigned_profile_id)
                        .where(
                            Channel.status == ChannelStatus.ACTIVE.value,
                            or_(TelegramProfile.id.is_(None), TelegramProfile.status.in_(FAILOVER_STATUSES)),
                        )
                        .order_by(Channel.created_at)
                    )
                )
                due = list(
                    await session.scalars(
                        select(Channel.id)
                        .where(
                            Channel.status == ChannelStatus.FAILED.value,
                            or_(Channel.retry_at.is_(None), Channel.retry_at <= datetime.now(UTC)),
                        )
                        .order_by(Channel.retry_at)
                    )
                )
            for channel_id in ids:
                await self.fail_over(channel_id)
            for channel_id in due:
                await self.retry_failed(channel_id)
            return len(ids) + len(due)
        finally:
            with contextlib.suppress(Exception):
                await self._leases.release(lease, self._instance_id)

    async def fail_over(self, channel_id: UUID) -> None:
        async with self._sessionmaker() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None or channel.status != ChannelStatus.ACTIVE.value:
                return
            old = (
                await session.get(TelegramProfile, channel.assigned_profile_id) if channel.assigned_profile_id else None
            )
            if old is not None and old.status not in FAILOVER_STATUSES:
                return
            reason = f"profile {old.phone} is {old.status}" if old is not None else "the assigned profile was deleted"
            gap_start = await capture.newest_stored_id(session, channel)
            ref = ref_of(channel)
            candidates = await services.eligible_profiles(
                session, channel.owner_id, ref, exclude=[old.id] if old is not None else []
            )
            owner_id, old_phone = channel.owner_id, old.phone if old is not None else None
        refusals = await self.handover.move(channel_id, candidates, ref, reason, old_phone, gap_start)
        if refusals is not None:
            await self.handover.orphan(channel_id, owner_id, reason, old_phone, refusals)

    async def retry_failed(self, channel_id: UUID) -> None:
        """Try a `failed` channel again through any eligible profile of its user; with none, back off further."""
        async with self._sessionmaker() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None or channel.status != ChannelStatus.FAILED.value:
                return
            reason = channel.status_reason or "no profile could read the channel"
            gap_start = await capture.newest_stored_id(session, channel)
            ref = ref_of(channel)
            candidates = await services.eligible_profiles(session, channel.owner_id, ref)
        refusals = await self.handover.move(channel_id, candidates, ref, f"retrying: {reason}", None, gap_start)
        if refusals is not None:
            await self.handover.stay_failed(channel_id, reason, refusals)

    # -- channels a profile lost (kicked, banned, deleted) ------------------------------------------------------

    async def monitors(self, profile_id: UUID, peer_id: int) -> bool:
        """Whether this profile is the one listening to the channel for some user now."""
        async with self._sessionmaker() as session:
            found = await session.scalar(
                select(Channel.id)
                .where(
                    Channel.assigned_profile_id == profile_id,
                    Channel.peer_id == peer_id,
                    Channel.status.in_(capture.CAPTURING),
                )
                .limit(1)
            )
            return found is not None

    async def lost(self, profile_id: UUID, peer_id: int, reason: str) -> None:
        """The profile can no longer read the channel: mark its monitors `failed` with an alert, then hand each
        to another profile that can still join it (back to `active`); with none, it stays `failed`."""

        async def mark(
            session: AsyncSession,
        ) -> tuple[str | None, list[tuple[UUID, ChannelRef, list[TelegramProfile], int]]]:
            channels = list(
                await session.scalars(
                    select(Channel).where(
                        Channel.assigned_profile_id == profile_id,
                        Channel.peer_id == peer_id,
                        Channel.status.in_(capture.CAPTURING),
                    )
                )
            )
            profile = await session.get(TelegramProfile, profile_id)
            phone = profile.phone if profile is not None else None
            moves = []
            for channel in channels:
                await self.handover.mark_lost(session, channel, phone, reason)
                # Not due before the hand-over below has had its try (the sweep retries failed channels).
                channel.retry_at = datetime.now(UTC) + self.handover.backoff(channel.retries + 1)
                ref = ref_of(channel)
                candidates = await services.eligible_profiles(session, channel.owner_id, ref, exclude=[profile_id])
                moves.append((channel.id, ref, candidates, await capture.newest_stored_id(session, channel)))
            return phone, moves

        phone, moves = await self._transactions.run(mark)
        for channel_id, ref, candidates, gap_start in moves:
            refusals = await self.handover.move(channel_id, candidates, ref, f"{phone}: {reason}", phone, gap_start)
            if refusals is not None:
                await self.handover.stay_failed(channel_id, reason, refusals)


FOLLOW_UPS = ChannelFollowUps(request_failover=request_failover, retry_failed_soon=retry_failed_soon)
"""What profiles' status changes ask of channels (handed to profiles by the server's `connect_rooms`)."""
