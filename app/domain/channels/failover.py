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
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import event as sa_event
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.models import (
    AssignmentStatus,
    Channel,
    ChannelAssignment,
    ChannelStatus,
    ProfileStatus,
    TelegramProfile,
)
from app.domain.channels import capture, services
from app.domain.channels.capture import channel_payload
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.lib.errors import AppError
from app.lib.logging import log_event
from app.telegram.channels import ChannelRef
from app.telegram.commands import ProfileCommands
from app.telegram.leases import LeaseStore

FAILOVER_STATUSES = (
    ProfileStatus.BANNED.value,
    ProfileStatus.DEAUTHORIZED.value,
    ProfileStatus.LIMITED.value,
    ProfileStatus.FROZEN.value,
)
_HOOKED = "channels.failover_hooked"
_wakers: set[Callable[[], None]] = set()


def request_failover(session: AsyncSession) -> None:
    """Wake this process's failover runner once the current transaction commits."""
    sync_session = session.sync_session
    if not sync_session.info.get(_HOOKED):
        sa_event.listen(sync_session, "after_commit", _wake)
        sync_session.info[_HOOKED] = True


async def retry_failed_soon(session: AsyncSession, owner_id: UUID) -> None:
    """A profile of this user became usable: its `failed` channels are due now (the sweep wakes after commit)."""
    moved = await session.execute(
        update(Channel)
        .where(Channel.owner_id == owner_id, Channel.status == ChannelStatus.FAILED.value)
        .values(retry_at=datetime.now(UTC))
    )
    if getattr(moved, "rowcount", 0):
        request_failover(session)


def _wake(_: Session) -> None:
    for wake in list(_wakers):
        wake()


