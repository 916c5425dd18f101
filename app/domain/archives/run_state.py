"""The state of one archive run in its row: every change is one shielded transaction guarded by the claim.

A run that lost its claim (cancelled, or taken over after this process stalled) gets `ClaimLost` at its next
step. The transactions are `ShieldedTransactions`: a scheduler that stops cancels its runs, and a run cancelled
mid-write still commits or rolls back whole (`ArchiveScheduler.stop()` waits for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import Archive, ArchiveStatus
from app.db.shielded import ShieldedTransactions
from app.lib.logging import log_event


class ClaimLost(Exception):
    """The archive was cancelled or claimed by another process: stop without touching it."""


class ProfileOffline(Exception):
    """No profile that can read the channel is connected in this process right now."""


@dataclass(slots=True)
class Job:
    """What a run needs from the archive row, and its checkpoint as it advances."""

    id: UUID
    owner_id: UUID
    profile_id: UUID | None
    pinned_profile: bool
    channel_id: int
    channel_access_hash: int | None
    channel_username: str | None
    channel_private: bool
    channel_kind: str
    target_type: str
    target: dict[str, Any]
    secret: str | None
    since: datetime | None
    until: datetime | None
    limit: int | None
    include_media: bool
    every_minutes: int | None
    position: int
    checkpoint: int
    run_messages: int
    read_as: tuple[int, int | None] = (0, None)  # the channel id and access hash of the reading profile

    @classmethod
    def of(cls, row: Archive) -> Job:
        return cls(
            id=row.id,
            owner_id=row.owner_id,
            profile_id=row.profile_id,
            pinned_profile=row.pinned_profile,
            channel_id=row.channel_id,
            channel_access_hash=row.channel_access_hash,
            channel_username=row.channel_username,
            channel_private=row.channel_private,
            channel_kind=row.channel_kind,
            target_type=row.target_type,
            target=dict(row.target),
            secret=row.target_secret_encrypted,
            since=row.since,
            until=row.until,
            limit=row.limit,
            include_media=row.include_media,
            every_minutes=row.every_minutes,
            position=row.position,
            checkpoint=row.checkpoint_offset,
            run_messages=row.run_messages,
        )


def now() -> datetime:
    return datetime.now(UTC)


class RunState:
    def __init__(self, transactions: ShieldedTransactions, settings: Settings, instance_id: str) -> None:
        self.transactions = transactions
        self.settings = settings
        self.instance_id = instance_id

    async def update(self, archive_id: UUID, *, statuses: tuple[str, ...] | None = None, **values: Any) -> None:
        guard = [Archive.id == archive_id, Archive.claimed_by == self.instance_id]
        if statuses is not None:
            guard.append(Archive.status.in_(statuses))
        statement = (
            update(Archive)
            .where(*guard)
            .values(updated_at=now(), **values)
            .execution_options(synchronize_session=False)
        )
        result = await self.transactions.run(lambda session: session.execute(statement))
        if getattr(result, "rowcount", 1) == 0:
            raise ClaimLost

    async def begin(self, archive_id: UUID) -> Job | None:
        """Mark the claimed archive running and read what the run needs; None when it is not this run's."""

        async def work(session: AsyncSession) -> tuple[Job, bool] | None:
            row = await session.get(Archive, archive_id, with_for_update=False)
            if row is None or row.claimed_by != self.instance_id:
                return None
            if row.status in (ArchiveStatus.CANCELLED.value, ArchiveStatus.COMPLETED.value, ArchiveStatus.FAILED.value):
                return None
            fresh = row.status == ArchiveStatus.SCHEDULED.value or (
                row.status == ArchiveStatus.PENDING.value and row.run_count == 0
            )
            if fresh:
                row.run_count += 1
                row.run_messages = 0
                row.run_started_at = now()
            row.status = ArchiveStatus.RUNNING.value
            row.next_run_at = None
            row.paused_until = None
            return Job.of(row), fresh

        begun = await self.transactions.run(work)
        if begun is None:
            return None
        job, fresh = begun
        log_event(
            "info",
            "archives",
            "archive.run_started" if fresh else "archive.run_resumed",
            f"archive run {'started' if fresh else 'resumed'} at message {job.position}",
            user_id=job.owner_id,
            context={"archive_id": str(job.id), "position": job.position},
        )
        return job

    async def checkpoint(self, job: Job, position: int, checkpoint: int, messages: int, size: int, media: int) -> None:
        await self.update(
            job.id,
            statuses=(ArchiveStatus.RUNNING.value, ArchiveStatus.PAUSED.value),  # a read may have paused meanwhile
            position=position,
            checkpoint_offset=checkpoint,
            messages_exported=Archive.messages_exported + messages,
            bytes_exported=Archive.bytes_exported + size,
            media_exported=Archive.media_exported + media,
            run_messages=Archive.run_messages + messages,
            claimed_until=now() + timedelta(seconds=self.settings.archive_claim_ttl_s),
        )
        job.position, job.checkpoint = position, checkpoint
        job.run_messages += messages

    async def finish(self, job: Job) -> None:
        finished = now()
        repeating = job.every_minutes is not None
        await self.update(
            job.id,
            statuses=(ArchiveStatus.RUNNING.value,),
            status=(ArchiveStatus.SCHEDULED if repeating else ArchiveStatus.COMPLETED).value,
            next_run_at=finished + timedelta(minutes=job.every_minutes) if job.every_minutes else None,
            last_run_at=finished,
            last_error=None,
            paused_until=None,
            claimed_by=None,
            claimed_until=None,
        )
        log_event(
            "info",
            "archives",
            "archive.run_finished",
            f"archive run exported {job.run_messages} messages",
            user_id=job.owner_id,
            context={"archive_id": str(job.id), "position": job.position, "messages": job.run_messages},
        )

    async def retry_later(self, job: Job, error: str) -> None:
        """A transient failure: keep the checkpoint and try again after ARCHIVE_RETRY_AFTER_S."""
        await self.update(
            job.id,
            statuses=(ArchiveStatus.RUNNING.value, ArchiveStatus.PAUSED.value),
            status=ArchiveStatus.PENDING.value,
            last_error=error,
            next_run_at=now() + timedelta(seconds=self.settings.archive_retry_after_s),
            paused_until=None,
            claimed_by=None,
            claimed_until=None,
        )
        log_event("warning", "archives", "archive.run_retry", f"archive run will retry: {error}", user_id=job.owner_id)

    async def pause_released(self, job: Job, seconds: int) -> None:
        await self.update(
            job.id,
            statuses=(ArchiveStatus.RUNNING.value,),
            status=ArchiveStatus.PAUSED.value,
            paused_until=now() + timedelta(seconds=seconds),
            claimed_by=None,
            claimed_until=None,
        )

    async def fail(self, job: Job, error: str) -> None:
        """A lasting failure: a one-off archive fails; a repeating one tries again at its next run."""
        repeating = job.every_minutes is not None
        await self.update(
            job.id,
            statuses=(ArchiveStatus.RUNNING.value, ArchiveStatus.PAUSED.value),
            status=(ArchiveStatus.SCHEDULED if repeating else ArchiveStatus.FAILED).value,
            last_error=error,
            next_run_at=now() + timedelta(minutes=job.every_minutes) if job.every_minutes else None,
            last_run_at=now(),
            paused_until=None,
            claimed_by=None,
            claimed_until=None,
        )
        log_event("warning", "archives", "archive.run_failed", f"archive run failed: {error}", user_id=job.owner_id)
