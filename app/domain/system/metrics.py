"""What `GET /metrics` reports: this process's HTTP traffic, Telegram runtime and ingest, and database-wide
counts by status (the same numbers whichever process is scraped).

The database-wide counts are computed at most once per `METRICS_SCRAPE_INTERVAL_S`: several scrapers (or
one scraping often) cost one round of aggregate queries per interval. This process's own figures are live.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Channel, TelegramProfile, WebhookDelivery
from app.domain.logs.store import LogStore
from app.domain.messages.ingest import MessageIngest
from app.domain.profiles.ownership import counts_per_worker
from app.lib.metrics import Family, Sample
from app.lib.recent import RecentValue
from app.telegram.leases import LeaseStore
from app.telegram.runtime import ProfileRuntime


class DatabaseAggregates:
    """The database-wide families of `/metrics`, computed at most once per `max_age_s`."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], leases: LeaseStore, max_age_s: float) -> None:
        self._sessionmaker = sessionmaker
        self._leases = leases
        self._recent = RecentValue(self._collect, max_age_s)

    @property
    def computations(self) -> int:
        return self._recent.computations

    async def families(self) -> list[Family]:
        return await self._recent.get()

    async def _collect(self) -> list[Family]:
        async with self._sessionmaker() as session:
            held, connected = await counts_per_worker(session, self._leases)
            return [
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


async def collect(
    aggregates: DatabaseAggregates, runtime: ProfileRuntime, ingest: MessageIngest | None, logs: LogStore
) -> list[Family]:
    families = [
        *await aggregates.families(),
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
