"""Webhook endpoint rules: create, read, change, rotate the secret, list and retry deliveries, send a test.

Every query is scoped to the owner, so another user's webhook is simply not found (404). Services never
commit; events and dispatcher wake-ups they cause are published after the request transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import DeliveryStatus, Event, Webhook, WebhookAttempt, WebhookDelivery, WebhookStatus
from app.domain.events.services import emit, request_dispatch
from app.domain.events.types import EventType, unknown_types
from app.domain.webhooks.schemas import WebhookCreate, WebhookUpdate
from app.domain.webhooks.signing import generate_secret
from app.domain.webhooks.targets import validate_target
from app.lib.crypto import SecretBox
from app.lib.errors import Conflict, NotFound, ValidationFailed
from app.lib.targets import TargetPolicy


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    targets: TargetPolicy
    default_max_per_second: float


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    status: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _check_event_types(types: Sequence[str]) -> list[str]:
    if unknown := unknown_types(list(types)):
        raise ValidationFailed(
            f"unknown event types: {', '.join(unknown)}", details=[{"field": "event_types", "unknown": unknown}]
        )
    return sorted(set(types))


async def create_webhook(
    session: AsyncSession, box: SecretBox, policy: WebhookPolicy, user_id: UUID, data: WebhookCreate
) -> tuple[Webhook, str]:
    """Create an endpoint; returns it with its plaintext secret, which is stored only encrypted."""
    await validate_target(data.url, policy.targets)
    secret = generate_secret()
    webhook = Webhook(
        user_id=user_id,
        url=data.url,
        description=data.description,
        event_types=_check_event_types(data.event_types),
        secret_encrypted=box.encrypt(secret),
        status=WebhookStatus.ACTIVE.value,
        max_per_second=data.max_per_second or policy.default_max_per_second,
        failure_count=0,
        consecutive_failures=0,
    )
    session.add(webhook)
    await session.flush()
    return webhook, secret


async def list_webhooks(session: AsyncSession, user_id: UUID) -> list[Webhook]:
    return list(await session.scalars(select(Webhook).where(Webhook.user_id == user_id).order_by(Webhook.id)))


async def get_webhook(session: AsyncSession, user_id: UUID, webhook_id: UUID) -> Webhook:
    webhook = await session.scalar(select(Webhook).where(Webhook.id == webhook_id, Webhook.user_id == user_id))
    if webhook is None:
        raise NotFound("webhook not found", code="webhook_not_found")
    return webhook


async def update_webhook(
    session: AsyncSession, policy: WebhookPolicy, user_id: UUID, webhook_id: UUID, data: WebhookUpdate
) -> Webhook:
    """Change an endpoint; re-enabling it makes its waiting backlog due now (drained at its rate)."""
    webhook = await get_webhook(session, user_id, webhook_id)
    if data.url is not msgspec.UNSET:
        await validate_target(data.url, policy.targets)
        webhook.url = data.url
    if data.event_types is not msgspec.UNSET:
        webhook.event_types = _check_event_types(data.event_types)
    if data.description is not msgspec.UNSET:
        webhook.description = data.description
    if data.max_per_second is not msgspec.UNSET:
        webhook.max_per_second = data.max_per_second
    if data.status is not msgspec.UNSET and data.status != _public_status(webhook.status):
        if data.status == "active":
            webhook.status = WebhookStatus.ACTIVE.value
            webhook.consecutive_failures = 0
            webhook.failing_since = None  # re-enabled: a new streak gets the whole period again
            await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.webhook_id == webhook.id,
                    WebhookDelivery.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value]),
                )
                .values(next_attempt_at=datetime.now(UTC))
            )
            request_dispatch(session)
        else:
            webhook.status = WebhookStatus.DISABLED.value
    webhook.updated_at = datetime.now(UTC)
    await session.flush()
    return webhook


def _public_status(status: str) -> str:
    return "disabled" if status == WebhookStatus.DISABLED.value else "active"


async def delete_webhook(session: AsyncSession, user_id: UUID, webhook_id: UUID) -> None:
    webhook = await get_webhook(session, user_id, webhook_id)
    await session.delete(webhook)
    await session.flush()


async def rotate_secret(session: AsyncSession, box: SecretBox, user_id: UUID, webhook_id: UUID) -> tuple[Webhook, str]:
    """Replace the signing secret at once; the new one is returned this time only."""
    webhook = await get_webhook(session, user_id, webhook_id)
    secret = generate_secret()
    webhook.secret_encrypted = box.encrypt(secret)
    webhook.updated_at = datetime.now(UTC)
    await session.flush()
    return webhook, secret


async def list_deliveries(
    session: AsyncSession,
    user_id: UUID,
    webhook_id: UUID,
    filters: DeliveryFilter,
    *,
    limit: int,
    cursor: UUID | None,
) -> tuple[list[tuple[WebhookDelivery, str]], UUID | None]:
    """Newest first, with the event type; the cursor is the last delivery id of the previous page."""
    await get_webhook(session, user_id, webhook_id)
    query = (
        select(WebhookDelivery, Event.type)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    if filters.status:
        query = query.where(WebhookDelivery.status == filters.status)
    if filters.event_type:
        query = query.where(Event.type == filters.event_type)
    if filters.since:
        query = query.where(WebhookDelivery.created_at >= filters.since)
    if filters.until:
        query = query.where(WebhookDelivery.created_at < filters.until)
    if cursor:
        query = query.where(WebhookDelivery.id < cursor)
    rows = [(delivery, event_type) for delivery, event_type in await session.execute(query)]
    next_cursor = rows[limit - 1][0].id if len(rows) > limit else None
    return rows[:limit], next_cursor


async def get_delivery(
    session: AsyncSession, user_id: UUID, webhook_id: UUID, delivery_id: UUID
) -> tuple[WebhookDelivery, str]:
    await get_webhook(session, user_id, webhook_id)
    row = (
        await session.execute(
            select(WebhookDelivery, Event.type)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id)
        )
    ).first()
    if row is None:
        raise NotFound("delivery not found", code="delivery_not_found")
    return row[0], row[1]


async def delivery_attempts(session: AsyncSession, delivery_id: UUID) -> list[WebhookAttempt]:
    query = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id)
    return list(await session.scalars(query))


async def retry_delivery(
    session: AsyncSession, user_id: UUID, webhook_id: UUID, delivery_id: UUID
) -> tuple[WebhookDelivery, str]:
    """Queue one more attempt now (any status); it is sent with the same `webhook-id`."""
    delivery, event_type = await get_delivery(session, user_id, webhook_id, delivery_id)
    now = datetime.now(UTC)
    if delivery.claimed_until is not None and delivery.claimed_until > now:
        raise Conflict("this delivery is being attempted right now", code="delivery_in_flight")
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now
    delivery.updated_at = now
    await session.flush()
    request_dispatch(session)
    return delivery, event_type


async def send_test(session: AsyncSession, user_id: UUID, webhook_id: UUID) -> tuple[UUID, UUID | None]:
    """Emit a `webhook.test` event delivered to this endpoint only; returns the event and delivery ids."""
    webhook = await get_webhook(session, user_id, webhook_id)
    if webhook.status == WebhookStatus.DISABLED.value:
        raise Conflict("webhook is disabled; enable it with PATCH first", code="webhook_disabled")
    envelope = await emit(
        session,
        user_id=user_id,
        type=EventType.WEBHOOK_TEST.value,
        data={"webhook_id": str(webhook.id), "message": "test event"},
        webhook_ids={webhook.id},
    )
    delivery_id = await session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.event_id == envelope.id
        )
    )
    return envelope.id, delivery_id
