"""The peers each profile has seen, with the access hash Telegram issued to that profile (hashes are per account)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class KnownPeer(Base):
    """One user, group or channel as one profile knows it; `seen_at` dates its username for the resolve cache."""

    __tablename__ = "telegram_peers"
    __table_args__ = (
        UniqueConstraint("profile_id", "peer_id", name="uq_telegram_peers_profile_id_peer_id"),
        Index("ix_telegram_peers_profile_id_username", "profile_id", "username"),
    )

    profile_id: Mapped[UUID] = mapped_column(ForeignKey("telegram_profiles.id", ondelete="CASCADE"))
    peer_id: Mapped[int] = mapped_column(BigInteger)  # marked: users > 0, basic groups < 0, channels -100...
    kind: Mapped[str] = mapped_column(String(16))
    access_hash: Mapped[int | None] = mapped_column(BigInteger, default=None)
    username: Mapped[str | None] = mapped_column(String(64), default=None)
    title: Mapped[str | None] = mapped_column(String(255), default=None)
    seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
