"""Units of work of the dispatcher: claim due deliveries, load what a POST needs, record an outcome.

Each function runs in a session the dispatcher opened and commits. Claims are an atomic UPDATE of a
`FOR UPDATE SKIP LOCKED` subquery on PostgreSQL (several dispatchers share the work) and a plain atomic
UPDATE on SQLite (one dispatcher per database file). A claim lasts `claimed_until`; a crashed dispatcher's
claims expire and the deliveries are attempted again, with the same `webhook-id`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast
from uuid import UUID

from sqlalchemy import ColumnElement, Table, bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import DeliveryStatus, Event, Webhook, WebhookAttempt, WebhookDelivery, WebhookStatus
from app.domain.events.schemas import encode_envelope
from app.domain.events.services import DELIVERABLE_STATUSES, emit, envelope_of
from app.domain.events.types import EventType
from app.lib.crypto import SecretBox
from app.lib.logging import log_event

RETRYABLE = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)


@dataclass(frozen=True, slots=True)
class Target:
    webhook_id: UUID
    user_id: UUID
    url: str
    secret: str
    max_per_second: float


@dataclass(frozen=True, slots=True)
class Job:
    delivery_id: UUID
    attempt: int
    body: bytes

    @property
    def message_id(self) -> str:
        """The `webhook-id`: stable per event and endpoint, so receivers can deduplicate retries."""
        return f"msg_{self.delivery_id.hex}"


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        WebhookDelivery.status.in_(RETRYABLE),
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
    )


async def endpoints_with_due_work(session: AsyncSession, *, limit: int = 500) -> list[UUID]:
    now = datetime.now(UTC)
    query = (
        select(WebhookDelivery.webhook_id)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(Webhook.status.in_(DELIVERABLE_STATUSES), *_due(now))
        .distinct()
        .limit(limit)
    )
    return list(await session.scalars(query))


async def load_target(
    session: AsyncSession, box: SecretBox, webhook_id: UUID, decrypted: dict[str, str] | None = None
) -> Target | None:
    """The endpoint as a delivery needs it, or None when it is gone or disabled; `decrypted` caches secrets."""
    webhook = await session.get(Webhook, webhook_id, populate_existing=True)
    if webhook is None or webhook.status not in DELIVERABLE_STATUSES:
        return None
    cache = decrypted if decrypted is not None else {}
    secret = cache.get(webhook.secret_encrypted)
    if secret is None:
        secret = cache[webhook.secret_encrypted] = box.decrypt(webhook.secret_encrypted)
    return Target(
        webhook_id=webhook.id,
        user_id=webhook.user_id,
        url=webhook.url,
        secret=secret,
        max_per_second=webhook.max_per_second,
    )


async def claim(session: AsyncSession, webhook_id: UUID, *, limit: int, owner: str, ttl_s: float) -> list[Job]:
    """Claim up to `limit` due deliveries of one endpoint, oldest first, and load their bodies."""
    now = datetime.now(UTC)
    due = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.webhook_id == webhook_id, *_due(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(due))
        .values(claimed_until=now + timedelta(seconds=ttl_s), locked_by=owner)
        .returning(WebhookDelivery.id, WebhookDelivery.attempt, WebhookDelivery.event_id)
        .execution_options(synchronize_session=False)
    )
    rows = list(claimed.all())
    if not rows:
        return []
    events = {e.id: e for e in await session.scalars(select(Event).where(Event.id.in_([r[2] for r in rows])))}
    jobs = [
        Job(delivery_id, attempt, encode_envelope(envelope_of(events[event_id])))
        for delivery_id, attempt, event_id in rows
    ]
    return sorted(jobs, key=lambda job: job.delivery_id)


async def renew_claims(session: AsyncSession, *, owner: str, ttl_s: float) -> None:
    """Push back the expiry of every claim `owner` holds (it is alive and still working on them)."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.locked_by == owner, WebhookDelivery.status.in_(RETRYABLE))
        .values(claimed_until=datetime.now(UTC) + timedelta(seconds=ttl_s))
        .execution_options(synchronize_session=False)
    )


def next_delay(schedule: tuple[float, ...], attempt: int) -> float | None:
    """Seconds until the retry after failed attempt number `attempt` (1-based), with ±20% jitter; None = dead."""
    if attempt > len(schedule):
        return None
    return schedule[attempt - 1] * random.uniform(0.8, 1.2)


async def record(
    session: AsyncSession,
    outcomes: Sequence[tuple[Target, Job, Outcome]],
    *,
    owner: str,
    schedule: tuple[float, ...],
    disable: DisablePolicy,
) -> None:
    """Store attempts and their consequences for the deliveries and the endpoints' health (one batch)."""
    now = datetime.now(UTC)
    session.add_all(
        WebhookAttempt(
            delivery_id=job.delivery_id,
            attempt=job.attempt + 1,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
            duration_ms=round(outcome.duration_ms, 3),
            dispatcher=owner,
        )
        for _, job, outcome in outcomes
    )
    await session.flush()
    table = cast(Table, WebhookDelivery.__table__)
    # Only the current claim holder moves a delivery on; a stale dispatcher's late answer is just an attempt row.
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.locked_by == bindparam("b_owner"))
        .values(
            attempt=bindparam("b_attempt"),
            status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next"),
            delivered_at=func.coalesce(bindparam("b_delivered", type_=table.c.delivered_at.type), table.c.delivered_at),
            claimed_until=None,
            locked_by=None,
            last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"),
            updated_at=now,
        )
    )
    await session.execute(
        statement, [_delivery_change(job, outcome, owner, schedule, now) for _, job, outcome in outcomes]
    )
    by_endpoint: dict[UUID, list[tuple[Target, Outcome]]] = defaultdict(list)
    for target, _, outcome in outcomes:
        by_endpoint[target.webhook_id].append((target, outcome))
    for webhook_id, results in by_endpoint.items():
        if all(outcome.ok for _, outcome in results):
            await _mark_healthy(session, webhook_id, now)
            continue
        for target, outcome in results:
            if outcome.ok:
                await _mark_healthy(session, webhook_id, now)
            else:
                await _mark_failing(session, target, now, disable=disable, last_error=outcome.error)


