"""Archive rules: picking the profile that reads a channel, validating targets, listing and cancelling.

Services never commit. Telegram is reached through ProfileCommands: locally, or at the worker that holds the profile.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Archive, ArchiveStatus, TelegramProfile
from app.domain.archives.schemas import (
    ArchiveChannel,
    ArchiveOut,
    ArchiveProgress,
    ChannelOut,
    CreateArchive,
    LocalTarget,
    S3Target,
)
from app.domain.archives.storage import S3Location, check_bucket, local_directory, safe_relative_path
from app.domain.profiles import services as profiles
from app.lib.crypto import SecretBox
from app.lib.errors import AppError, Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from app.lib.targets import TargetPolicy
from app.telegram.commands import ProfileCommands
from app.telegram.history import ReadableChannel

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


def _target_fields(
    box: SecretBox, archive_root: Path, target: LocalTarget | S3Target
) -> tuple[dict, str | None, S3Location | None]:
    """The stored form of a target, its encrypted credentials, and the S3 location still to check."""
    if isinstance(target, LocalTarget):
        local_directory(archive_root, target.path)  # validates: 422 on absolute paths and escapes
        return {"type": "local", "path": str(safe_relative_path(target.path))}, None, None
    if bool(target.access_key_id) != bool(target.secret_access_key):
        raise ValidationFailed(
            "give both access_key_id and secret_access_key, or neither", details=[{"field": "target"}]
        )
    location = S3Location(target.bucket, target.prefix.strip("/"), target.endpoint_url, target.region)
    credentials = {"access_key_id": target.access_key_id, "secret_access_key": target.secret_access_key}
    public = {
        "type": "s3",
        "bucket": target.bucket,
        "prefix": location.prefix,
        "endpoint_url": target.endpoint_url,
        "region": target.region,
    }
    secret = box.encrypt(json.dumps(credentials)) if target.access_key_id else None
    return public, secret, location


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
    target, secret, location = _target_fields(box, archive_root, data.target)
    profile, channel = await _choose_reader(session, commands, owner_id, data)
    if location is not None:  # reached only with a usable profile: no probing of endpoints without one
        assert isinstance(data.target, S3Target)
        credentials = {"access_key_id": data.target.access_key_id, "secret_access_key": data.target.secret_access_key}
        await check_bucket(location, credentials, targets)
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


def cancel(archive: Archive) -> None:
    """Stop the archive for good: no further runs; files already exported stay where they are."""
    if archive.status in ACTIVE_STATUSES:
        archive.status = ArchiveStatus.CANCELLED.value
    archive.next_run_at = None
    archive.paused_until = None
    archive.claimed_by = None
    archive.claimed_until = None


def location_of(archive: Archive) -> str:
    """Where the archive's files are: relative to ARCHIVE_LOCAL_ROOT, or an s3:// URL."""
    if archive.target_type == "local":
        return str(PurePosixPath(str(archive.target["path"])) / str(archive.id))
    target = archive.target
    prefix = "/".join(p for p in (target.get("prefix") or "", str(archive.id)) if p)
    return f"s3://{target['bucket']}/{prefix}"


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
