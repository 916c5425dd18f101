"""What `GET /health` and `GET /metrics` receive by injection, built once at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from litestar.di import Provide

from app.domain.logs.store import LogStore
from app.domain.messages.ingest import MessageIngest
from app.domain.system.health import HealthReporter
from app.domain.system.metrics import DatabaseAggregates
from app.lib.di import provide_value
from app.lib.metrics import HttpMetrics
from app.telegram.runtime import ProfileRuntime


@dataclass(frozen=True, slots=True)
class MetricSources:
    """Where the figures of `GET /metrics` come from."""

    token: str | None = field(repr=False)  # METRICS_TOKEN: when set, a scraper must send it
    aggregates: DatabaseAggregates
    runtime: ProfileRuntime
    logs: LogStore
    http: HttpMetrics
    ingest: Callable[[], MessageIngest | None]  # the inbox writer, while this process runs one


def dependencies(health: HealthReporter, metrics: MetricSources) -> dict[str, Provide]:
    return {"health_reporter": provide_value(health), "metric_sources": provide_value(metrics)}
