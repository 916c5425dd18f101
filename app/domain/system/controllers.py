"""Liveness, component health and Prometheus metrics."""

from __future__ import annotations

import hmac

from litestar import Controller, Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.domain.system import metrics
from app.domain.system.health import HealthReport
from app.lib.errors import Unauthorized
from app.lib.metrics import render
from app.server.deps import Ctx

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class SystemController(Controller):
    tags = ["system"]

    @get("/health", security=[])
    async def health(self, ctx: Ctx) -> Response[HealthReport]:
        """200 when every critical component answers, 503 otherwise; each with status and latency.

        The checks run at most once per `HEALTH_CACHE_S`; requests meanwhile get that outcome."""
        report = await ctx.health.report()
        status = HTTP_200_OK if report.status == "ok" else HTTP_503_SERVICE_UNAVAILABLE
        return Response(report, status_code=status)

    @get("/metrics", security=[], media_type=PROMETHEUS_TEXT)
    async def metrics(self, request: Request, ctx: Ctx) -> Response[str]:
        """Prometheus metrics: aggregates only (no user, phone or id labels); with METRICS_TOKEN set, a scraper
        sends it as `Authorization: Bearer <token>`. Database-wide figures are computed at most once per
        `METRICS_SCRAPE_INTERVAL_S`."""
        token = ctx.settings.metrics_token
        if token is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                raise Unauthorized("a valid metrics token is required", code="invalid_metrics_token")
        families = await metrics.collect(ctx.metrics_aggregates, ctx.telegram.runtime, ctx.ingest, ctx.logs)
        return Response(render(ctx.http_metrics, families), media_type=PROMETHEUS_TEXT)
