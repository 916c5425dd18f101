"""Who holds each profile's connection now: the lease holder (live truth) read against what workers reported.

A worker records `connected`/`disconnected` on the profile row; the lease says who holds it at this moment.
A row that says "connected" by a worker that no longer holds the lease was left by a worker that died.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import TelegramProfile
from app.domain.profiles import services
from app.domain.profiles.schemas import ConnectionState, ProfileConnection
from app.telegram.leases import LeaseStore
from app.telegram.runtime_contract import lease_name


def connection_of(profile: TelegramProfile, holder: str | None) -> ProfileConnection:
    reported_here = holder is not None and profile.connection_worker == holder
    state: ConnectionState
    if reported_here and profile.connection_state == "connected":
        state, reason = "connected", None
    elif holder is not None:
        state, reason = "connecting", None
    elif profile.connection_state == "connected":
        state, reason = "disconnected", "worker_lost"  # its worker died without a word; the lease expired
    else:
        state, reason = "disconnected", profile.connection_reason
    return ProfileConnection(
        holder=holder,
        state=state,
        reason=reason,
        last_worker=profile.connection_worker,
        changed_at=profile.connection_changed_at,
    )


async def connections(leases: LeaseStore, profiles: Sequence[TelegramProfile]) -> dict[UUID, ProfileConnection]:
    holders = await leases.holders([lease_name(p.id) for p in profiles])
    return {p.id: connection_of(p, holders[lease_name(p.id)]) for p in profiles}


async def counts_per_worker(session: AsyncSession, leases: LeaseStore) -> tuple[Counter[str], Counter[str]]:
    """Per worker id: live profiles whose lease it holds, and those of them it reports connected."""
    rows = await session.scalars(
        select(TelegramProfile).where(
            TelegramProfile.is_active.is_(True), TelegramProfile.status.in_(services.LIVE_STATUSES)
        )
    )
    held: Counter[str] = Counter()
    connected: Counter[str] = Counter()
    for connection in (await connections(leases, list(rows))).values():
        if connection.holder is None:
            continue
        held[connection.holder] += 1
        if connection.state == "connected":
            connected[connection.holder] += 1
    return held, connected
