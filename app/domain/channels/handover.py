"""Handing a channel from one profile to another: assign, join, catch up; or orphan it, or back it off.

Used by the failover runner (`app.domain.channels.failover`) for channels whose profile failed, channels that
turned `failed` and are due again, and channels a profile lost. Every write is a `ShieldedTransactions` unit:
a stopping runner never leaves one half-done (see `app.db.shielded`); `ChannelFailover.stop()` waits for them.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.models import AssignmentStatus, Channel, ChannelAssignment, ChannelStatus, TelegramProfile
from app.db.shielded import ShieldedTransactions
from app.domain.channels import capture, services
from app.domain.channels.capture import channel_payload
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.lib.errors import AppError
from app.lib.logging import log_event
from app.telegram.channels import ChannelRef
from app.telegram.commands import ProfileCommands


def ref_of(channel: Channel) -> ChannelRef:
    return ChannelRef(username=channel.username) if channel.username else ChannelRef(peer_id=channel.peer_id)


class Handover:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        transactions: ShieldedTransactions,
        commands: ProfileCommands,
        settings: Settings,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._transactions = transactions
        self._commands = commands
        self._settings = settings
        self.moved = 0
        self.orphaned = 0

    def backoff(self, retries: int) -> timedelta:
        low, high = self._settings.channel_retry_min_s, self._settings.channel_retry_max_s
        return timedelta(seconds=min(high, low * 2 ** min(max(retries - 1, 0), 32)))

    async def move(
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
            assign = functools.partial(
                self._assign,
                channel_id=channel_id,
                profile=profile,
                reason=reason,
                old_phone=old_phone,
                closing=closing,
            )
            await self._transactions.run(assign)
            try:
                info = await self._commands.join_channel(profile.id, ref)
            except AppError as exc:
                refusals.append({"phone": profile.phone, "code": exc.error_code})
                reason, closing = f"{profile.phone} could not join: {exc.error_code}", AssignmentStatus.FAILED.value
                continue
            was_member = info.was_member
            await self._transactions.run(lambda session: self._joined(session, channel_id, was_member))  # noqa: B023
            self.moved += 1
            await capture.fetch_and_store(
                self._sessionmaker,
                self._commands,
                channel_id,
                min_id=gap_start,
                limit=self._settings.channel_catchup_limit,
                transactions=self._transactions,
            )
            return None
        return refusals

    @staticmethod
    async def _assign(
        session: AsyncSession,
        channel_id: UUID,
        profile: TelegramProfile,
        reason: str,
        old_phone: str | None,
        closing: str,
    ) -> None:
        """Hand the channel to `profile` (committed before it joins, so its posts carry channel context)."""
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

    async def orphan(
        self, channel_id: UUID, owner_id: UUID, reason: str, old_phone: str | None, refusals: list[dict[str, Any]]
    ) -> None:
        async def work(session: AsyncSession) -> None:
            channel = await session.get(Channel, channel_id)
            if channel is None:
                return
            await _stop_monitoring(
                session,
                channel,
                ChannelStatus.ORPHANED,
                reason,
                phone=old_phone,
                kind="channel_orphaned",
                message=f"channel {channel.title or channel.peer_id} has no profile left to monitor it ({reason})",
                details={"refusals": refusals},
            )

        await self._transactions.run(work)
        self.orphaned += 1

    @staticmethod
    async def mark_lost(session: AsyncSession, channel: Channel, phone: str | None, reason: str) -> None:
        await _stop_monitoring(
            session,
            channel,
            ChannelStatus.FAILED,
            reason,
            phone=phone,
            kind="channel_lost",
            message=f"profile {phone} lost channel {channel.title or channel.peer_id}: {reason}",
            details={"reason": reason},
        )

    async def stay_failed(self, channel_id: UUID, reason: str, refusals: list[dict[str, Any]]) -> None:
        """No other profile could take a lost channel: it stays `failed`, its last attempt closed."""

        async def work(session: AsyncSession) -> None:
            channel = await session.get(Channel, channel_id)
            if channel is None:
                return
            await services.close_assignments(session, channel, AssignmentStatus.FAILED.value, reason)
            channel.status, channel.status_reason = ChannelStatus.FAILED.value, reason[:255]
            channel.retries = (channel.retries or 0) + 1
            channel.retry_at = datetime.now(UTC) + self.backoff(channel.retries)
            log_event(
                "error",
                "channels",
                "channel.failed",
                f"no profile can read channel {channel.title or channel.peer_id} any more; "
                f"retrying at {channel.retry_at.isoformat(timespec='seconds')}",
                user_id=channel.owner_id,
                context={"channel_id": str(channel.id), "refusals": refusals, "retries": channel.retries},
            )

        await self._transactions.run(work)


async def _stop_monitoring(
    session: AsyncSession,
    channel: Channel,
    status: ChannelStatus,
    reason: str,
    *,
    phone: str | None,
    kind: str,
    message: str,
    details: dict[str, Any],
) -> None:
    """Close the channel's open assignment, give it `status`, and say so: an `alert` of `kind` (`channel_lost`)
    and an error log line of the same name (`channel.lost`)."""
    await services.close_assignments(session, channel, AssignmentStatus.FAILED.value, reason)
    channel.status, channel.status_reason = status.value, reason[:255]
    data = {**channel_payload(channel), "kind": kind, "channel_id": str(channel.id), "message": message, **details}
    await events.emit(
        session, user_id=channel.owner_id, type=EventType.ALERT, profile=phone, data={**data, "from": phone}
    )
    log_event(
        "error",
        "channels",
        kind.replace("_", ".", 1),
        message,
        user_id=channel.owner_id,
        context={"channel_id": str(channel.id), **details},
    )
