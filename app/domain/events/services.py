"""Emitting events: the outbox row and its webhook deliveries join the caller's transaction; publication
(pub/sub for WebSocket clients, waking the webhook dispatcher) happens only after that transaction commits.

Services never commit. `emit()` announces the envelope with `app.db.after_commit.signal_after_commit`: the
`EVENT_COMMITTED` listeners of the session's engine (the process's publisher) get it after commit, a rollback
drops it (a rolled-back savepoint only what was emitted inside it), and `WEBHOOKS_DUE` wakes the dispatchers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import CursorResult, Table, bindparam, delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.after_commit import signal_after_commit
from app.db.models import DeliveryStatus, Event, Webhook, WebhookDelivery, WebhookStatus
from app.domain.events.schemas import EventEnvelope
from app.domain.events.types import ALL_TYPES, EVENT_TYPES

EVENT_COMMITTED = "events.committed"  # after commit: (envelope,) for every event the transaction wrote
WEBHOOKS_DUE = "webhooks.due"  # after commit: deliveries became due (once per transaction)
DELIVERABLE_STATUSES = (WebhookStatus.ACTIVE.value, WebhookStatus.FAILED.value)


def envelope_of(event: Event) -> EventEnvelope:
    return EventEnvelope(
        id=event.id,
        type=event.type,
        occurred_at=event.created_at,
        user_id=event.user_id,
        profile=event.profile,
        data=event.payload,
    )


async def emit(
    session: AsyncSession,
    *,
    user_id: UUID,
    type: str,
    data: dict[str, Any],
    profile: str | None = None,
    webhook_ids: Collection[UUID] | None = None,
) -> EventEnvelope:
    """Write an event and its webhook deliveries in the caller's transaction; publish it after commit.

    Deliveries go to every active endpoint of the user subscribed to `type` (or `*`); `webhook_ids`
    replaces the subscription rule with exactly those endpoints (used by `POST /webhooks/{id}/test`).
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    now = datetime.now(UTC)
    event = Event(id=uuid7(), user_id=user_id, type=type, profile=profile, payload=data, created_at=now, updated_at=now)
    session.add(event)
    rows = await session.execute(
        select(Webhook.id, Webhook.event_types).where(
            Webhook.user_id == user_id, Webhook.status.in_(DELIVERABLE_STATUSES)
        )
    )
    targets = [
        webhook_id
        for webhook_id, types in rows
        if (webhook_id in webhook_ids if webhook_ids is not None else type in types or ALL_TYPES in types)
    ]
    session.add_all(WebhookDelivery(webhook_id=target, event_id=event.id, next_attempt_at=now) for target in targets)
    await session.flush()
    envelope = envelope_of(event)
    _announce(session, envelope, bool(targets))
    return envelope


@dataclass(frozen=True, slots=True)
class NewEvent:
    user_id: UUID
    type: str
    data: dict[str, Any]
    profile: str | None = None


async def emit_many(session: AsyncSession, items: Sequence[NewEvent]) -> list[EventEnvelope]:
    """`emit()` for many events at once: one webhook lookup, then bulk inserts (the ingest writer's batches)."""
    unknown = {item.type for item in items} - EVENT_TYPES
    if unknown:
        raise ValueError(f"unknown event types {sorted(unknown)!r}")
    if not items:
        return []
    subscriptions: dict[UUID, list[tuple[UUID, list[str]]]] = {}
    rows = await session.execute(_SUBSCRIPTIONS, {"user_ids": list({item.user_id for item in items})})
    for user_id, webhook_id, types in rows:
        subscriptions.setdefault(user_id, []).append((webhook_id, types))
    now = datetime.now(UTC)
    event_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    added: list[tuple[EventEnvelope, bool]] = []
    for item in items:
        envelope = EventEnvelope(
            id=uuid7(), type=item.type, occurred_at=now, user_id=item.user_id, profile=item.profile, data=item.data
        )
        event_rows.append(
            {
                "id": envelope.id,
                "user_id": item.user_id,
                "type": item.type,
                "profile": item.profile,
                "payload": item.data,
                "created_at": now,
                "updated_at": now,
            }
        )
        targets = [w for w, types in subscriptions.get(item.user_id, []) if item.type in types or ALL_TYPES in types]
        delivery_rows.extend(
            {
                "id": uuid7(),
                "webhook_id": target,
                "event_id": envelope.id,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for target in targets
        )
        added.append((envelope, bool(targets)))
    await session.execute(_INSERT_EVENTS, event_rows)
    if delivery_rows:
        await session.execute(_INSERT_DELIVERIES, delivery_rows)
    for envelope, wake in added:
        _announce(session, envelope, wake)
    return [envelope for envelope, _ in added]


# Built once: SQLAlchemy then reuses each statement's cache key instead of recomputing it per batch.
_INSERT_EVENTS = insert(cast(Table, Event.__table__))
_INSERT_DELIVERIES = insert(cast(Table, WebhookDelivery.__table__))
_SUBSCRIPTIONS = select(Webhook.user_id, Webhook.id, Webhook.event_types).where(
    Webhook.user_id.in_(bindparam("user_ids", expanding=True)), Webhook.status.in_(DELIVERABLE_STATUSES)
)


def request_dispatch(session: AsyncSession) -> None:
    """Wake the webhook dispatchers once this transaction commits (deliveries were made due)."""
    signal_after_commit(session, WEBHOOKS_DUE)


def _announce(session: AsyncSession, envelope: EventEnvelope, wake_dispatcher: bool) -> None:
    signal_after_commit(session, EVENT_COMMITTED, envelope)
    if wake_dispatcher:
        signal_after_commit(session, WEBHOOKS_DUE)


async def events_since(
    session: AsyncSession, user_id: UUID, since: UUID, *, types: Collection[str] | None, limit: int
) -> list[EventEnvelope]:
    """The user's events after the cursor `since`, oldest first (the WebSocket replay)."""
    query = select(Event).where(Event.user_id == user_id, Event.id > since).order_by(Event.id).limit(limit)
    if types:
        query = query.where(Event.type.in_(list(types)))
    return [envelope_of(row) for row in await session.scalars(query)]


def uuid7_floor(moment: datetime) -> UUID:
    """The smallest UUIDv7 of `moment`'s millisecond: every id made earlier sorts below it."""
    return UUID(int=int(moment.timestamp() * 1000) << 80)


async def purge_expired_events(session: AsyncSession, older_than: datetime, *, limit: int = 5000) -> int:
    """Delete up to `limit` events created before `older_than` whose webhook deliveries are finished.

    Their deliveries and attempts go with them (foreign keys cascade); an event still owed to an endpoint
    (pending, or failed and retried) stays until its delivery succeeds or is given up.
    """
    owed = select(WebhookDelivery.id).where(
        WebhookDelivery.event_id == Event.id,
        WebhookDelivery.status.in_((DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)),
    )
    # Ids are UUIDv7 (time first), so the primary key finds old events without an index on created_at.
    expired = select(Event.id).where(Event.id < uuid7_floor(older_than), ~exists(owed)).limit(limit)
    result = await session.execute(delete(Event).where(Event.id.in_(expired)))
    return int(cast(CursorResult[Any], result).rowcount or 0)
