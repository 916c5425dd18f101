"""The transactional outbox: one row per event, written in the transaction of the data it announces."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class Event(Base):
    """An event of one user; the UUIDv7 id is time-ordered, so it doubles as the replay cursor."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_user_id_id", "user_id", "id"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    profile: Mapped[str | None] = mapped_column(String(32), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=dict)

    def __repr__(self) -> str:
        return f"Event(id={self.id}, type={self.type!r}, user_id={self.user_id})"
