"""Plain views of inbox rows: what event payloads read, and what the ingest writer's bulk path inserts.

ORM objects (`Chat`, `Message`) satisfy the protocols as they are; the bulk path uses the slotted rows below, so
a batch of hundreds of messages costs a few Core statements instead of a unit of work per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7

from app.db.models import MessageStatus
from app.telegram.records import CONTENT_FIELDS, MessageInfo


class ChatLike(Protocol):
    @property
    def id(self) -> UUID: ...
    @property
    def owner_id(self) -> UUID: ...
    @property
    def profile_id(self) -> UUID | None: ...
    @property
    def peer_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def last_message_at(self) -> datetime | None: ...


class MessageLike(Protocol):
    """A stored message as events read it; its `CONTENT_FIELDS` are read by name (`content_of`)."""

    @property
    def id(self) -> UUID: ...
    @property
    def telegram_message_id(self) -> int | None: ...
    @property
    def direction(self) -> str: ...
    @property
    def status(self) -> str: ...


@dataclass(slots=True)
class ChatRow:
    """A `chats` row as the bulk path reads, creates and updates it."""

    id: UUID
    owner_id: UUID
    profile_id: UUID | None
    profile_phone: str
    peer_id: int
    kind: str
    title: str | None
    username: str | None
    access_hash: int | None
    last_message_at: datetime | None
    can_post: bool | None

    def insert_values(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner_id": self.owner_id,
            "profile_id": self.profile_id,
            "profile_phone": self.profile_phone,
            "peer_id": self.peer_id,
            "kind": self.kind,
            "title": self.title,
            "username": self.username,
            "access_hash": self.access_hash,
            "can_post": self.can_post,
            "unread_count": 0,
            "read_outbox_max_id": 0,
            "last_message_at": None,
            "created_at": now,
            "updated_at": now,
        }


@dataclass(slots=True)
class MessageRow:
    """A new `messages` row of the bulk path (never deleted, no idempotency key: it came from Telegram).

    `content` holds the record's `CONTENT_FIELDS` (app.telegram.records), each the column of its name.
    """

    id: UUID
    chat_id: UUID
    telegram_message_id: int
    direction: str
    status: str
    content: dict[str, Any]

    @property
    def date(self) -> datetime:
        return cast(datetime, self.content["date"])

    def insert_values(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat_id": self.chat_id,
            "telegram_message_id": self.telegram_message_id,
            "direction": self.direction,
            "status": self.status,
            **self.content,
            "is_deleted": False,
            "deleted_at": None,
            "error": None,
            "idempotency_key": None,
            "created_at": now,
            "updated_at": now,
        }


def message_row(chat: ChatLike, record: MessageInfo) -> MessageRow:
    """The new row of a message from Telegram (its status follows its direction)."""
    content = {name: getattr(record, name) for name in CONTENT_FIELDS}
    if record.sender_name:
        content["sender_name"] = record.sender_name[:255]
    return MessageRow(
        id=uuid7(),
        chat_id=chat.id,
        telegram_message_id=record.id,
        direction="out" if record.out else "in",
        status=MessageStatus.SENT.value if record.out else MessageStatus.RECEIVED.value,
        content=content,
    )


def content_of(message: MessageLike | MessageRow, name: str) -> Any:
    """One of a stored message's `CONTENT_FIELDS`, from an ORM row or a bulk row alike."""
    return message.content[name] if isinstance(message, MessageRow) else getattr(message, name)
