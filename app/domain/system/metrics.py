"""What `GET /metrics` reports: this process's HTTP traffic, Telegram runtime and ingest, and database-wide
counts by status (the same numbers whichever process is scraped)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Channel, TelegramProfile, WebhookDelivery
from app.domain.logs.store import LogStore
from app.domain.messages.ingest import MessageIngest
from app.domain.profiles.ownership import counts_per_worker
from app.lib.metrics import Family, Sample
from app.telegram.leases import LeaseStore
from app.telegram.runtime import ProfileRuntime


async def collect(
    session: AsyncSession, runtime: ProfileRuntime, leases: LeaseStore, ingest: MessageIngest | None, logs: LogStore
) -> list[Family]:
    held, connected = await counts_per_worker(session, leases)
    families = [
        Family(
            "tgmp_profiles",
            "gauge",
            "Telegram profiles by status (all processes).",
            await _by_status(session, TelegramProfile.status),
        ),
        Family(
            "tgmp_channels",
            "gauge",
            "Monitored channels by status (all processes).",
            await _by_status(session, Channel.status),
        ),
        Family(
            "tgmp_webhook_deliveries",
            "gauge",
            "Webhook deliveries by status (all processes).",
            await _by_status(session, WebhookDelivery.status),
        ),
        Family(
            "tgmp_profiles_connected",
            "gauge",
            "Profiles with a live Telegram connection in this process.",
            (Sample(len(runtime.connected_ids())),),
        ),
        Family(
            "tgmp_profiles_supervised",
            "gauge",
            "Profiles this process keeps connected or is connecting.",
            (Sample(len(runtime.supervised_ids())),),
        ),
        Family(
            "tgmp_worker_profiles_held",
            "gauge",
            "Live profiles whose lease each worker holds (all processes).",
            tuple(Sample(count, {"worker": worker}) for worker, count in sorted(held.items())),
        ),
        Family(
            "tgmp_worker_profiles_connected",
            "gauge",
            "Live profiles each worker holds and reports connected (all processes).",
            tuple(Sample(count, {"worker": worker}) for worker, count in sorted(connected.items())),
        ),
    ]
    if ingest is not None:
        families += [
            Family(
                "tgmp_ingest_queue_depth",
                "gauge",
                "Telegram updates waiting for the inbox writer.",
                (Sample(ingest.queue.qsize()),),
            ),
            Family(
                "tgmp_ingest_records_committed_total",
                "counter",
                "Updates and checkpoints the inbox writer has committed.",
                (Sample(ingest.committed),),
            ),
        ]
    shipper: dict[str, Any] = logs.details().get("shipper") or {}
    for key, help_text in (
        ("shipped", "Log rows shipped to ClickHouse."),
        ("dropped", "Log rows dropped because the shipping buffer was full."),
        ("failed_rows", "Log rows that could not be shipped."),
    ):
        if key in shipper:
            families.append(Family(f"tgmp_log_rows_{key}_total", "counter", help_text, (Sample(shipper[key]),)))
    return families


async def _by_status(session: AsyncSession, column: Any) -> tuple[Sample, ...]:
    rows = await session.execute(select(column, func.count()).group_by(column))
    return tuple(Sample(count, {"status": status}) for status, count in sorted(rows.all()))
