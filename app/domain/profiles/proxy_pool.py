"""The PROXY_POOL's health: a periodic, paced check of every entry, its result shared through the database.

Each round checks the entries one after another, spread over half of `PROXY_POOL_CHECK_INTERVAL_S`, the way a
proxy is checked when it is set (app.telegram.proxy_check: Telegram's auth-key exchange through it). What a
round found is stored per entry (`proxy_pool_entries`, by `kind://host:port`, never a credential) for every
process to read:
- an unhealthy entry is given to no new profile (app.domain.profiles.proxies.for_binding passes it over);
- when an entry turns unhealthy, the live profiles on it turn `proxy_failed` with an `alert` (the runtime then
  ends their connections: they are never connected around their proxy);
- when it recovers, it is given out again and its `proxy_failed` profiles are `active` again (the runtime
  connects them through it).
A change is logged (`proxy_pool.entry_down` / `proxy_pool.entry_up`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import ProfileStatus, ProxyPoolEntry, TelegramProfile
from app.db.shielded import ShieldedTransactions
from app.domain.profiles import services
from app.lib.logging import log_event
from app.lib.proxies import ProxySpec
from app.telegram.connector import TelegramConnector
from app.telegram.proxy_check import reaches_telegram

MAX_SPACING_S = 5.0  # between two entries' checks within a round


def address(proxy: ProxySpec) -> str:
    """How an entry is named wherever it is shown or stored: no credential, no secret."""
    return f"{proxy.kind}://{proxy.host}:{proxy.port}"


async def unhealthy(session: AsyncSession) -> set[str]:
    """The addresses of the entries the last check found unhealthy."""
    return set(await session.scalars(select(ProxyPoolEntry.address).where(ProxyPoolEntry.healthy.is_(False))))


def _on(proxy: ProxySpec) -> ColumnElement[bool]:
    """The active profiles whose own proxy is this entry."""
    return and_(
        TelegramProfile.proxy_type == proxy.kind,
        TelegramProfile.proxy_host == proxy.host,
        TelegramProfile.proxy_port == proxy.port,
        TelegramProfile.is_active.is_(True),
    )


async def record(session: AsyncSession, proxy: ProxySpec, reachable: bool) -> bool:
    """Store one check of `proxy`; on a change, its profiles follow. Returns whether its health changed."""
    now = datetime.now(UTC)
    entry = await session.scalar(select(ProxyPoolEntry).where(ProxyPoolEntry.address == address(proxy)))
    changed = (entry is None and not reachable) or (entry is not None and entry.healthy != reachable)
    if entry is None:
        entry = ProxyPoolEntry(address=address(proxy), healthy=reachable, failures=0, checked_at=now, changed_at=now)
        session.add(entry)
    entry.checked_at = now
    entry.failures = 0 if reachable else entry.failures + 1
    entry.last_error = None if reachable else "Telegram was not reached through it"
    if changed:
        entry.healthy, entry.changed_at = reachable, now
        await _profiles_follow(session, proxy, reachable)
        log_event(
            "info" if reachable else "error",
            "profiles",
            "proxy_pool.entry_up" if reachable else "proxy_pool.entry_down",
            f"pool proxy {address(proxy)} {'reaches Telegram again' if reachable else 'does not reach Telegram'}",
            context={"proxy": address(proxy)},
        )
    await session.flush()
    return changed


async def _profiles_follow(session: AsyncSession, proxy: ProxySpec, reachable: bool) -> None:
    if reachable:
        stopped = await session.scalars(
            select(TelegramProfile.id).where(
                *_on(proxy),
                TelegramProfile.is_active.is_(True),
                TelegramProfile.status == ProfileStatus.PROXY_FAILED.value,
            )
        )
        for profile_id in list(stopped):
            await services.set_status(session, profile_id, ProfileStatus.ACTIVE.value, None)
        return
    live = await session.scalars(
        select(TelegramProfile.id).where(_on(proxy), TelegramProfile.status.in_(services.LIVE_STATUSES))
    )
    reason = f"pool proxy {address(proxy)} failed its health check"
    for profile_id in list(live):
        await services.set_status(session, profile_id, ProfileStatus.PROXY_FAILED.value, reason)


async def report(session: AsyncSession, pool: Sequence[ProxySpec]) -> list[dict[str, object]]:
    """Every configured entry with its last check and how many profiles use it (no credentials)."""
    entries = {e.address: e for e in await session.scalars(select(ProxyPoolEntry))}
    users = await session.execute(
        select(TelegramProfile.proxy_type, TelegramProfile.proxy_host, TelegramProfile.proxy_port, func.count())
        .where(TelegramProfile.proxy_host.is_not(None))
        .group_by(TelegramProfile.proxy_type, TelegramProfile.proxy_host, TelegramProfile.proxy_port)
    )
    counts = {f"{kind}://{host}:{port}": count for kind, host, port, count in users}
    out: list[dict[str, object]] = []
    for proxy in pool:
        entry = entries.get(address(proxy))
        out.append(
            {
                "type": proxy.kind,
                "host": proxy.host,
                "port": proxy.port,
                "healthy": entry.healthy if entry is not None else None,  # null: not checked yet
                "checked_at": entry.checked_at if entry is not None else None,
                "changed_at": entry.changed_at if entry is not None else None,
                "failures": entry.failures if entry is not None else 0,
                "last_error": entry.last_error if entry is not None else None,
                "profiles": counts.get(address(proxy), 0),
            }
        )
    return out


class ProxyPoolMonitor:
    """One round: every PROXY_POOL entry checked in turn (`PROXY_POOL_CHECK_INTERVAL_S`)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        connector: TelegramConnector,
        pool: Sequence[ProxySpec],
        interval_s: float,
    ) -> None:
        self.transactions = ShieldedTransactions(sessionmaker)  # a stop never cuts a record short
        self._connector = connector
        self._pool = tuple(pool)
        self._interval_s = interval_s
        self.checked = 0

    async def run_round(self) -> None:
        spacing = min(MAX_SPACING_S, self._interval_s / 2 / max(1, len(self._pool)))
        for index, proxy in enumerate(self._pool):
            if index:
                await asyncio.sleep(spacing)
            reachable = await reaches_telegram(self._connector, proxy)
            await self.transactions.run(functools.partial(record, proxy=proxy, reachable=reachable))
            self.checked += 1
