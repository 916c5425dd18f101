"""Component checks behind `GET /health`: each reports status and latency; critical ones decide the code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

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


class HealthReport(msgspec.Struct):
    status: str
    components: list[ComponentStatus]


async def _run(check: HealthCheck) -> ComponentStatus:
    started = time.perf_counter()
    message: str | None = None
    status = "up"
    try:
        await asyncio.wait_for(check.check(), timeout=check.timeout_s)
    except Exception as exc:  # a failing component is reported, never raised
        status = "down"
        message = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"[:300]
    latency = round((time.perf_counter() - started) * 1000, 3)
    details = dict(check.details()) if check.details is not None else None
    return ComponentStatus(
        name=check.name, status=status, critical=check.critical, latency_ms=latency, error=message, details=details
    )


async def run_checks(checks: list[HealthCheck]) -> HealthReport:
    components = list(await asyncio.gather(*(_run(check) for check in checks)))
    healthy = all(c.status == "up" for c in components if c.critical)
    return HealthReport(status="ok" if healthy else "degraded", components=components)
