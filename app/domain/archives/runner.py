"""One archive run: read the channel oldest-first from the checkpoint, write batches, checkpoint after each.

Order per batch: media files, then the JSON lines (fsynced, or one S3 part), then one commit that advances
`position` and `checkpoint_offset` together. Every state change is guarded by the claim (`claimed_by`, see
`run_state.py`), so a run that lost its claim stops at its next step. The sink comes from the archive's target
type (`targets.py`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.models import ArchiveStatus, TelegramProfile
from app.db.shielded import ShieldedTransactions
from app.domain.archives.run_state import ClaimLost, Job, ProfileOffline, RunState, now
from app.domain.archives.storage import ArchiveSink, StorageError, encode_lines
from app.domain.archives.stored import deleted_between, merge
from app.domain.archives.targets import SinkContext, UnknownTargetType, target_of
from app.domain.profiles.services import LIVE_STATUSES
from app.lib.crypto import DecryptionError, SecretBox
from app.lib.errors import AppError, TooManyRequests
from app.lib.logging import log_event
from app.lib.targets import TargetPolicy
from app.telegram.commands import ProfileCommands
from app.telegram.history import MAX_PAGE, FloodWait, HistoryItem, HistoryUnavailable
from app.telegram.runtime import ProfileRuntime

CONNECT_WAIT_S = 5.0
# The reading profile went away mid-run (disconnected, or refused by Telegram): another run tries again.
OFFLINE_CODES = frozenset({"profile_not_connected", "profile_not_active"})


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
        self.transactions = ShieldedTransactions(sessionmaker)
        self.state = RunState(self.transactions, settings, instance_id)

    async def run(self, archive_id: UUID) -> None:
        """Export until the run completes, fails or loses its claim; the caller holds the claim."""
        job = await self.state.begin(archive_id)
        if job is None:
            return
        try:
            target_of(job.target_type)  # a type this version cannot write fails the run, before reading anything
            reader = await self._reader(job)
            sink = await self._sink(job)
            await sink.prepare(job.checkpoint)
            await self._export(job, reader, sink)
            await self.state.finish(job)
        except ClaimLost:
            return
        except FloodWait as wait:  # outside page reads (media downloads): pause and let the scheduler resume it
            await self.state.pause_released(job, wait.seconds)
        except UnknownTargetType as exc:  # lasting: no retry will make it known
            await self.state.fail(job, _describe(exc))
        except (ProfileOffline, StorageError, ConnectionError, OSError, TimeoutError) as exc:
            await self.state.retry_later(job, _describe(exc))
        except AppError as exc:
            if exc.error_code in OFFLINE_CODES or isinstance(exc, TooManyRequests):
                await self.state.retry_later(job, _describe(exc))
            else:
                await self.state.fail(job, _describe(exc))
        except (HistoryUnavailable, DecryptionError) as exc:
            await self.state.fail(job, _describe(exc))
        except Exception as exc:  # unknown: keep the checkpoint, retry later, never crash the scheduler
            log_event("error", "archives", "archive.run_crashed", f"archive run crashed: {type(exc).__name__}")
            await self.state.retry_later(job, _describe(exc))

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
            await self.state.update(job.id, profile_id=profile.id, channel_access_hash=channel.access_hash)
            return profile.id
        raise ProfileOffline("no profile that can read the channel is connected")

    async def _page(self, job: Job, reader: UUID, after_id: int, want: int) -> list[HistoryItem]:
        """One page; a flood wait pauses the archive (visible in its status) and then resumes it."""
        channel_id, access_hash = job.read_as
        while True:
            try:
                return await self.commands.history_page(
                    reader,
                    channel_id,
                    access_hash,
                    after_id=after_id,
                    since=job.since,
                    limit=want,
                    basic_group=job.channel_kind == "group",
                )
            except FloodWait as wait:
                resume_at = now() + timedelta(seconds=wait.seconds)
                await self.state.update(
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
                await self.state.update(
                    job.id,
                    statuses=(ArchiveStatus.PAUSED.value,),
                    status=ArchiveStatus.RUNNING.value,
                    paused_until=None,
                )

    # -- writing -----------------------------------------------------------------------------------------------

    async def _sink(self, job: Job) -> ArchiveSink:
        """The sink of the archive's target type; an unknown type fails the run (`UnknownTargetType`)."""
        context = SinkContext(self.settings.archive_local_root, self.box, self.targets)
        return await target_of(job.target_type).open_sink(job.id, job.target, job.secret, context)

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
            deleted = await deleted_between(
                session,
                job.owner_id,
                job.channel_id,
                job.position,
                cursor,
                basic_group_of=reader if job.channel_kind == "group" else None,
            )
        records = merge([item.record for item in batch], deleted)
        lines = encode_lines(records)
        checkpoint = await sink.write_batch(lines, job.checkpoint) if lines else job.checkpoint
        await self.state.checkpoint(job, cursor, checkpoint, len(records), len(lines), media)


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:1000]
