"""Component checks behind `GET /health`: each reports status and latency; critical ones decide the code.

The background services of the process are listed under `services` with their live status (never critical:
a stopped or failed service shows here and in its logs, the component checks decide the code).

The checks' outcomes are kept for `HEALTH_CACHE_S`: a load balancer, a dashboard and a monitor polling at
once cost one database round trip per interval, not one per request. The `details` figures stay live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from app.lib.background import ServiceStatus
from app.lib.recent import RecentValue

CheckFn = Callable[[], Awaitable[None]]
DetailsFn = Callable[[], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    check: CheckFn
    critical: bool = True
    timeout_s: float = 3.0
    details: DetailsFn | None = None  # cheap, synchronous figures reported whether the check passed or not


class ComponentStatus(msgspec.Struct):
    name: str
    status: str
    critical: bool
    latency_ms: float
    error: str | None = None
    details: dict[str, Any] | None = None


class ServiceReport(msgspec.Struct):
    """One background service of this process (`app.lib.background`): reported, never deciding the code."""

    name: str
    status: str  # running, stopped or failed
    error: str | None = None
    details: dict[str, Any] | None = None


class HealthReport(msgspec.Struct):
    status: str
    components: list[ComponentStatus]
    services: list[ServiceReport] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: str
    latency_ms: float
    error: str | None


async def _run(check: HealthCheck) -> _Outcome:
    started = time.perf_counter()
    message: str | None = None
    status = "up"
    try:
        await asyncio.wait_for(check.check(), timeout=check.timeout_s)
    except Exception as exc:  # a failing component is reported, never raised
        status = "down"
        message = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"[:300]
    return _Outcome(status, round((time.perf_counter() - started) * 1000, 3), message)


class HealthReporter:
    """Runs the component checks at most once per `max_age_s` and reports them with their live details."""

    def __init__(self, checks: list[HealthCheck], max_age_s: float) -> None:
        self.checks = checks  # components register theirs while the app is built
        self.services: Callable[[], Sequence[ServiceStatus]] | None = None  # set by the background runtime
        self._outcomes = RecentValue(self._run_all, max_age_s)

    async def _run_all(self) -> list[tuple[HealthCheck, _Outcome]]:
        checks = list(self.checks)
        return list(zip(checks, await asyncio.gather(*(_run(check) for check in checks)), strict=True))

    async def report(self) -> HealthReport:
        components = [
            ComponentStatus(
                name=check.name,
                status=outcome.status,
                critical=check.critical,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
                details=dict(check.details()) if check.details is not None else None,
            )
            for check, outcome in await self._outcomes.get()
        ]
        healthy = all(c.status == "up" for c in components if c.critical)
        services = [
            ServiceReport(s.name, s.health.status, s.health.error, dict(s.health.details) or None)
            for s in (self.services() if self.services is not None else ())
        ]
        return HealthReport(status="ok" if healthy else "degraded", components=components, services=services)