class ChannelFailover:
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
        self._commands = commands
        self._leases = leases
        self._settings = settings
        self._instance_id = instance_id
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.moved = 0
        self.orphaned = 0

    async def start(self) -> None:
        self._stopping = False
        _wakers.add(self._wakeup.set)
        self._task = asyncio.create_task(self._loop(), name="channel-failover")

    async def stop(self) -> None:
        _wakers.discard(self._wakeup.set)
        # The flag ends the loop even if a client library swallows the cancellation mid-call (redis-py can).
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.sweep()
            except Exception as exc:
                log_event("warning", "channels", "channel.failover_sweep_failed", f"failover sweep failed: {exc!r}")
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
            ref = ChannelRef(username=channel.username) if channel.username else ChannelRef(peer_id=channel.peer_id)
            candidates = await services.eligible_profiles(
                session, channel.owner_id, ref, exclude=[old.id] if old is not None else []
            )
            owner_id, old_phone = channel.owner_id, old.phone if old is not None else None
        refusals = await self._move(channel_id, candidates, ref, reason, old_phone, gap_start)
        if refusals is not None:
            await self._orphan(channel_id, owner_id, reason, old_phone, refusals)

    async def retry_failed(self, channel_id: UUID) -> None:
        """Try a `failed` channel again through any eligible profile of its user; with none, back off further."""
        async with self._sessionmaker() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None or channel.status != ChannelStatus.FAILED.value:
                return
            reason = channel.status_reason or "no profile could read the channel"
            gap_start = await capture.newest_stored_id(session, channel)
            ref = ChannelRef(username=channel.username) if channel.username else ChannelRef(peer_id=channel.peer_id)
            candidates = await services.eligible_profiles(session, channel.owner_id, ref)
        refusals = await self._move(channel_id, candidates, ref, f"retrying: {reason}", None, gap_start)
        if refusals is not None:
            await self._stay_failed(channel_id, reason, refusals)

    def _backoff(self, retries: int) -> timedelta:
        low, high = self._settings.channel_retry_min_s, self._settings.channel_retry_max_s
        return timedelta(seconds=min(high, low * 2 ** min(max(retries - 1, 0), 32)))

    async def _move(
        self,
        channel_id: UUID,
        candidates: list[TelegramProfile],
        ref: ChannelRef,
        reason: str,
        old_phone: str | None,
        gap_start: int,
    ) -> list[dict[str, Any]] | None:
        """Hand the channel to the first candidate that joins and catch up; the refusals when none did."""
        refusals: list[dict[str, Any]] = []
        closing = AssignmentStatus.REASSIGNED.value
        for profile in candidates:
            await self._assign(channel_id, profile, reason, old_phone, closing)
            try:
                info = await self._commands.join_channel(profile.id, ref)
            except AppError as exc:
                refusals.append({"phone": profile.phone, "code": exc.error_code})
                reason, closing = f"{profile.phone} could not join: {exc.error_code}", AssignmentStatus.FAILED.value
                continue
            async with self._sessionmaker.begin() as session:
                await self._joined(session, channel_id, info.was_member)
            self.moved += 1
            await capture.fetch_and_store(
                self._sessionmaker,
                self._commands,
                channel_id,
                min_id=gap_start,
                limit=self._settings.channel_catchup_limit,
            )
            return None
        return refusals

    async def _assign(
        self, channel_id: UUID, profile: TelegramProfile, reason: str, old_phone: str | None, closing: str
    ) -> None:
        """Hand the channel to `profile` (committed before it joins, so its posts carry channel context)."""
        async with self._sessionmaker.begin() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None:
                return
            await services.close_assignments(session, channel, closing, reason)
            fresh = await session.get(TelegramProfile, profile.id)
            if fresh is None:
                return
            # Capturing from now on (a lost channel was `failed` until a profile took it).
            channel.status, channel.status_reason = ChannelStatus.ACTIVE.value, None
            session.add(services.open_assignment(channel, fresh, joined=False))
            await session.flush()
            data = {
                **channel_payload(channel),
                "channel_id": str(channel.id),
                "from": old_phone,
                "to": fresh.phone,
                "reason": reason,
            }
            await events.emit(
                session, user_id=channel.owner_id, type=EventType.CHANNEL_REASSIGNED, profile=fresh.phone, data=data
            )
            log_event(
                "warning",
                "channels",
                "channel.reassigned",
                f"channel {channel.title or channel.peer_id} moved from {old_phone} to {fresh.phone}: {reason}",
                user_id=channel.owner_id,
                profile_id=fresh.id,
                context={"channel_id": str(channel.id), "from": old_phone, "to": fresh.phone},
            )

    @staticmethod
    async def _joined(session: AsyncSession, channel_id: UUID, was_member: bool) -> None:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            return
        rows = await session.scalars(
            select(ChannelAssignment).where(
                ChannelAssignment.channel_id == channel_id,
                ChannelAssignment.ended_at.is_(None),
            )
        )
        for row in rows:
            row.joined = not was_member
        channel.retries, channel.retry_at = 0, None  # readable again: a later loss backs off from the start

    async def _orphan(
        self, channel_id: UUID, owner_id: UUID, reason: str, old_phone: str | None, refusals: list[dict[str, Any]]
    ) -> None:
        async with self._sessionmaker.begin() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None:
                return
            await services.close_assignments(session, channel, AssignmentStatus.FAILED.value, reason)
            channel.status, channel.status_reason = ChannelStatus.ORPHANED.value, reason[:255]
            message = f"channel {channel.title or channel.peer_id} has no profile left to monitor it ({reason})"
            data = {
                **channel_payload(channel),
                "kind": "channel_orphaned",
                "channel_id": str(channel.id),
                "message": message,
                "from": old_phone,
                "refusals": refusals,
            }
            await events.emit(session, user_id=owner_id, type=EventType.ALERT, profile=old_phone, data=data)
            log_event(
                "error",
                "channels",
                "channel.orphaned",
                message,
                user_id=owner_id,
                context={"channel_id": str(channel.id), "refusals": refusals},
            )
        self.orphaned += 1

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
        async with self._sessionmaker.begin() as session:
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
                await self._mark_lost(session, channel, phone, reason)
                # Not due before the hand-over below has had its try (the sweep retries failed channels).
                channel.retry_at = datetime.now(UTC) + self._backoff(channel.retries + 1)
                ref = ChannelRef(username=channel.username) if channel.username else ChannelRef(peer_id=channel.peer_id)
                candidates = await services.eligible_profiles(session, channel.owner_id, ref, exclude=[profile_id])
                moves.append((channel.id, ref, candidates, await capture.newest_stored_id(session, channel)))
        for channel_id, ref, candidates, gap_start in moves:
            refusals = await self._move(channel_id, candidates, ref, f"{phone}: {reason}", phone, gap_start)
            if refusals is not None:
                await self._stay_failed(channel_id, reason, refusals)

    @staticmethod
    async def _mark_lost(session: AsyncSession, channel: Channel, phone: str | None, reason: str) -> None:
        await services.close_assignments(session, channel, AssignmentStatus.FAILED.value, reason)
        channel.status, channel.status_reason = ChannelStatus.FAILED.value, reason[:255]
        message = f"profile {phone} lost channel {channel.title or channel.peer_id}: {reason}"
        data = {
            **channel_payload(channel),
            "kind": "channel_lost",
            "channel_id": str(channel.id),
            "message": message,
            "reason": reason,
            "from": phone,
        }
        await events.emit(session, user_id=channel.owner_id, type=EventType.ALERT, profile=phone, data=data)
        log_event(
            "error",
            "channels",
            "channel.lost",
            message,
            user_id=channel.owner_id,
            context={"channel_id": str(channel.id), "reason": reason},
        )

    async def _stay_failed(self, channel_id: UUID, reason: str, refusals: list[dict[str, Any]]) -> None:
        """No other profile could take a lost channel: it stays `failed`, its last attempt closed."""
        async with self._sessionmaker.begin() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None:
                return
            await services.close_assignments(session, channel, AssignmentStatus.FAILED.value, reason)
            channel.status, channel.status_reason = ChannelStatus.FAILED.value, reason[:255]
            channel.retries = (channel.retries or 0) + 1
            channel.retry_at = datetime.now(UTC) + self._backoff(channel.retries)
            log_event(
                "error",
                "channels",
                "channel.failed",
                f"no profile can read channel {channel.title or channel.peer_id} any more; "
                f"retrying at {channel.retry_at.isoformat(timespec='seconds')}",
                user_id=channel.owner_id,
                context={"channel_id": str(channel.id), "refusals": refusals, "retries": channel.retries},
            )