def _delivery_change(
    job: Job, outcome: Outcome, owner: str, schedule: tuple[float, ...], now: datetime
) -> dict[str, object]:
    attempt = job.attempt + 1
    change: dict[str, object] = {
        "b_id": job.delivery_id,
        "b_owner": owner,
        "b_attempt": attempt,
        "b_code": outcome.status_code,
        "b_error": outcome.error,
        "b_next": now,
        "b_delivered": None,
    }
    if outcome.ok:
        change.update(b_status=DeliveryStatus.SUCCEEDED.value, b_delivered=now)
        return change
    delay = next_delay(schedule, attempt)
    if delay is None:
        change["b_status"] = DeliveryStatus.DEAD.value
    else:
        change.update(b_status=DeliveryStatus.FAILED.value, b_next=now + timedelta(seconds=delay))
    return change


async def _mark_healthy(session: AsyncSession, webhook_id: UUID, now: datetime) -> None:
    await session.execute(
        update(Webhook)
        .where(Webhook.id == webhook_id)
        .values(
            consecutive_failures=0,
            failing_since=None,
            last_success_at=now,
            status=case(
                (Webhook.status == WebhookStatus.FAILED.value, WebhookStatus.ACTIVE.value), else_=Webhook.status
            ),
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class DisablePolicy:
    """An endpoint is disabled once its failures span `after_s` and number at least `min_failures` (Svix-like:
    a receiver that is down for minutes keeps its deliveries, retried on the schedule). Half-way there an
    `alert` warns its owner. `after_s=0` disables on the count alone (the behaviour before the period)."""

    after_s: float
    min_failures: int


async def _mark_failing(
    session: AsyncSession, target: Target, now: datetime, *, disable: DisablePolicy, last_error: str | None
) -> None:
    previous_failure = await session.scalar(select(Webhook.last_failure_at).where(Webhook.id == target.webhook_id))
    result = await session.execute(
        update(Webhook)
        .where(Webhook.id == target.webhook_id)
        .values(
            failure_count=Webhook.failure_count + 1,
            consecutive_failures=Webhook.consecutive_failures + 1,
            last_failure_at=now,
            failing_since=func.coalesce(Webhook.failing_since, now),
            status=case(
                (Webhook.status == WebhookStatus.ACTIVE.value, WebhookStatus.FAILED.value), else_=Webhook.status
            ),
        )
        .returning(Webhook.consecutive_failures, Webhook.failing_since, Webhook.status)
        .execution_options(synchronize_session=False)
    )
    row = result.one_or_none()
    if row is None:
        return
    failures, failing_since, status = row
    since = _aware(failing_since or now)
    disables_at = since + timedelta(seconds=disable.after_s)
    if now < disables_at or failures < disable.min_failures:
        warn_at = since + timedelta(seconds=disable.after_s / 2)
        crossed = previous_failure is None or _aware(previous_failure) < warn_at
        if disable.after_s > 0 and status != WebhookStatus.DISABLED.value and crossed and now >= warn_at:
            await _warn_failing(session, target, failures, since, disables_at, last_error)
        return
    disabled = await session.execute(
        update(Webhook)
        .where(Webhook.id == target.webhook_id, Webhook.status != WebhookStatus.DISABLED.value)
        .values(status=WebhookStatus.DISABLED.value, updated_at=now)
        .returning(Webhook.id)
        .execution_options(synchronize_session=False)
    )
    if disabled.scalar_one_or_none() is not None:
        await _announce_disabled(session, target, failures, last_error)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes from RETURNING and scalar reads; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _warn_failing(
    session: AsyncSession,
    target: Target,
    failures: int,
    since: datetime,
    disables_at: datetime,
    last_error: str | None,
) -> None:
    details = {
        "webhook_id": str(target.webhook_id),
        "url": target.url,
        "consecutive_failures": failures,
        "failing_since": since.isoformat(),
        "disables_at": disables_at.isoformat(),
    }
    await emit(
        session,
        user_id=target.user_id,
        type=EventType.ALERT.value,
        data={
            "kind": "webhook_failing_persistently",
            "message": f"webhook {target.url} has failed since {since.isoformat()}; "
            f"it will be disabled at {disables_at.isoformat()} unless a delivery succeeds",
            "last_error": last_error,
            **details,
        },
    )
    log_event(
        "warning",
        "webhooks",
        "webhook.failing",
        "webhook failing persistently",
        user_id=target.user_id,
        context=details,
    )


async def _announce_disabled(session: AsyncSession, target: Target, failures: int, last_error: str | None) -> None:
    details = {"webhook_id": str(target.webhook_id), "url": target.url, "consecutive_failures": failures}
    await emit(
        session,
        user_id=target.user_id,
        type=EventType.WEBHOOK_DISABLED.value,
        data={**details, "reason": "failing for too long", "last_error": last_error},
    )
    await emit(
        session,
        user_id=target.user_id,
        type=EventType.ALERT.value,
        data={
            "kind": "webhook_failing",
            "message": f"webhook {target.url} was disabled after {failures} consecutive failed deliveries "
            "spanning the disable period",
            **details,
        },
    )
    log_event(
        "error",
        "webhooks",
        "webhook.disabled",
        f"webhook disabled after {failures} consecutive failures",
        user_id=target.user_id,
        context=details,
    )
