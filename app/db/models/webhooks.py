"""Webhook endpoints, their deliveries (one per event and endpoint) and every delivery attempt."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class WebhookStatus(enum.StrEnum):
    ACTIVE = "active"
    FAILED = "failed"  # still delivered to, but the latest attempts failed
    DISABLED = "disabled"  # by its owner, or automatically after too many consecutive failures


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the latest attempt failed; another is scheduled at next_attempt_at
    DEAD = "dead"  # retries exhausted


class Webhook(Base):
    __tablename__ = "webhooks"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    event_types: Mapped[list[str]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=list)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=WebhookStatus.ACTIVE.value)
    max_per_second: Mapped[float] = mapped_column(Float, default=10.0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    failing_since: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)  # streak start

    def __repr__(self) -> str:
        return f"Webhook(id={self.id}, url={self.url!r}, status={self.status}, secret=***)"


class WebhookDelivery(Base):
    """One event owed to one endpoint; claimed by a dispatcher until `claimed_until`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
    )

    webhook_id: Mapped[UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    locked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: what the endpoint answered, or why it could not."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response_excerpt: Mapped[str | None] = mapped_column(String(1024), default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    dispatcher: Mapped[str | None] = mapped_column(String(64), default=None)
