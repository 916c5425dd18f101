"""The PROXY_POOL entries' health, as the periodic pool check last found it (shared by every process)."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ProxyPoolEntry(Base):
    """One pool entry by its address `kind://host:port` (never its credentials or secret)."""

    __tablename__ = "proxy_pool_entries"

    address: Mapped[str] = mapped_column(String(300), unique=True)
    healthy: Mapped[bool] = mapped_column(Boolean)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # checks failed in a row
    checked_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    changed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))  # when `healthy` last changed
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
