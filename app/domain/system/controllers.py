"""Liveness, component health and Prometheus metrics."""

from __future__ import annotations

import hmac

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.domain.system import metrics
from app.domain.system.deps import MetricSources
from app.domain.system.health import HealthReport, HealthReporter
from app.lib.errors import Unauthorized
from app.lib.metrics import render

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class SystemController(Controller):
    tags = ["system"]

    @get("/health", security=[])
    async def health(self, health_reporter: NamedDependency[HealthReporter]) -> Response[HealthReport]:
        """200 when every critical component answers, 503 otherwise; each with status and latency.

        The checks run at most once per `HEALTH_CACHE_S`; requests meanwhile get that outcome."""
        report = await health_reporter.report()
        status = HTTP_200_OK if report.status == "ok" else HTTP_503_SERVICE_UNAVAILABLE
        return Response(report, status_code=status)

    @get("/metrics", security=[], media_type=PROMETHEUS_TEXT)
    async def metrics(self, request: Request, metric_sources: NamedDependency[MetricSources]) -> Response[str]:
        """Prometheus metrics: aggregates only (no user, phone or id labels); with METRICS_TOKEN set, a scraper
        sends it as `Authorization: Bearer <token>`. Database-wide figures are computed at most once per
        `METRICS_SCRAPE_INTERVAL_S`."""
        sources = metric_sources
        token = sources.token
        if token is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                raise Unauthorized("a valid metrics token is required", code="invalid_metrics_token")
        families = await metrics.collect(sources.aggregates, sources.runtime, sources.ingest(), sources.logs)
        return Response(render(sources.http, families), media_type=PROMETHEUS_TEXT)
