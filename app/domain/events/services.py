"""Emitting events: the outbox row and its webhook deliveries join the caller's transaction; publication
(pub/sub for WebSocket clients, waking the webhook dispatcher) happens only after that transaction commits.

Services never commit. `emit()` queues the envelope in `session.info`; SQLAlchemy session events hand the queue
to the publisher registered for the session's engine after commit, and drop it on rollback (a rolled-back
savepoint drops only what was emitted inside it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast
from uuid import UUID
from weakref import WeakKeyDictionary

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import CursorResult, Table, bindparam, delete, exists, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.db.models import DeliveryStatus, Event, Webhook, WebhookDelivery, WebhookStatus
from app.domain.events.schemas import EventEnvelope
from app.domain.events.types import ALL_TYPES, EVENT_TYPES

_PENDING = "pending_events"
_HOOKED = "pending_events_hooked"
DELIVERABLE_STATUSES = (WebhookStatus.ACTIVE.value, WebhookStatus.FAILED.value)


class CommittedEventSink(Protocol):
    """Receives what a transaction announced, right after it committed (called synchronously, on the loop)."""

    def publish_committed(self, envelopes: Sequence[EventEnvelope], wake_dispatcher: bool) -> None: ...


_sinks: WeakKeyDictionary[Engine, CommittedEventSink] = WeakKeyDictionary()


def attach_sink(engine: AsyncEngine, sink: CommittedEventSink) -> None:
    """Route what sessions on `engine` commit to `sink`."""
    _sinks[engine.sync_engine] = sink


def detach_sink(engine: AsyncEngine) -> None:
    _sinks.pop(engine.sync_engine, None)


@dataclass(slots=True)
class _Pending:
    envelope: EventEnvelope | None
    wake_dispatcher: bool
    savepoint: SessionTransaction | None


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
    _queue(session, _Pending(envelope, bool(targets), session.sync_session.get_nested_transaction()))
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
    savepoint = session.sync_session.get_nested_transaction()
    for envelope, wake in added:
        _queue(session, _Pending(envelope, wake, savepoint))
    return [envelope for envelope, _ in added]


# Built once: SQLAlchemy then reuses each statement's cache key instead of recomputing it per batch.
_INSERT_EVENTS = insert(cast(Table, Event.__table__))
_INSERT_DELIVERIES = insert(cast(Table, WebhookDelivery.__table__))
_SUBSCRIPTIONS = select(Webhook.user_id, Webhook.id, Webhook.event_types).where(
    Webhook.user_id.in_(bindparam("user_ids", expanding=True)), Webhook.status.in_(DELIVERABLE_STATUSES)
)


def request_dispatch(session: AsyncSession) -> None:
    """Wake the webhook dispatcher once this transaction commits (deliveries were made due)."""
    _queue(session, _Pending(None, True, session.sync_session.get_nested_transaction()))


def _queue(session: AsyncSession, item: _Pending) -> None:
    sync_session = session.sync_session
    sync_session.info.setdefault(_PENDING, []).append(item)
    if not sync_session.info.get(_HOOKED):
        sa_event.listen(sync_session, "after_commit", _after_commit)
        sa_event.listen(sync_session, "after_soft_rollback", _after_soft_rollback)
        sync_session.info[_HOOKED] = True


def _after_commit(session: Session) -> None:
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return
    bind = session.bind
    sink = _sinks.get(bind) if isinstance(bind, Engine) else None
    if sink is None:
        return  # no running publisher (e.g. a CLI): the rows are committed and the dispatcher's poll finds them
    envelopes = [item.envelope for item in pending if item.envelope is not None]
    sink.publish_committed(envelopes, any(item.wake_dispatcher for item in pending))


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Pending] = session.info.get(_PENDING, [])
    if not pending:
        return
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return
    session.info[_PENDING] = [item for item in pending if not _inside(item.savepoint, previous_transaction)]


def _inside(savepoint: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


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
