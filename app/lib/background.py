"""Background services: one protocol (name, start, stop, health) and one runtime that runs them in order.

A process declares its services as a list; `ServiceRuntime` starts them in that order and stops them in the
reverse one, so a service may rely on everything listed before it while it runs (the ingest writer is up before
the Telegram runtime delivers updates, and is stopped after it). A service that fails to start stops the ones
already started and fails the start-up. Each service reports its health; `GET /health` lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from app.lib.logging import log_event


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    status: str  # "running", "stopped" or "failed"
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def of_task(cls, task: asyncio.Task[Any] | None, details: Mapping[str, Any] | None = None) -> ServiceHealth:
        """Running while `task` runs; failed (with its error) when it ended by one; stopped otherwise."""
        details = details or {}
        if task is None or task.cancelled():
            return cls("stopped", details)
        if not task.done():
            return cls("running", details)
        exc = task.exception()
        return cls("failed", details, f"{type(exc).__name__}: {exc}"[:300]) if exc else cls("stopped", details)


@runtime_checkable
class BackgroundService(Protocol):
    """Work a process does outside requests, for as long as the process runs."""

    name: str

    async def start(self) -> None:
        """Begin; return once the service is ready for what is started after it."""

    async def stop(self) -> None:
        """End; return once nothing of the service runs any more (transactions in flight ended whole)."""

    def health(self) -> ServiceHealth: ...


class PeriodicService:
    """Runs `work` every `interval_s` (the first round after `first_after_s`); an error waits for the next round.

    Stopping lets a round in flight finish up to `stop_grace_s` before it is cancelled: the work's transactions
    should be `ShieldedTransactions` so that even a cancelled round never leaves one half-done, and `after_stop`
    their `wait()`.
    """

    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[object]],
        *,
        interval_s: float,
        first_after_s: float = 0.0,
        stop_grace_s: float = 10.0,
        after_stop: Callable[[], Awaitable[object]] | None = None,
        failure_event: tuple[str, str] | None = None,
    ) -> None:
        self.name = name
        self._failure_event = failure_event or ("server", f"{name}.failed")  # (log domain, event) of a failed round
        self._after_stop = after_stop
        self._work = work
        self._interval_s = interval_s
        self._first_after_s = first_after_s
        self._stop_grace_s = stop_grace_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.rounds = 0
        self.failures = 0
        self.last_error: str | None = None

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=self._stop_grace_s)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self._after_stop is not None:
            await self._after_stop()

    def health(self) -> ServiceHealth:
        details = {"rounds": self.rounds, "failures": self.failures}
        health = ServiceHealth.of_task(self._task, details)
        if health.status == "running" and self.last_error is not None:
            return ServiceHealth("running", details, self.last_error)
        return health

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds`; False once stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return not self._stopping.is_set()

    async def _loop(self) -> None:
        if not await self._pause(self._first_after_s):
            return
        while True:
            try:
                await self._work()
                self.last_error = None
            except Exception as exc:  # the next round retries; a service never takes the process down
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log_event("warning", *self._failure_event, f"{self.name} round failed: {exc!r}")
            self.rounds += 1
            if not await self._pause(self._interval_s):
                return


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    health: ServiceHealth
    started_s: float | None  # how long start() took; None when it was not started


class ServiceRuntime:
    """Starts `services` in their order, stops them in reverse; reports each one's health."""

    def __init__(self, services: Sequence[BackgroundService]) -> None:
        names = [service.name for service in services]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"background services named twice: {duplicates}")
        self.services = list(services)
        self._started: list[BackgroundService] = []
        self._start_times: dict[str, float] = {}

    @property
    def names(self) -> list[str]:
        return [service.name for service in self.services]

    def get(self, name: str) -> BackgroundService | None:
        return next((service for service in self.services if service.name == name), None)

    async def start(self) -> None:
        for service in self.services:
            began = time.perf_counter()
            try:
                await service.start()
            except BaseException as exc:
                log_event("error", "server", "service.start_failed", f"{service.name} did not start: {exc!r}")
                await self.stop()
                raise
            self._started.append(service)
            self._start_times[service.name] = round(time.perf_counter() - began, 3)

    async def stop(self) -> None:
        """Stop what started, last first; a service whose stop fails is logged and the others still stop."""
        while self._started:
            service = self._started.pop()
            try:
                await service.stop()
            except Exception as exc:
                log_event("error", "server", "service.stop_failed", f"{service.name} did not stop cleanly: {exc!r}")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ServiceRuntime]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    def statuses(self) -> list[ServiceStatus]:
        started = {service.name for service in self._started}
        out = []
        for service in self.services:
            try:
                health = service.health() if service.name in started else ServiceHealth("stopped")
            except Exception as exc:  # a health report never breaks /health
                health = ServiceHealth("failed", {}, f"health report failed: {exc!r}"[:300])
            out.append(ServiceStatus(service.name, health, self._start_times.get(service.name)))
        return out
