"""The stored inbox (chats, messages, previous texts) and each profile's Telegram update state for catch-up."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

JSONType = JSON().with_variant(JSONB(), "postgresql")


class ChatKind(enum.StrEnum):
    USER = "user"
    GROUP = "group"  # a basic group: its message ids are the account's own, like private chats
    SUPERGROUP = "supergroup"  # a megagroup or gigagroup: numbered on its own, like a channel
    CHANNEL = "channel"


# Chats whose messages are numbered in the account's own message box: id-only deletions can only mean these.
ACCOUNT_BOX_KINDS = (ChatKind.USER.value, ChatKind.GROUP.value)
# Chats numbered separately (channels and supergroups): their updates always name the chat.
CHANNEL_BOX_KINDS = (ChatKind.SUPERGROUP.value, ChatKind.CHANNEL.value)


class MessageStatus(enum.StrEnum):
    RECEIVED = "received"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Chat(Base):
    """One conversation of one profile with a peer (Telethon's marked peer id).

    `owner_id` keeps a conversation reachable by its user after the profile is deleted with
    `keep_history=true` (the profile reference then becomes NULL, `profile_phone` stays as a label).
    """

    __tablename__ = "chats"
    __table_args__ = (
        UniqueConstraint("profile_id", "peer_id", name="uq_chats_profile_id_peer_id"),
        Index("ix_chats_owner_id_last_message_at", "owner_id", "last_message_at"),
    )

    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    profile_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("telegram_profiles.id", ondelete="SET NULL"), default=None, index=True
    )
    profile_phone: Mapped[str] = mapped_column(String(20))
    peer_id: Mapped[int] = mapped_column(BigInteger)
    access_hash: Mapped[int | None] = mapped_column(BigInteger, default=None)
    kind: Mapped[str] = mapped_column(String(16), default=ChatKind.USER.value)
    title: Mapped[str | None] = mapped_column(String(255), default=None)
    username: Mapped[str | None] = mapped_column(String(64), default=None)
    # Whether the profile may write here, as Telegram last described the chat (None: not said yet).
    can_post: Mapped[bool | None] = mapped_column(Boolean, default=None)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    read_outbox_max_id: Mapped[int] = mapped_column(BigInteger, default=0)  # the peer read ours up to here
    last_message_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # A basic group upgraded to a supergroup stays one conversation (app.domain.messages.upgrades): the
    # conversation takes the supergroup's peer and names the group here; the group's own messages (numbered in
    # the account's box) live in a hidden row of the group's peer whose `merged_into_id` is the conversation.
    migrated_from_peer_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    merged_into_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE"), default=None, index=True
    )

    def __repr__(self) -> str:
        return f"Chat(id={self.id}, peer_id={self.peer_id}, kind={self.kind})"


class Message(Base):
    """A message in a chat; pending outgoing rows have no Telegram id until Telegram accepted them."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("chat_id", "telegram_message_id", name="uq_messages_chat_id_telegram_message_id"),
        UniqueConstraint("chat_id", "idempotency_key", name="uq_messages_chat_id_idempotency_key"),
        Index("ix_messages_chat_id_date_id", "chat_id", "date", "id"),
    )

    chat_id: Mapped[UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    sender_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sender_name: Mapped[str | None] = mapped_column(String(255), default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    # Telegram's text held U+0000 (PostgreSQL cannot store it): stored with U+FFFD instead, and flagged.
    text_sanitized: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    media_type: Mapped[str | None] = mapped_column(String(32), default=None)
    media: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    entities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=None)  # Telegram's formatting
    date: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    edit_date: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.RECEIVED.value)
    error: Mapped[str | None] = mapped_column(String(255), default=None)
    reply_to: Mapped[int | None] = mapped_column(BigInteger, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)

    def __repr__(self) -> str:
        return f"Message(id={self.id}, chat_id={self.chat_id}, telegram_id={self.telegram_message_id})"


class MessageEdit(Base):
    """The text a message had before an edit."""

    __tablename__ = "message_edits"

    message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    previous_text: Mapped[str] = mapped_column(Text)
    edited_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class UpdateState(Base):
    """A profile's committed Telegram update state: entity 0 is the account (pts, qts, date, seq), others channels.

    Advanced in the transaction that stores the messages it covers, so a restart catches up from here.
    """

    __tablename__ = "update_states"
    __table_args__ = (UniqueConstraint("profile_id", "entity_id", name="uq_update_states_profile_id_entity_id"),)

    profile_id: Mapped[UUID] = mapped_column(ForeignKey("telegram_profiles.id", ondelete="CASCADE"))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    pts: Mapped[int] = mapped_column(BigInteger)
    qts: Mapped[int] = mapped_column(BigInteger, default=0)
    date: Mapped[int] = mapped_column(BigInteger, default=0)  # unix seconds, as Telegram sends it
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    access_hash: Mapped[int | None] = mapped_column(BigInteger, default=None)
