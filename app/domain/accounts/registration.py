"""Who may register: the policy (`open`, `invite`, `closed`), the first-admin claim and the one-time setup token.

The first admin is claimed with one conditional write of the `instance_setup` row inside the registering
transaction, so a race of first registrations yields exactly one admin on SQLite and on PostgreSQL: on
PostgreSQL the second writer waits for the first to commit and then finds the row claimed; SQLite serialises
writers.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import RegistrationPolicy
from app.db.models import InstanceSetup, User, UserRole
from app.lib.errors import Forbidden
from app.lib.logging import log_event
from app.lib.security import hash_token, new_secret

_SETUP = cast(Table, InstanceSetup.__table__)


def check_allowed(policy: RegistrationPolicy, *, invite_token: str | None, setup_token: str | None) -> None:
    """Refuse early (before any password hashing) what the policy does not let through."""
    if setup_token is not None:
        return  # checked against the stored digest once the user row exists
    if policy == "closed":
        raise Forbidden("registration is closed; ask an administrator for an account", code="registration_closed")
    if policy == "invite" and not invite_token:
        raise Forbidden("registration needs an invitation (invite_token)", code="invite_required")


def _upsert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_SETUP)


async def claim_first_admin(session: AsyncSession, user_id: UUID) -> bool:
    """Make `user_id` the instance's first admin unless one was already claimed; True when this call did."""
    now = datetime.now(UTC)
    statement = (
        _upsert(session)
        .values(slot=1, first_admin_id=user_id, created_at=now, updated_at=now)
        .on_conflict_do_update(
            index_elements=[_SETUP.c.slot],
            set_={"first_admin_id": user_id, "setup_token_hash": None, "updated_at": now},
            where=_SETUP.c.first_admin_id.is_(None),
        )
        .returning(_SETUP.c.first_admin_id)
    )
    return (await session.execute(statement)).first() is not None


async def claim_with_setup_token(session: AsyncSession, user_id: UUID, setup_token: str) -> None:
    """Make `user_id` the first admin when `setup_token` is the pending one; it is consumed by the claim."""
    statement = (
        update(_SETUP)
        .where(
            _SETUP.c.slot == 1,
            _SETUP.c.first_admin_id.is_(None),
            _SETUP.c.setup_token_hash == hash_token(setup_token),
        )
        .values(first_admin_id=user_id, setup_token_hash=None, updated_at=datetime.now(UTC))
        .returning(_SETUP.c.first_admin_id)
    )
    if (await session.execute(statement)).first() is None:
        raise Forbidden("the setup token is not valid or was already used", code="setup_token_invalid")


async def issue_setup_token(session: AsyncSession) -> str | None:
    """While no admin exists, replace the pending setup token by a new one and return it (else None)."""
    if await session.scalar(select(User.id).where(User.role == UserRole.ADMIN.value).limit(1)) is not None:
        return None
    token = f"setup_{new_secret(32)}"
    now = datetime.now(UTC)
    statement = (
        _upsert(session)
        .values(slot=1, setup_token_hash=hash_token(token), created_at=now, updated_at=now)
        .on_conflict_do_update(
            index_elements=[_SETUP.c.slot],
            set_={"setup_token_hash": hash_token(token), "updated_at": now},
            where=_SETUP.c.first_admin_id.is_(None),
        )
        .returning(_SETUP.c.id)
    )
    return token if (await session.execute(statement)).first() is not None else None


async def announce_setup_token(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """At start-up without an admin: issue a setup token and print it once to stderr, never into the logs."""
    async with sessionmaker.begin() as session:
        token = await issue_setup_token(session)
    if token is None:
        return
    log_event("warning", "accounts", "setup.token_issued", "no administrator yet: a one-time setup token was printed")
    print(
        "\nNo administrator exists yet. Register the first one with\n"
        f'  POST /auth/register {{"email": ..., "password": ..., "setup_token": "{token}"}}\n'
        "or run `python -m app users create-admin --email ...`. The token works once; a restart replaces it.\n",
        file=sys.stderr,
        flush=True,
    )
