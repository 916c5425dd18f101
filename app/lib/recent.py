"""A value computed at most once per interval, however many callers ask meanwhile (single flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class RecentValue(Generic[T]):
    """`await get()` answers the last value while it is younger than `max_age_s`, else computes it once.

    Callers that arrive while a computation runs wait for that one instead of starting their own, so a burst
    of requests costs one computation. A failed computation is not kept: the next caller tries again.
    `max_age_s=0` computes for every caller (still one at a time for callers that overlap).
    """

    def __init__(self, compute: Callable[[], Awaitable[T]], max_age_s: float) -> None:
        self._compute = compute
        self.max_age_s = max_age_s
        self._value: T | None = None
        self._computed_at = -float("inf")
        self._running: asyncio.Future[T] | None = None
        self.computations = 0

    async def get(self) -> T:
        if self._value is not None and time.monotonic() - self._computed_at < self.max_age_s:
            return self._value
        if self._running is None:
            self._running = asyncio.ensure_future(self._refresh())
        # shield: one caller going away (a client disconnect) must not cancel the others' computation
        return await asyncio.shield(self._running)

    async def _refresh(self) -> T:
        try:
            self.computations += 1
            value = await self._compute()
            self._value, self._computed_at = value, time.monotonic()
            return value
        finally:
            self._running = None
