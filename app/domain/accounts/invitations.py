"""Admin-issued invitations: single use, expiring, optionally bound to one email; only a digest is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Invitation
from app.lib.errors import Conflict, Forbidden, NotFound
from app.lib.security import hash_token, new_secret


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once, in the creating response


def status_of(invitation: Invitation, now: datetime | None = None) -> str:
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.used_at is not None:
        return "used"
    return "expired" if invitation.expires_at <= (now or datetime.now(UTC)) else "pending"


async def create(session: AsyncSession, *, created_by: UUID, email: str | None, expires_in_s: int) -> IssuedInvitation:
    token = f"inv_{new_secret(32)}"
    invitation = Invitation(
        token_hash=hash_token(token),
        email=email,
        created_by=created_by,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in_s),
    )
    session.add(invitation)
    await session.flush()
    return IssuedInvitation(invitation, token)


async def list_recent(session: AsyncSession, limit: int) -> list[Invitation]:
    rows = await session.scalars(select(Invitation).order_by(Invitation.id.desc()).limit(limit))
    return list(rows)


async def revoke(session: AsyncSession, invitation_id: UUID) -> None:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("invitation not found")
    if invitation.used_at is not None:
        raise Conflict("this invitation was already used", code="invite_used")
    if invitation.revoked_at is None:
        invitation.revoked_at = datetime.now(UTC)
        await session.flush()


async def consume(session: AsyncSession, token: str, *, user_id: UUID, email: str) -> None:
    """Use the invitation for this registration; one conditional update, so a token is used at most once."""
    now = datetime.now(UTC)
    statement = (
        update(Invitation)
        .where(
            Invitation.token_hash == hash_token(token),
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
            or_(Invitation.email.is_(None), Invitation.email == email),
        )
        .values(used_at=now, used_by=user_id, updated_at=now)
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(statement)).first() is None:
        raise Forbidden("the invitation is not valid, expired, revoked or already used", code="invite_invalid")
