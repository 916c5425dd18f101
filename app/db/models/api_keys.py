"""API keys: a user's scoped, revocable credentials for programs and agents (the secret stored as a digest)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

_JSON = JSON().with_variant(JSONB(), "postgresql")


class ApiKey(Base):
    """One key: what it may do (`scopes`), where (`profiles`, `chats`; empty means any of the owner's), until when."""

    __tablename__ = "api_keys"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters of the secret, shown in listings
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(_JSON, default=list)
    profiles: Mapped[list[str]] = mapped_column(_JSON, default=list)  # phone numbers; empty: every profile
    chats: Mapped[list[str]] = mapped_column(_JSON, default=list)  # peer ids or usernames; empty: every chat
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=120)
    send_requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id}, name={self.name!r}, prefix={self.prefix!r}, secret_hash=***)"
