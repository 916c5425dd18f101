"""Monitored channels and the history of which profile listened to each of them.

A channel's messages are not stored twice: they live in the `chats`/`messages` rows of the profile that receives
them (the inbox ingest writes them); a monitored channel links the user's Telegram channel id to those chats.
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ChannelStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ORPHANED = "orphaned"  # no eligible profile could take it over
    FAILED = "failed"


class AssignmentStatus(enum.StrEnum):
    ACTIVE = "active"
    FAILED = "failed"  # the profile could not (or no longer) listen and nobody took over
    REASSIGNED = "reassigned"  # handed over to another profile


class Channel(Base):
    """A channel one user monitors; `peer_id` is Telethon's marked id (-100...)."""

    __tablename__ = "channels"
    __table_args__ = (
        UniqueConstraint("owner_id", "peer_id", name="uq_channels_owner_id_peer_id"),
        Index("ix_channels_status_assigned_profile_id", "status", "assigned_profile_id"),
    )

    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    peer_id: Mapped[int] = mapped_column(BigInteger)
    access_hash: Mapped[int | None] = mapped_column(BigInteger, default=None)
    username: Mapped[str | None] = mapped_column(String(64), default=None)
    title: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    member_count: Mapped[int | None] = mapped_column(Integer, default=None)
    assigned_profile_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("telegram_profiles.id", ondelete="SET NULL"), default=None, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=ChannelStatus.ACTIVE.value)
    status_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    last_message_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # A `failed` channel (no profile could read it) is tried again at `retry_at`, backing off per attempt.
    retry_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"Channel(id={self.id}, peer_id={self.peer_id}, status={self.status})"


class ChannelAssignment(Base):
    """One period during which one profile listened to a channel for its user."""

    __tablename__ = "channel_assignments"

    channel_id: Mapped[UUID] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    profile_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("telegram_profiles.id", ondelete="SET NULL"), default=None, index=True
    )
    profile_phone: Mapped[str] = mapped_column(String(20))
    joined: Mapped[bool] = mapped_column(Boolean, default=False)  # we joined (False: it was a member already)
    assigned_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.ACTIVE.value)
    reason: Mapped[str | None] = mapped_column(String(255), default=None)


class ChannelJoinMarker(Base):
    """A join this service asked Telegram for and has not recorded yet (committed before the join call).

    If the process dies between Telegram's answer and the commit that records the monitor, the retry finds the
    profile a member already; the marker tells it the membership is ours, so removing the monitor leaves.
    """

    __tablename__ = "channel_join_markers"
    __table_args__ = (UniqueConstraint("profile_id", "ref_key", name="uq_channel_join_markers_profile_id_ref_key"),)

    profile_id: Mapped[UUID] = mapped_column(ForeignKey("telegram_profiles.id", ondelete="CASCADE"))
    ref_key: Mapped[str] = mapped_column(String(200))  # the channel as named: "u:name", "i:hash" or "p:-100..."
