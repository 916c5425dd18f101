"""Channel archives: an export of a channel's history to local storage or S3, once or on a schedule.

One row is both the archive's definition and its checkpoint: `position` (the last exported Telegram message id)
and `checkpoint_offset` (bytes of the local file, or parts written to S3) advance in one commit after each batch
is durably written, so a run resumes exactly where its last committed batch ended.
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ArchiveStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first run
    RUNNING = "running"
    PAUSED = "paused"  # Telegram asked to wait (FLOOD_WAIT): resumes at paused_until
    SCHEDULED = "scheduled"  # repeating: the last run finished, the next is at next_run_at
    COMPLETED = "completed"  # a one-off archive that finished
    FAILED = "failed"
    CANCELLED = "cancelled"


class Archive(Base):
    __tablename__ = "archives"
    __table_args__ = (Index("ix_archives_due", "status", "next_run_at"),)

    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    profile_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("telegram_profiles.id", ondelete="SET NULL"), default=None, index=True
    )
    pinned_profile: Mapped[bool] = mapped_column(Boolean, default=False)  # the caller named the profile (phone)
    channel_ref: Mapped[str] = mapped_column(String(255))  # as the caller gave it
    channel_id: Mapped[int] = mapped_column(BigInteger)
    channel_access_hash: Mapped[int | None] = mapped_column(BigInteger, default=None)  # valid for profile_id only
    channel_title: Mapped[str] = mapped_column(String(255))
    channel_username: Mapped[str | None] = mapped_column(String(64), default=None)
    channel_private: Mapped[bool] = mapped_column(Boolean, default=False)
    # channel | megagroup | group (a basic group: read as InputPeerChat, its ids are the profile's own box)
    channel_kind: Mapped[str] = mapped_column(String(16), default="channel", server_default="channel")

    target_type: Mapped[str] = mapped_column(String(8))  # local | s3
    target: Mapped[dict[str, str | None]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=dict)
    target_secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)

    since: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    limit: Mapped[int | None] = mapped_column(Integer, default=None)
    include_media: Mapped[bool] = mapped_column(Boolean, default=False)
    every_minutes: Mapped[int | None] = mapped_column(Integer, default=None)

    status: Mapped[str] = mapped_column(String(16), default=ArchiveStatus.PENDING.value)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    checkpoint_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    messages_exported: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_exported: Mapped[int] = mapped_column(BigInteger, default=0)
    media_exported: Mapped[int] = mapped_column(Integer, default=0)
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    run_messages: Mapped[int] = mapped_column(Integer, default=0)  # exported by the current (or last) run
    last_error: Mapped[str | None] = mapped_column(String(1000), default=None)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    paused_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    run_started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    def __repr__(self) -> str:
        return f"Archive(id={self.id}, channel={self.channel_ref!r}, status={self.status}, secret=***)"
