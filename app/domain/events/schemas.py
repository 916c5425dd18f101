"""The event envelope, as stored in the outbox and sent to WebSocket clients and webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class EventEnvelope(msgspec.Struct, frozen=True):
    id: UUID
    type: str
    occurred_at: datetime
    user_id: UUID
    profile: str | None
    data: dict[str, Any]


_encoder = msgspec.json.Encoder()


def encode_envelope(envelope: EventEnvelope) -> bytes:
    """The JSON bytes of an envelope; the same bytes go to WebSocket clients and webhook bodies."""
    return _encoder.encode(envelope)
