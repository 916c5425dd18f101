"""Request and response bodies of the webhooks API; the secret appears only in `WebhookWithSecret`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2048, examples=["https://example.com/hooks/tg"])]
EventTypes = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
    msgspec.Meta(min_length=1, max_length=32, examples=[["message.received", "alert"]]),
]
Description = Annotated[str, msgspec.Meta(max_length=500)]
Rate = Annotated[float, msgspec.Meta(gt=0, le=1000)]


class WebhookCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    event_types: EventTypes
    description: Description | None = None
    max_per_second: Rate | None = None


class WebhookUpdate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    max_per_second: Rate | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "disabled"] | msgspec.UnsetType = msgspec.UNSET


class WebhookOut(msgspec.Struct):
    id: UUID
    url: str
    description: str | None
    event_types: list[str]
    status: str
    max_per_second: float
    failure_count: int
    consecutive_failures: int
    last_success_at: datetime | None
    last_failure_at: datetime | None
    failing_since: datetime | None  # first failure of the current streak; None while deliveries succeed
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    """Returned by create and rotate-secret only: the signing secret is never shown again."""

    secret: str = ""


class AttemptOut(msgspec.Struct):
    id: UUID
    attempt: int
    status_code: int | None
    response_excerpt: str | None
    error: str | None
    duration_ms: float
    at: datetime


class DeliveryOut(msgspec.Struct):
    id: UUID
    webhook_id: UUID
    event_id: UUID
    event_type: str
    status: str
    attempt: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: list[AttemptOut] | None = None


class DeliveryPage(msgspec.Struct):
    items: list[DeliveryOut]
    next_cursor: UUID | None


class WebhookTestResult(msgspec.Struct):
    event_id: UUID
    delivery_id: UUID | None
