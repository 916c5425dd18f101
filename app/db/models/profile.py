"""Telegram profiles (bound user accounts) and the server-side state of login flows in progress."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ProfileStatus(enum.StrEnum):
    ACTIVE = "active"
    BANNED = "banned"
    DEAUTHORIZED = "deauthorized"
    LIMITED = "limited"  # spam-limited (PEER_FLOOD): may still write to contacts
    FROZEN = "frozen"  # frozen by Telegram (FROZEN_METHOD_INVALID): reads only, until appealed or deleted
    PROXY_FAILED = "proxy_failed"  # its proxy does not reach Telegram: not connected (never around the proxy)
    INACTIVE = "inactive"


class DeviceColumns:
    """The device identity a client presents to Telegram (app.lib.devices); None on rows from before it existed."""

    device_model: Mapped[str | None] = mapped_column(String(64), default=None)
    system_version: Mapped[str | None] = mapped_column(String(64), default=None)
    app_version: Mapped[str | None] = mapped_column(String(64), default=None)
    lang_code: Mapped[str | None] = mapped_column(String(16), default=None)


class ProxyColumns:
    """The proxy a client connects through (app.lib.proxies): encrypted whole, type/host/port also in clear."""

    proxy_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    proxy_type: Mapped[str | None] = mapped_column(String(8), default=None)
    proxy_host: Mapped[str | None] = mapped_column(String(255), default=None)
    proxy_port: Mapped[int | None] = mapped_column(Integer, default=None)


class TelegramProfile(DeviceColumns, ProxyColumns, Base):
    """One Telegram user account bound to an application user; its session is encrypted at rest."""

    __tablename__ = "telegram_profiles"

    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str | None] = mapped_column(String(100), default=None)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    username: Mapped[str | None] = mapped_column(String(64), default=None)
    first_name: Mapped[str | None] = mapped_column(String(128), default=None)
    last_name: Mapped[str | None] = mapped_column(String(128), default=None)
    api_id: Mapped[int] = mapped_column(Integer)
    api_hash_encrypted: Mapped[str] = mapped_column(Text)
    session_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ProfileStatus.ACTIVE.value, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    max_channels: Mapped[int] = mapped_column(Integer, default=450)
    limited_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    frozen_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    frozen_appeal_url: Mapped[str | None] = mapped_column(String(255), default=None)
    last_active_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # What the worker that last connected the profile reported (the lease says who holds it now).
    connection_worker: Mapped[str | None] = mapped_column(String(64), default=None)
    connection_state: Mapped[str | None] = mapped_column(String(16), default=None)  # connected | disconnected
    connection_reason: Mapped[str | None] = mapped_column(String(32), default=None)  # why it disconnected
    connection_changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Send budgets (app.domain.profiles.budgets): own limits per day (None: the instance's defaults) and, after a
    # flood answer from Telegram, until when they are halved.
    send_messages_per_day: Mapped[int | None] = mapped_column(Integer, default=None)
    send_new_chats_per_day: Mapped[int | None] = mapped_column(Integer, default=None)
    send_budget_reduced_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # The last account health check (app.domain.profiles.health): its result and when it ran.
    health: Mapped[str | None] = mapped_column(String(16), default=None)
    health_checked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    def __repr__(self) -> str:
        return f"TelegramProfile(id={self.id}, phone={self.phone!r}, status={self.status}, session=***)"


class LoginFlow(DeviceColumns, ProxyColumns, Base):
    """A phone -> code -> password login in progress; the code and the password are never stored."""

    __tablename__ = "login_flows"
    __table_args__ = (UniqueConstraint("owner_id", "phone"),)

    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(100), default=None)
    api_id: Mapped[int] = mapped_column(Integer)
    api_hash_encrypted: Mapped[str] = mapped_column(Text)
    session_encrypted: Mapped[str] = mapped_column(Text)
    phone_code_hash_encrypted: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16), default="code")
    password_hint: Mapped[str | None] = mapped_column(String(255), default=None)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)

    def __repr__(self) -> str:
        return f"LoginFlow(id={self.id}, phone={self.phone!r}, stage={self.stage}, session=***)"
