"""Send budgets: how much each profile sent per day window (the limits live on the profile and in the settings)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class SendBudgetUsage(Base):
    """One profile's sends in one day window (UTC midnight to midnight): messages, and chats it wrote to first."""

    __tablename__ = "send_budget_usage"
    __table_args__ = (UniqueConstraint("profile_id", "window_start"),)

    profile_id: Mapped[UUID] = mapped_column(ForeignKey("telegram_profiles.id", ondelete="CASCADE"))
    window_start: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    messages: Mapped[int] = mapped_column(Integer, default=0)
    new_chats: Mapped[int] = mapped_column(Integer, default=0)
