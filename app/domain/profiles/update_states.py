"""Each profile's stored update state (pts, qts, date, seq; per-channel pts): where its next connection resumes.

Advanced by the ingest writer only after the messages a checkpoint covers are committed, never backwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import UpdateState
from app.telegram.checkpoints import StoredState


async def save_states(session: AsyncSession, states_by_profile: Mapping[UUID, tuple[StoredState, ...]]) -> None:
    """Advance the stored update state of these profiles (never backwards); one query for all of them."""
    if not states_by_profile:
        return
    existing = {
        (row.profile_id, row.entity_id): row
        for row in await session.scalars(_STATES_OF, {"profile_ids": list(states_by_profile)})
    }
    for profile_id, states in states_by_profile.items():
        for state in states:
            row = existing.get((profile_id, state.entity_id))
            if row is None:
                session.add(state_row(profile_id, state))
            elif state.pts >= row.pts:
                row.pts, row.qts, row.seq = state.pts, max(row.qts, state.qts), state.seq
                row.date = max(row.date, state.date)
                if state.access_hash is not None:
                    row.access_hash = state.access_hash


_STATES_OF = select(UpdateState).where(UpdateState.profile_id.in_(bindparam("profile_ids", expanding=True)))


async def load_states(session: AsyncSession, profile_id: UUID) -> list[StoredState]:
    rows = await session.scalars(select(UpdateState).where(UpdateState.profile_id == profile_id))
    return [StoredState(r.entity_id, r.pts, r.qts, r.date, r.seq, r.access_hash) for r in rows]


def state_row(profile_id: UUID, state: StoredState) -> UpdateState:
    """The stored row of one update state (entity 0 is the account, others are channels)."""
    return UpdateState(
        profile_id=profile_id,
        entity_id=state.entity_id,
        pts=state.pts,
        qts=state.qts,
        date=state.date,
        seq=state.seq,
        access_hash=state.access_hash,
    )
