"""One renewal round for every lease a worker holds: one round trip per interval, not one per profile.

A worker holding a thousand profile leases would otherwise send a thousand compare-and-renew calls every renewal
interval, each on its own schedule; under load they queue behind each other and a lease can expire while its
renewal waits. Here each lease's keeper waits for the next round (`renewed`); the round renews every waiting
lease at once (`LeaseStore.renew_many`: the same compare-and-renew per key, so a lease another worker holds is
never touched) and answers each keeper. Rounds start one interval apart, so a lease waits at most one interval
for its renewal, as it did when every keeper slept its own interval; between rounds no task runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.telegram.leases import LeaseStore


@dataclass(eq=False)
class _Waiter:
    name: str
    still_wanted: Callable[[], bool] | None
    answer: asyncio.Future[bool | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class LeaseRenewals:
    def __init__(self, leases: LeaseStore, owner: str, ttl_ms: int) -> None:
        self.leases = leases
        self.owner = owner
        self.ttl_ms = ttl_ms
        self._waiting: list[_Waiter] = []
        self._rounds: asyncio.Task[None] | None = None
        self.rounds = 0  # how many rounds ran (for tests and benchmarks)

    @property
    def interval_s(self) -> float:
        return self.ttl_ms / 3000

    async def renewed(self, name: str, still_wanted: Callable[[], bool] | None = None) -> bool | None:
        """Wait for the next round; whether `owner` still holds the lease after it (renewed), or None when
        `still_wanted()` said no at the round (the lease is then left alone, not renewed).

        A store that cannot be reached answers False (assume the worst).
        """
        waiter = _Waiter(name, still_wanted)
        self._waiting.append(waiter)
        if self._rounds is None or self._rounds.done():
            self._rounds = asyncio.create_task(self._run(), name="lease-renewals")
        try:
            return await waiter.answer
        finally:
            if not waiter.answer.done():  # cancelled while waiting: out of the next round
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)

    async def _run(self) -> None:
        due = time.monotonic() + self.interval_s
        while self._waiting:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            due += self.interval_s
            await self._round()
            await asyncio.sleep(0)  # the answered keepers wait for the next round before this one checks

    async def _round(self) -> None:
        waiting, self._waiting = self._waiting, []
        renew: list[_Waiter] = []
        for waiter in waiting:
            if waiter.answer.done():
                continue
            if waiter.still_wanted is not None and not waiter.still_wanted():
                waiter.answer.set_result(None)
            else:
                renew.append(waiter)
        if not renew:
            return
        self.rounds += 1
        try:
            held = await self.leases.renew_many(list(dict.fromkeys(w.name for w in renew)), self.owner, self.ttl_ms)
        except Exception:
            held = {}
        for waiter in renew:
            if not waiter.answer.done():
                waiter.answer.set_result(held.get(waiter.name, False))
