"""Liveness and component health."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.domain.system.health import HealthReport, run_checks
from app.server.deps import Ctx


class SystemController(Controller):
    tags = ["system"]

    @get("/health", security=[])
    async def health(self, ctx: Ctx) -> Response[HealthReport]:
        """200 when every critical component answers, 503 otherwise; each with status and latency."""
        report = await run_checks(ctx.health_checks)
        status = HTTP_200_OK if report.status == "ok" else HTTP_503_SERVICE_UNAVAILABLE
        return Response(report, status_code=status)
