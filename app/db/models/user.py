"""Application users and their refresh-token families."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class UserRole(enum.StrEnum):
    ADMIN = "admin"
    USER = "user"


class User(Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=UserRole.USER.value)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    def __repr__(self) -> str:
        return f"User(id={self.id}, email={self.email!r}, role={self.role})"


class RefreshToken(Base):
    """One issued refresh token, stored as a digest; tokens of one login share a family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family_id", "family_id"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(32))
    jti: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    def __repr__(self) -> str:
        return f"RefreshToken(id={self.id}, family={self.family_id}, token_hash=***)"


class InstanceSetup(Base):
    """The instance's one bootstrap row (`slot` is always 1): who became the first admin, and the setup token.

    Claiming the first admin is one conditional upsert of this row, so concurrent first registrations produce
    exactly one admin on either database.
    """

    __tablename__ = "instance_setup"

    slot: Mapped[int] = mapped_column(Integer, unique=True, default=1)
    first_admin_id: Mapped[UUID | None] = mapped_column(default=None)
    setup_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    def __repr__(self) -> str:
        return f"InstanceSetup(first_admin_id={self.first_admin_id}, setup_token_hash=***)"


class Invitation(Base):
    """An admin-issued, single-use registration token, stored as a digest."""

    __tablename__ = "invitations"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    used_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    def __repr__(self) -> str:
        return f"Invitation(id={self.id}, email={self.email!r}, token_hash=***)"
