"""Outbound pacing: a per-profile governor that spaces sends to stay under Telegram's limits.

Each limit is a GCRA (generic cell rate algorithm) schedule: a theoretical arrival time per key, an emission
interval and a burst tolerance. A send reserves the earliest slot that satisfies every limit that applies to
it (its chat, its group, its account) and sleeps until then; a slot further away than `max_wait_s` is refused
with the number of seconds after which a retry would fit.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PacingLimits:
    per_chat_interval_s: float = 1.0
    per_group_per_minute: int = 20
    per_account_per_minute: int = 30
    max_wait_s: float = 10.0


class PacingRefused(Exception):
    """The send would wait longer than allowed; retry after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"send would wait {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass(slots=True)
class _Gcra:
    interval: float
    tolerance: float
    tat: dict[object, float] = field(default_factory=dict)

    def earliest(self, key: object, now: float) -> float:
        return max(now, self.tat.get(key, now) - self.tolerance)

    def reserve(self, key: object, slot: float) -> None:
        self.tat[key] = max(self.tat.get(key, slot), slot) + self.interval


def _per_minute(count: int) -> _Gcra:
    interval = 60.0 / max(1, count)
    return _Gcra(interval, interval * (max(1, count) - 1))


class SendGovernor:
    """Slots for sends, keyed by (profile, chat); one instance per process (the process owns the clients)."""

    def __init__(self, limits: PacingLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._chat = _Gcra(limits.per_chat_interval_s, 0.0)
        self._group = _per_minute(limits.per_group_per_minute)
        self._account = _per_minute(limits.per_account_per_minute)

    def reserve(self, profile: object, chat: int, *, group: bool) -> float:
        """Reserve a slot and return the seconds to wait for it; raises PacingRefused beyond the bound."""
        now = self._clock()
        chat_key, account_key = (profile, chat), profile
        slot = max(self._chat.earliest(chat_key, now), self._account.earliest(account_key, now))
        if group:
            slot = max(slot, self._group.earliest(chat_key, now))
        wait = slot - now
        if wait > self.limits.max_wait_s:
            raise PacingRefused(wait)
        self._chat.reserve(chat_key, slot)
        self._account.reserve(account_key, slot)
        if group:
            self._group.reserve(chat_key, slot)
        return wait

    async def wait_turn(self, profile: object, chat: int, *, group: bool) -> float:
        """Wait for this send's slot (queued behind earlier sends); returns how long it waited."""
        wait = self.reserve(profile, chat, group=group)
        if wait > 0:
            await asyncio.sleep(wait)
        return wait


def retry_after_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
