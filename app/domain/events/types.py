"""Event types of ARCHITECTURE.md §6 (plus `webhook.test`); each names what happened, past tense."""

from __future__ import annotations

import enum


class EventType(enum.StrEnum):
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_SENT = "message.sent"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_EDITED = "message.edited"
    MESSAGE_DELETED = "message.deleted"
    MESSAGE_READ = "message.read"
    PROFILE_STATUS_CHANGED = "profile.status_changed"
    PROFILE_HEALTH_CHANGED = "profile.health_changed"  # the periodic account check's result changed
    CHANNEL_JOINED = "channel.joined"
    CHANNEL_JOIN_FAILED = "channel.join_failed"
    CHANNEL_REASSIGNED = "channel.reassigned"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_TEST = "webhook.test"
    ALERT = "alert"
    GAP = "gap"  # messages Telegram would not replay and history could not fill (bounds in the payload)


ALL_TYPES = "*"
EVENT_TYPES: frozenset[str] = frozenset(t.value for t in EventType)


def unknown_types(types: list[str] | tuple[str, ...]) -> list[str]:
    """The entries that are neither a known event type nor the `*` wildcard."""
    return [t for t in types if t != ALL_TYPES and t not in EVENT_TYPES]
