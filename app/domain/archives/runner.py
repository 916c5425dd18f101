"""One archive run: read the channel oldest-first from the checkpoint, write batches, checkpoint after each.

Order per batch: media files, then the JSON lines (fsynced, or one S3 part), then one commit that advances
`position` and `checkpoint_offset` together. Every state change is guarded by the claim (`claimed_by`), so a run
that lost its claim (cancelled, or taken over after this process stalled) stops at its next step.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.models import Archive, ArchiveStatus, TelegramProfile
from app.domain.archives.storage import (
    ArchiveSink,
    LocalSink,
    S3Sink,
    StorageError,
    check_endpoint,
    decrypt_credentials,
    encode_lines,
    local_directory,
    s3_location,
    safe_relative_path,
)
from app.domain.archives.stored import deleted_between, merge
from app.domain.profiles.services import LIVE_STATUSES
from app.lib.crypto import DecryptionError, SecretBox
from app.lib.errors import AppError, TooManyRequests
from app.lib.logging import log_event
from app.lib.targets import TargetPolicy, TargetRefused
from app.telegram.commands import ProfileCommands
from app.telegram.history import MAX_PAGE, FloodWait, HistoryItem, HistoryUnavailable
from app.telegram.runtime import ProfileRuntime

CONNECT_WAIT_S = 5.0
# The reading profile went away mid-run (disconnected, or refused by Telegram): another run tries again.
OFFLINE_CODES = frozenset({"profile_not_connected", "profile_not_active"})


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


class ArchiveRunner:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: ProfileRuntime,
        commands: ProfileCommands,
        box: SecretBox,
        settings: Settings,
        instance_id: str,
        targets: TargetPolicy,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.runtime = runtime
        self.commands = commands
        self.box = box
        self.settings = settings
        self.instance_id = instance_id
        self.targets = targets  # S3 endpoints follow the private-target policy of webhooks

    async def run(self, archive_id: UUID) -> None:
        """Export until the run completes, fails or loses its claim; the caller holds the claim."""
        job = await self._begin(archive_id)
        if job is None:
            return
        try:
            reader = await self._reader(job)
            sink = await self._sink(job)
            await sink.prepare(job.checkpoint)
            await self._export(job, reader, sink)
            await self._finish(job)
        except ClaimLost:
            return
        except FloodWait as wait:  # outside page reads (media downloads): pause and let the scheduler resume it
            await self._pause_released(job, wait.seconds)
        except (ProfileOffline, StorageError, ConnectionError, OSError, TimeoutError) as exc:
            await self._retry_later(job, _describe(exc))
        except AppError as exc:
            if exc.error_code in OFFLINE_CODES or isinstance(exc, TooManyRequests):
                await self._retry_later(job, _describe(exc))
            else:
                await self._fail(job, _describe(exc))
        except (HistoryUnavailable, DecryptionError) as exc:
            await self._fail(job, _describe(exc))
        except Exception as exc:  # unknown: keep the checkpoint, retry later, never crash the scheduler
            log_event("error", "archives", "archive.run_crashed", f"archive run crashed: {type(exc).__name__}")
            await self._retry_later(job, _describe(exc))

    # -- state changes, each guarded by the claim --------------------------------------------------------------

    async def _update(self, archive_id: UUID, *, statuses: tuple[str, ...] | None = None, **values: Any) -> None:
        guard = [Archive.id == archive_id, Archive.claimed_by == self.instance_id]
        if statuses is not None:
            guard.append(Archive.status.in_(statuses))
        async with self.sessionmaker.begin() as session:
            result = await session.execute(
                update(Archive)
                .where(*guard)
                .values(updated_at=now(), **values)
                .execution_options(synchronize_session=False)
            )
        if getattr(result, "rowcount", 1) == 0:
            raise ClaimLost

    async def _begin(self, archive_id: UUID) -> Job | None:
        async with self.sessionmaker.begin() as session:
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
            job = Job.of(row)
        log_event(
            "info",
            "archives",
            "archive.run_started" if fresh else "archive.run_resumed",
            f"archive run {'started' if fresh else 'resumed'} at message {job.position}",
            user_id=job.owner_id,
            context={"archive_id": str(job.id), "position": job.position},
        )
        return job

    async def _checkpoint(self, job: Job, position: int, checkpoint: int, messages: int, size: int, media: int) -> None:
        await self._update(
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

    async def _finish(self, job: Job) -> None:
        finished = now()
        repeating = job.every_minutes is not None
        await self._update(
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

    async def _retry_later(self, job: Job, error: str) -> None:
        """A transient failure: keep the checkpoint and try again after ARCHIVE_RETRY_AFTER_S."""
        await self._update(
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

    async def _pause_released(self, job: Job, seconds: int) -> None:
        await self._update(
            job.id,
            statuses=(ArchiveStatus.RUNNING.value,),
            status=ArchiveStatus.PAUSED.value,
            paused_until=now() + timedelta(seconds=seconds),
            claimed_by=None,
            claimed_until=None,
        )

    async def _fail(self, job: Job, error: str) -> None:
        """A lasting failure: a one-off archive fails; a repeating one tries again at its next run."""
        repeating = job.every_minutes is not None
        await self._update(
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

    # -- reading -----------------------------------------------------------------------------------------------

    async def _connected(self, profile: TelegramProfile) -> bool:
        if not profile.is_active or profile.status not in LIVE_STATUSES:
            return False
        connected = self.runtime.connected(profile.id)
        return (connected or await self.runtime.wait_connected(profile.id, CONNECT_WAIT_S)) is not None

    async def _reader(self, job: Job) -> UUID:
        """The archive's profile; a public channel falls back to any other connected profile of the owner."""
        async with self.sessionmaker() as session:
            own = await session.get(TelegramProfile, job.profile_id) if job.profile_id else None
            others: list[TelegramProfile] = []
            if not (job.pinned_profile or job.channel_private):
                from app.domain.profiles.services import list_owned

                others = [p for p in await list_owned(session, job.owner_id) if p.id != job.profile_id]
        if own is not None and await self._connected(own):
            job.read_as = (job.channel_id, job.channel_access_hash)
            return own.id
        for profile in others:
            if self.runtime.connected(profile.id) is None or job.channel_username is None:
                continue
            channel = await self.commands.resolve_channel(profile.id, job.channel_username)  # cached and paced
            job.read_as = (channel.id, channel.access_hash)
            await self._update(job.id, profile_id=profile.id, channel_access_hash=channel.access_hash)
            return profile.id
        raise ProfileOffline("no profile that can read the channel is connected")

    async def _page(self, job: Job, reader: UUID, after_id: int, want: int) -> list[HistoryItem]:
        """One page; a flood wait pauses the archive (visible in its status) and then resumes it."""
        channel_id, access_hash = job.read_as
        while True:
            try:
                return await self.commands.history_page(
                    reader, channel_id, access_hash, after_id=after_id, since=job.since, limit=want
                )
            except FloodWait as wait:
                resume_at = now() + timedelta(seconds=wait.seconds)
                await self._update(
                    job.id,
                    statuses=(ArchiveStatus.RUNNING.value,),
                    status=ArchiveStatus.PAUSED.value,
                    paused_until=resume_at,
                    claimed_until=resume_at + timedelta(seconds=self.settings.archive_claim_ttl_s),
                )
                log_event(
                    "warning",
                    "archives",
                    "archive.flood_wait",
                    f"Telegram asked to wait {wait.seconds} s; archive paused",
                    user_id=job.owner_id,
                    context={"archive_id": str(job.id), "seconds": wait.seconds},
                )
                await asyncio.sleep(wait.seconds)
                await self._update(
                    job.id,
                    statuses=(ArchiveStatus.PAUSED.value,),
                    status=ArchiveStatus.RUNNING.value,
                    paused_until=None,
                )

    # -- writing -----------------------------------------------------------------------------------------------

    async def _sink(self, job: Job) -> ArchiveSink:
        if job.target_type == "local":
            relative = str(job.target["path"])
            root = self.settings.archive_local_root
            local_directory(root, relative)  # still inside the root as configured now
            parts = (*safe_relative_path(relative).parts, str(job.id))
            return LocalSink(root, parts, f"{relative}/{job.id}")
        location = s3_location(job.target)
        try:  # the endpoint's name may resolve elsewhere by now; this run connects only to what is checked here
            target = await check_endpoint(location, self.targets)
        except TargetRefused as exc:
            raise StorageError(f"target.endpoint_url refused: {exc}") from None
        return S3Sink(location, decrypt_credentials(self.box, job.secret), str(job.id), target)

    async def _read_batch(self, job: Job, reader: UUID, cursor: int, taken: int) -> tuple[list[HistoryItem], int, bool]:
        """Up to ARCHIVE_BATCH_SIZE messages after `cursor`: (batch, new cursor, whether the run is done)."""
        batch_size = self.settings.archive_batch_size
        batch: list[HistoryItem] = []
        while len(batch) < batch_size:
            remaining = None if job.limit is None else job.limit - taken - len(batch)
            if remaining is not None and remaining <= 0:
                return batch, cursor, True
            want = min(MAX_PAGE, batch_size - len(batch), remaining or MAX_PAGE)
            page = await self._page(job, reader, cursor, want)
            for item in page:
                if job.until is not None and item.date > job.until:
                    return batch, cursor, True
                cursor = item.id
                if job.since is None or item.date >= job.since:
                    batch.append(item)
            if len(page) < want:
                return batch, cursor, True
        return batch, cursor, False

    async def _export(self, job: Job, reader: UUID, sink: ArchiveSink) -> None:
        """Read batch N+1 while batch N is written and checkpointed (writes and checkpoints stay in order)."""
        cursor, taken, done = job.position, job.run_messages, False
        pending: asyncio.Task[None] | None = None
        try:
            while not done:
                batch, next_cursor, done = await self._read_batch(job, reader, cursor, taken)
                if pending is not None:
                    await pending
                    pending = None
                if next_cursor != cursor:
                    pending = asyncio.create_task(self._write(job, reader, sink, batch, next_cursor))
                    cursor, taken = next_cursor, taken + len(batch)
            if pending is not None:
                await pending
                pending = None
        finally:
            if pending is not None:  # reading failed: let the write in flight finish (or fail) before giving up
                await asyncio.gather(pending, return_exceptions=True)

    async def _write(self, job: Job, reader: UUID, sink: ArchiveSink, batch: list[HistoryItem], cursor: int) -> None:
        media = 0
        if job.include_media:
            for item in batch:
                if item.record["media"] is None:
                    continue
                downloaded = await self.commands.history_media(reader, item)
                if downloaded is not None:
                    data, name = downloaded
                    item.record["media"]["file"] = await sink.put_media(name, data)
                    media += 1
        async with self.sessionmaker() as session:
            deleted = await deleted_between(session, job.owner_id, job.channel_id, job.position, cursor)
        records = merge([item.record for item in batch], deleted)
        lines = encode_lines(records)
        checkpoint = await sink.write_batch(lines, job.checkpoint) if lines else job.checkpoint
        await self._checkpoint(job, cursor, checkpoint, len(records), len(lines), media)


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:1000]
