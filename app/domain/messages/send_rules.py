"""What a send must satisfy before anything is stored or sent: a live profile, a text Telegram accepts, a usable
Idempotency-Key; and how stored rows and chats are shown to the sender (`stored`, `peer_of`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.db.models import Chat, Message, TelegramProfile
from app.domain.messages.schemas import IDEMPOTENCY_KEY_MAX_LENGTH, MAX_TEXT, StoredMessage
from app.domain.profiles import services as profiles
from app.lib.errors import Conflict, ValidationFailed
from app.telegram.entities import EntityIn, ParseMode, format_text
from app.telegram.records import CONTENT_FIELDS, PeerInfo


@dataclass(frozen=True, slots=True)
class Outgoing:
    text: str
    reply_to: int | None = None
    silent: bool = False
    idempotency_key: str | None = None
    entities: list[dict[str, Any]] | None = None  # the formatting Telegram is to store (JSON shape)


def outgoing(
    text: str,
    *,
    reply_to: int | None,
    silent: bool,
    parse_mode: ParseMode | None,
    entities: list[EntityIn] | None,
    idempotency_key: str | None,
) -> Outgoing:
    """A validated send: the text as the peer will read it (verbatim unless a parse mode was asked for)."""
    final, formatting = format_text(validate_text(text), parse_mode, entities)
    return Outgoing(validate_text(final), reply_to, silent, validate_idempotency_key(idempotency_key), formatting)


def require_live(profile: TelegramProfile) -> None:
    """Only an active profile can act on Telegram (409 otherwise)."""
    if not profile.is_active or profile.status not in profiles.LIVE_STATUSES:
        raise Conflict(f"the profile is {profile.status}, not active", code="profile_not_active")


def validate_text(text: str) -> str:
    if not text.strip():
        raise ValidationFailed("text must not be empty", code="validation_error", details=[{"field": "text"}])
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"text is longer than {MAX_TEXT} characters", details=[{"field": "text"}])
    return text


def validate_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationFailed(
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters",
            details=[{"field": "Idempotency-Key"}],
        )
    return key


def stored(message: Message, previous: list[str] | None = None) -> StoredMessage:
    return StoredMessage(
        id=message.id,
        conversation_id=message.chat_id,
        telegram_message_id=message.telegram_message_id,
        direction=message.direction,
        status=message.status,
        is_deleted=message.is_deleted,
        deleted_at=message.deleted_at,
        error=message.error,
        previous_texts=previous,
        **{name: getattr(message, name) for name in CONTENT_FIELDS},
    )


def peer_of(chat: Chat) -> PeerInfo:
    return PeerInfo(chat.peer_id, chat.kind, chat.title, chat.username, chat.access_hash)
