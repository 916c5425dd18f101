"""Archive rules: picking the profile that reads a channel, validating targets, listing and cancelling.

Services never commit. Telegram is reached through ProfileCommands: locally, or at the worker that holds the profile.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.after_commit import signal_after_commit
from app.db.models import Archive, ArchiveStatus, TelegramProfile
from app.domain.archives.schemas import (
    ArchiveChannel,
    ArchiveOut,
    ArchiveProgress,
    ChannelOut,
    CreateArchive,
)
from app.domain.archives.targets import TARGETS, target_for_body
from app.domain.profiles import services as profiles
from app.lib.crypto import SecretBox
from app.lib.errors import AppError, Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from app.lib.targets import TargetPolicy
from app.telegram.commands import ProfileCommands
from app.telegram.history import ReadableChannel

ARCHIVES_DUE = "archives.due"  # after-commit signal: an archive became due (the scheduler looks now)
ARCHIVE_CANCELLED = "archives.cancelled"  # after-commit signal with the archive id: stop its run here
ACTIVE_STATUSES = (
    ArchiveStatus.PENDING.value,
    ArchiveStatus.RUNNING.value,
    ArchiveStatus.PAUSED.value,
    ArchiveStatus.SCHEDULED.value,
)
T = TypeVar("T")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _require_live(profile: TelegramProfile) -> None:
    if not profile.is_active or profile.status not in profiles.LIVE_STATUSES:
        raise Conflict(f"the profile is {profile.status}, not active", code="profile_not_active")


async def _on_telegram(call: Awaitable[T]) -> T:
    """A Telegram read through whichever process holds the profile (503 `profile_offline` when none does)."""
    try:
        return await call
    except Conflict as exc:
        if exc.error_code != "profile_not_connected":
            raise
        raise ServiceUnavailable(
            "the profile is not connected right now; retry shortly", code="profile_offline"
        ) from None


async def list_channels(commands: ProfileCommands, profile: TelegramProfile) -> list[ChannelOut]:
    _require_live(profile)
    return [_channel_out(c) for c in await _on_telegram(commands.readable_channels(profile.id))]


def _channel_out(channel: ReadableChannel) -> ChannelOut:
    return ChannelOut(
        id=channel.id,
        title=channel.title,
        username=channel.username,
        member_count=channel.member_count,
        is_member=channel.is_member,
        kind=channel.kind,
        private=channel.private,
    )


async def _choose_reader(
    session: AsyncSession, commands: ProfileCommands, owner_id: UUID, data: CreateArchive
) -> tuple[TelegramProfile, ReadableChannel]:
    """The named profile, or the first live profile that can read the channel (members first for private ones)."""
    if data.phone is not None:
        profile = await profiles.get_owned(session, owner_id, data.phone)
        _require_live(profile)
        channel = await _on_telegram(commands.resolve_channel(profile.id, data.channel))
        if channel.private and not channel.is_member:
            raise Forbidden("the channel is private and this profile is not a member", code="channel_private")
        return profile, channel
    candidates = [p for p in await profiles.list_owned(session, owner_id) if p.is_active]
    candidates = [p for p in candidates if p.status in profiles.LIVE_STATUSES]
    if not candidates:
        raise Conflict("you have no active profile to read the channel with", code="profile_not_active")
    last_error: AppError | None = None
    for profile in candidates:
        try:
            channel = await _on_telegram(commands.resolve_channel(profile.id, data.channel))
        except AppError as exc:
            last_error = exc
            continue
        if channel.private and not channel.is_member:
            last_error = Forbidden(
                "the channel is private and none of your profiles is a member", code="channel_private"
            )
            continue
        return profile, channel
    raise last_error or NotFound("channel not found", code="channel_not_found")


async def create(
    session: AsyncSession,
    commands: ProfileCommands,
    box: SecretBox,
    archive_root: Path,
    *,
    owner_id: UUID,
    data: CreateArchive,
    targets: TargetPolicy,
) -> tuple[Archive, TelegramProfile]:
    since, until = _utc(data.since), _utc(data.until)
    if since is not None and until is not None and until <= since:
        raise ValidationFailed("until must be after since", details=[{"field": "until"}])
    prepared = target_for_body(data.target).prepare(data.target, box, archive_root)
    target, secret = prepared.stored, prepared.secret
    profile, channel = await _choose_reader(session, commands, owner_id, data)
    if prepared.check is not None:  # reached only with a usable profile: no probing of endpoints without one
        await prepared.check(targets)
    archive = Archive(
        owner_id=owner_id,
        profile_id=profile.id,
        pinned_profile=data.phone is not None,
        channel_ref=data.channel.strip(),
        channel_id=channel.id,
        channel_access_hash=channel.access_hash,
        channel_title=channel.title[:255],
        channel_username=channel.username,
        channel_private=channel.private,
        channel_kind=channel.kind,
        target_type=target["type"],
        target=target,
        target_secret_encrypted=secret,
        since=since,
        until=until,
        limit=data.limit,
        include_media=data.include_media,
        every_minutes=data.every_minutes,
        status=ArchiveStatus.PENDING.value,
        next_run_at=datetime.now(UTC),
    )
    session.add(archive)
    await session.flush()
    signal_after_commit(session, ARCHIVES_DUE)  # this process's scheduler looks at once
    return archive, profile


async def get_owned(session: AsyncSession, owner_id: UUID, archive_id: UUID) -> Archive:
    archive = await session.scalar(select(Archive).where(Archive.id == archive_id, Archive.owner_id == owner_id))
    if archive is None:
        raise NotFound("archive not found")
    return archive


async def list_owned(session: AsyncSession, owner_id: UUID) -> list[Archive]:
    rows = await session.scalars(
        select(Archive).where(Archive.owner_id == owner_id).order_by(Archive.created_at.desc(), Archive.id.desc())
    )
    return list(rows)


async def phones_of(session: AsyncSession, archives: list[Archive]) -> dict[UUID, str]:
    ids = {a.profile_id for a in archives if a.profile_id is not None}
    if not ids:
        return {}
    rows = await session.execute(select(TelegramProfile.id, TelegramProfile.phone).where(TelegramProfile.id.in_(ids)))
    return {row.id: row.phone for row in rows}


def cancel(session: AsyncSession, archive: Archive) -> None:
    """Stop the archive for good: no further runs; files already exported stay where they are.

    Once committed, a run of it in this process stops at once (elsewhere it stops at its next step: its claim
    is gone).
    """
    signal_after_commit(session, ARCHIVE_CANCELLED, archive.id)
    if archive.status in ACTIVE_STATUSES:
        archive.status = ArchiveStatus.CANCELLED.value
    archive.next_run_at = None
    archive.paused_until = None
    archive.claimed_by = None
    archive.claimed_until = None


def location_of(archive: Archive) -> str:
    """Where the archive's files are: relative to ARCHIVE_LOCAL_ROOT, or an s3:// URL."""
    target = TARGETS.get(archive.target_type)
    if target is None:  # stored by another version: shown as it is, the run fails with UnknownTargetType
        return f"{archive.target_type}:?"
    return target.location(archive.id, archive.target)


def to_out(archive: Archive, phone: str | None) -> ArchiveOut:
    return ArchiveOut(
        id=archive.id,
        channel=ArchiveChannel(
            id=archive.channel_id,
            title=archive.channel_title,
            username=archive.channel_username,
            private=archive.channel_private,
            ref=archive.channel_ref,
        ),
        phone=phone,
        target=dict(archive.target),
        location=location_of(archive),
        status=archive.status,
        progress=ArchiveProgress(
            messages_exported=archive.messages_exported,
            bytes_exported=archive.bytes_exported,
            media_exported=archive.media_exported,
            position=archive.position,
            runs=archive.run_count,
            run_messages=archive.run_messages,
        ),
        since=archive.since,
        until=archive.until,
        limit=archive.limit,
        include_media=archive.include_media,
        every_minutes=archive.every_minutes,
        last_error=archive.last_error,
        next_run_at=archive.next_run_at,
        paused_until=archive.paused_until,
        run_started_at=archive.run_started_at,
        last_run_at=archive.last_run_at,
        created_at=archive.created_at,
    )
